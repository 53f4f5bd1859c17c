# Shared by e2e.sh and soak.sh (sourced, not run): root and tool checks, and building the jars when
# a source is newer (EGW_NO_BUILD=1: only when a jar is missing). Expects HERE, ROOT and JAR set.

# require_root_and_tools NAME TOOL...
require_root_and_tools() {
  local name=$1
  shift
  if [[ $(id -u) -ne 0 ]]; then
    echo "$name: needs root (network namespaces, TUN, iptables)" >&2
    exit 1
  fi
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$name: $tool missing; run scripts/install-deps.sh" >&2; exit 1; }
  done
}

# build_if_needed NAME
build_if_needed() {
  local stale=0
  if [[ ! -f "$JAR" || ! -f "$ROOT/gateway-core/target/gateway-core.jar" ]]; then
    stale=1
  elif [[ -z "${EGW_NO_BUILD:-}" ]] && [[ -n "$(find "$ROOT" -path '*/target' -prune -o \( -path '*/src/main/*' -o -name pom.xml \) -type f -newer "$JAR" -print -quit)" ]]; then
    # any main source or pom of the reactor newer than the jar
    stale=1
  fi
  if [[ $stale -eq 1 ]]; then
    echo "$1: building" >&2
    (cd "$ROOT" && mvn -B -q -DskipTests -DskipITs package -pl benchmarks -am)
  fi
}
