#!/usr/bin/env bash
# Re-records the replay corpus (gateway-core/src/test/resources/corpus) from the namespace topology,
# then regenerates its golden outputs. Needs root (network namespaces, tcpdump) and the packages of
# scripts/install-deps.sh (tcpdump, python3-scapy, ethtool, curl, libpcap0.8).
#
#   sudo scripts/record-corpus.sh            # record everything, then write the goldens
#
# What it records, each as NAME.tunnel.pcap (gateway ul0, VXLAN both ways) + NAME.egress.pcap
# (gateway ext0, IPv4): arp-icmp-echo, tcp-http, udp-echo, ttl-expires-at-gateway,
# icmp-time-exceeded-outside, icmp-frag-needed-outside, fragments, tcp-download (first packets of a
# 10 MB download). See CorpusRecorder's javadoc for the scenario details. After a deliberate change
# of datapath behaviour only the goldens need regenerating:
#
#   mvn -B -o -pl gateway-core test -Dtest=CorpusReplayTest -Degw.corpus.regenerate=true
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
CORPUS="$HERE/gateway-core/src/test/resources/corpus"
if [[ $(id -u) -ne 0 ]]; then
  echo "record-corpus: needs root (network namespaces, tcpdump)" >&2
  exit 1
fi
"$HERE/scripts/install-deps.sh"
cd "$HERE"
mvn -B -o -q -pl gateway-core package -DskipTests -DskipITs
LIB="gateway-core/target/test-classes:gateway-core/target/gateway-core.jar:gateway-core/target/lib/*"
TESTLIB=$(mvn -B -o -q -pl gateway-core dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=/dev/stdout)
java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -cp "$LIB:$TESTLIB" \
  org.egressgw.core.replay.CorpusRecorder "$CORPUS" "$HERE/bin/egress-gateway"
mvn -B -o -q -pl gateway-core test -Dtest=CorpusReplayTest -Degw.corpus.regenerate=true -DskipITs
echo "record-corpus: corpus and goldens written to $CORPUS"
ls -la "$CORPUS"
