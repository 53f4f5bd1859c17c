#!/usr/bin/env bash
# End-to-end benchmark in network namespaces: the Linux kernel as gateway (a) vs the Java gateway (b),
# same traffic in one run; prints each figure and b/a. Needs root and the packages from
# scripts/install-deps.sh (iperf3, python3, iputils-ping, iptables, curl).
#   benchmarks/e2e.sh            full (~4 min)
#   benchmarks/e2e.sh --short    ~2 min
#   benchmarks/e2e.sh --ha       the gateway group's replication cost: member gwa alone vs active in a group of two
#                                (UDP packet rate, new flows, one TCP stream; ~3 min; add --short for ~2)
# The report (and a log of every step) is also written to benchmarks/target/e2e.txt.
# Raw tool output and the gateway log go to benchmarks/target/e2e-raw/.
# Rebuilds when any main source is newer than the jar (EGW_NO_BUILD=1: only when missing).
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
JAR="$HERE/target/benchmarks.jar"

args=()
for a in "$@"; do
  case "$a" in
    --short) args+=(--short) ;;
    --ha) args+=(--ha) ;;
    --full) ;;
    *) echo "usage: $0 [--short] [--ha]" >&2; exit 2 ;;
  esac
done

# shellcheck source=lib.sh
source "$HERE/lib.sh"
require_root_and_tools e2e iperf3 ping iptables ip ss curl /usr/bin/python3
build_if_needed e2e

mkdir -p "$HERE/target/e2e-raw"
# the gateway inherits the working directory: keep JVM crash reports out of the source tree
cd "$HERE/target"
export EGW_JAVA_OPTS="${EGW_JAVA_OPTS:--Xms128m -Xmx512m} -XX:ErrorFile=$HERE/target/e2e-raw/hs_err_pid%p.log"
exec java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -cp "$JAR" org.egressgw.benchmarks.EndToEnd \
  --repo "$ROOT" --out "$HERE/target/e2e.txt" --raw "$HERE/target/e2e-raw" "${args[@]}"
