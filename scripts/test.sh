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
