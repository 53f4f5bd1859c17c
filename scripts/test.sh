#!/usr/bin/env bash
# Runs every test: unit tests (Surefire), the network-namespace / end-to-end tests (Failsafe, *IT),
# and the JMH suite in smoke mode (one short iteration each, so the benchmarks cannot rot).
# Needs root (the ITs create network namespaces); installs missing Debian packages first.
# Extra arguments go to Maven, e.g. scripts/test.sh -pl testbed
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
mvn -B -ntp verify "$@"
if [[ -f benchmarks/target/benchmarks.jar ]]; then
  EGW_NO_BUILD=1 benchmarks/run-jmh.sh --smoke
fi

# one closing line over every module's Surefire and Failsafe reports
python3 - <<'PY'
import glob, re
run = failed = skipped = 0
for f in glob.glob("*/target/surefire-reports/*.txt") + glob.glob("*/target/failsafe-reports/*.txt"):
    m = re.search(r"Tests run: (\d+), Failures: (\d+), Errors: (\d+), Skipped: (\d+)", open(f).read())
    if m:
        r, fa, e, s = map(int, m.groups())
        run += r; failed += fa + e; skipped += s
print("tests: %d passed, %d failed, %d skipped" % (run - failed - skipped, failed, skipped))
PY
