#!/usr/bin/env bash
# Runs the JMH suite of the benchmarks module.
#   benchmarks/run-jmh.sh            full: -f 1 -wi 2 -w 1s -i 3 -r 1s -prof gc, JSON to benchmarks/target/jmh.json
#   benchmarks/run-jmh.sh --smoke    one short iteration of every benchmark (CI: keeps them from rotting)
# Extra arguments after the mode go to JMH (e.g. a benchmark regex: run-jmh.sh Datapath).
# Builds benchmarks/target/benchmarks.jar first when it is missing or older than any source
# (EGW_NO_BUILD=1: only when missing).
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
JAR="$HERE/target/benchmarks.jar"

mode=full
if [[ "${1:-}" == "--smoke" ]]; then
  mode=smoke
  shift
elif [[ "${1:-}" == "--full" ]]; then
  shift
fi

stale() {
  [[ ! -f "$JAR" ]] && return 0
  # any main source or pom of the reactor newer than the jar
  [[ -n "$(find "$ROOT" -path '*/target' -prune -o \( -path '*/src/main/*' -o -name pom.xml \) -type f -newer "$JAR" -print -quit)" ]]
}

if [[ -z "${EGW_NO_BUILD:-}" ]] && stale; then
  echo "run-jmh: building $JAR" >&2
  (cd "$ROOT" && mvn -B -q -DskipTests -DskipITs package -pl benchmarks -am)
fi

JAVA="${JAVA:-java}"
if [[ "$mode" == smoke ]]; then
  # -foe: a broken benchmark (e.g. its setup check finds the datapath dropping) fails the run
  # the smallest table only: a smoke run checks that every benchmark still runs, not how it scales
  exec "$JAVA" -jar "$JAR" -f 1 -wi 0 -i 1 -r 100ms -foe true -p entries=1000 "$@"
else
  "$JAVA" -jar "$JAR" -f 1 -wi 2 -w 1s -i 3 -r 1s -prof gc -foe true \
    -rf json -rff "$HERE/target/jmh.json" "$@"
  # the figures as a Markdown table (ns/op and allocation per op), for RESULTS.md
  if [[ -x /usr/bin/python3 ]]; then
    /usr/bin/python3 - "$HERE/target/jmh.json" <<'PY' | tee "$HERE/target/jmh-table.md"
import json, sys
print("| benchmark | params | ns/op | ± (99.9 %) | B/op |")
print("|---|---|---:|---:|---:|")
for b in json.load(open(sys.argv[1])):
    name = b["benchmark"].rsplit(".", 2)
    params = ", ".join(f"{k}={v}" for k, v in b.get("params", {}).items())
    m = b["primaryMetric"]
    alloc = b.get("secondaryMetrics", {}).get("gc.alloc.rate.norm", {}).get("score", float("nan"))
    print(f"| {name[-2]}.{name[-1]} | {params} | {m['score']:.1f} | {m['scoreError']:.1f} | {alloc:.3f} |")
PY
  fi
fi
