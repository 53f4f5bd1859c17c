#!/usr/bin/env bash
# Soak of the Java gateway in network namespaces: N minutes (default 10) of 64-byte UDP packets at half
# the measured maximum rate over 100 000 concurrent flows; heap after GC, off-heap (NMT), RSS, file
# descriptors, threads, GC pauses (p99, max) and drops compared between start and end ("nothing may grow").
# Needs root and the packages from scripts/install-deps.sh (python3, iptables, curl) plus jcmd (the JDK).
#   benchmarks/soak.sh                    10 minutes + 60 s warm-up + ~1 min setup
#   benchmarks/soak.sh --minutes 2        a short run
#   benchmarks/soak.sh --minutes 2 --warmup 30
# The report (and a log of every step) is written to benchmarks/target/soak.txt; the GC log, NMT
# summaries, metrics, sender/counter time series and the gateway log go to benchmarks/target/soak-raw/.
# Rebuilds when any main source is newer than the jar (EGW_NO_BUILD=1: only when missing).
# EGW_JAVA_OPTS, if set, replaces the gateway's heap options (default -Xms128m -Xmx512m); the GC log and
# native memory tracking options are always added.
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
JAR="$HERE/target/benchmarks.jar"

args=()
minutes=10
warmup=60
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes) minutes="${2:?--minutes needs a value}"; shift 2 ;;
    --warmup) warmup="${2:?--warmup needs a value}"; shift 2 ;;
    --flows) args+=(--flows "${2:?--flows needs a value}"); shift 2 ;;
    *) echo "usage: $0 [--minutes M] [--warmup S] [--flows N]" >&2; exit 2 ;;
  esac
done

# shellcheck source=lib.sh
source "$HERE/lib.sh"
require_root_and_tools soak ping iptables ip curl jcmd /usr/bin/python3
build_if_needed soak

mkdir -p "$HERE/target/soak-raw"
# the gateway inherits the working directory: keep JVM crash reports out of the source tree
cd "$HERE/target"
# bounded: Soak's own watchdog ends it 7 minutes past its plan; this is the backstop (TERM runs the
# topology's shutdown hook, which removes the namespaces)
budget=$(awk -v m="$minutes" -v w="$warmup" 'BEGIN { printf "%d", m * 60 + w + 600 }')
exec timeout --kill-after=60 "$budget" java -cp "$JAR" org.egressgw.benchmarks.Soak \
  --minutes "$minutes" --warmup "$warmup" --repo "$ROOT" --out "$HERE/target/soak.txt" --raw "$HERE/target/soak-raw" \
  "${args[@]}"
