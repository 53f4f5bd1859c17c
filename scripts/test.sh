#!/usr/bin/env bash
# Runs every test: unit tests (Surefire) and the network-namespace / end-to-end tests (Failsafe, *IT).
# Needs root (the ITs create network namespaces); installs missing Debian packages first.
# Extra arguments go to Maven, e.g. scripts/test.sh -pl testbed
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
mvn -B -ntp verify "$@"
