#!/usr/bin/env bash
# README command 1: on a fresh Debian 12 machine (as root), install what is needed, build the
# gateway, and run the self-contained demo in network namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
mvn -B -ntp -q -DskipTests -DskipITs package
exec bin/egress-gateway demo "$@"
