#!/usr/bin/env bash
# Proves that docker-compose.yml runs the gateway container, without touching this host's
# interfaces, routes or sysctls: everything happens in two network namespaces made here.
#
#   NS   (the "gateway node")  ul0  198.51.100.2/24  <-veth->  ul0p  198.51.100.1/24  PEER
#                              ext0 192.0.2.2/24     <-veth->  ext0p 192.0.2.1/24
#
# A Podman API service is started with its network namespace set to NS, so the service's
# `network_mode: host` means NS. docker-compose (v1) drives it through DOCKER_HOST. Checks:
# the "egress-gateway ready" line, GET /healthz and /metrics inside NS, the image's HEALTHCHECK,
# the plumbing (TUN device, route, proxy ARP) present in NS, then on stop: exit code 0, the
# "plumbing: - ..." lines, the plumbing gone from NS, and the host's links/routes unchanged.
# Everything is removed on exit, also on failure or Ctrl-C.
#
# Needs root, podman, docker-compose (Debian: apt-get install podman docker-compose), curl,
# nsenter, and the image (deploy/build-image.sh; run automatically when the image is missing).
# Not part of CI. Environment: EGW_IMAGE (default egress-gateway:latest),
# EGW_PODMAN_RUNTIME (crun/runc; default: the first one that can start a container here),
# EGW_READY_TIMEOUT seconds (default 90), EGW_KEEP_LOGS=1 keeps the work directory.
set -euo pipefail

REPO="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
IMAGE="${EGW_IMAGE:-egress-gateway:latest}"
READY_TIMEOUT="${EGW_READY_TIMEOUT:-90}"
ADMIN="http://127.0.0.1:9464"          # admin.listen of deploy/example/config.yaml
EGRESS_IP="192.0.2.10"                 # egressIP of deploy/example/policies/payment.yaml

ID="$$$(printf '%04x' $((RANDOM)))"
NS="egwc$ID"                           # gateway node
PEER="egwc${ID}p"                      # the other end of both links
SOCK="/run/egw-podman-$NS.sock"
PROJECT="egwcheck$ID"
CTR="egw-check-$ID"
WORK="$(mktemp -d /tmp/egw-compose-check.XXXXXX)"
SERVICE_PID=""
COMPOSE_UP=0
FAILED=1

# The caller's stdout/stderr, for cleanup: a trap that fires during a redirected command runs with
# that command's redirections in place.
exec 3>&1 4>&2

log() { echo "compose-check: $*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
pass() { log "ok: $*"; }

compose() {
  DOCKER_HOST="unix://$SOCK" docker-compose --ansi never -p "$PROJECT" \
    -f "$REPO/docker-compose.yml" -f "$WORK/override.yml" "$@"
}

# Network state as seen from the host's namespace, to prove it is unchanged at the end.
host_state() {
  ip -o link show | sed -E 's/^[0-9]+: ([^:@]+).*/\1/' | sort
  ip -4 route show table all
  ip neigh show proxy
}

cleanup() {
  local rc=$?
  set +e
  exec 1>&3 2>&4
  trap - EXIT INT TERM
  if ((COMPOSE_UP)) && [[ -S "$SOCK" ]]; then
    compose down -t 20 >"$WORK/cleanup-down.log" 2>&1
  fi
  if podman container exists "$CTR" 2>/dev/null; then
    podman rm -f -t 20 "$CTR" >/dev/null 2>&1
  fi
  if [[ -n "$SERVICE_PID" ]]; then
    kill "$SERVICE_PID" 2>/dev/null
    wait "$SERVICE_PID" 2>/dev/null
  fi
  rm -f "$SOCK"
  ip netns del "$NS" 2>/dev/null
  ip netns del "$PEER" 2>/dev/null
  if ((FAILED)) || [[ "${EGW_KEEP_LOGS:-0}" == 1 ]]; then
    for f in "$WORK"/*.log; do
      [[ -s "$f" ]] || continue
      echo "----- $f (last 40 lines)" >&2
      tail -n 40 "$f" >&2
    done
    log "logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  if ((FAILED)); then
    log "FAILED (namespaces, container and API service removed)"
    exit $((rc == 0 ? 1 : rc))
  fi
  log "PASSED (namespaces, container and API service removed)"
  exit 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- preconditions
[[ $(id -u) -eq 0 ]] || fail "must run as root (network namespaces, rootful podman)"
for c in ip podman docker-compose curl nsenter; do
  command -v "$c" >/dev/null || fail "$c is not installed (apt-get install podman docker-compose curl util-linux iproute2)"
done
if ! podman image exists "$IMAGE"; then
  log "$IMAGE is missing; running deploy/build-image.sh"
  EGW_IMAGE="$IMAGE" "$REPO/deploy/build-image.sh"
fi
host_state >"$WORK/host-before.txt"

# ---------------------------------------------------------------- namespaces
log "creating network namespaces $NS and $PEER"
ip netns add "$NS"
ip netns add "$PEER"
ip -n "$NS" link add ul0 type veth peer name ul0p netns "$PEER"
ip -n "$NS" link add ext0 type veth peer name ext0p netns "$PEER"
ip -n "$NS" addr add 198.51.100.2/24 dev ul0
ip -n "$NS" addr add 192.0.2.2/24 dev ext0
ip -n "$PEER" addr add 198.51.100.1/24 dev ul0p
ip -n "$PEER" addr add 192.0.2.1/24 dev ext0p
for d in lo ul0 ext0; do ip -n "$NS" link set "$d" up; done
for d in lo ul0p ext0p; do ip -n "$PEER" link set "$d" up; done

# nsenter --net rather than `ip netns exec`: the latter also mounts a fresh /sys, which hides
# /sys/fs/cgroup, and the OCI runtime then cannot create the container ("no cgroup mount found").
in_ns() { nsenter --net="/run/netns/$NS" "$@"; }

# ---------------------------------------------------------------- OCI runtime
# crun refuses hosts with hybrid cgroups that have controllers on the v2 hierarchy ("cgroups in
# hybrid mode not supported"); runc copes. Take the first runtime that can start this image here.
runtime_ok() {
  in_ns podman --runtime "$1" run --rm --network host --no-healthcheck --ulimit nofile=16384:16384 \
    --ulimit nproc=16384:16384 --entrypoint /bin/true "$IMAGE" >"$WORK/probe-$1.log" 2>&1
}
RUNTIME="${EGW_PODMAN_RUNTIME:-}"
if [[ -z "$RUNTIME" ]]; then
  for r in crun runc; do
    command -v "$r" >/dev/null || continue
    if runtime_ok "$r"; then RUNTIME="$r"; break; fi
    log "OCI runtime $r cannot start a container here: $(grep -m1 '^Error' "$WORK/probe-$r.log" || true)"
  done
  [[ -n "$RUNTIME" ]] || fail "no OCI runtime can start $IMAGE (see $WORK/probe-*.log)"
fi
log "podman $(podman version --format '{{.Client.Version}}'), OCI runtime $RUNTIME"

# ---------------------------------------------------------------- API service in NS
log "starting podman system service on $SOCK inside $NS"
# Not through in_ns: $! must be the service itself (nsenter execs podman) so that it can be stopped.
nsenter --net="/run/netns/$NS" podman --runtime "$RUNTIME" system service --time=0 "unix://$SOCK" \
  >"$WORK/podman-service.log" 2>&1 3>&- 4>&- &
SERVICE_PID=$!
for _ in $(seq 1 100); do
  [[ -S "$SOCK" ]] && curl -fsS --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1 && break
  kill -0 "$SERVICE_PID" 2>/dev/null || fail "podman system service exited"
  sleep 0.1
done
curl -fsS --unix-socket "$SOCK" http://d/_ping >/dev/null || fail "podman API on $SOCK does not answer"

# A unique container name so that a gateway already run by compose on this host is not disturbed.
cat >"$WORK/override.yml" <<EOF
version: "2.4"
services:
  egress-gateway:
    image: $IMAGE
    container_name: $CTR
EOF

# ---------------------------------------------------------------- up
# the gateway's lock and state live in the host's run directory (Podman refuses a missing bind source)
mkdir -p /run/egress-gateway
log "docker-compose up -d (project $PROJECT, container $CTR)"
COMPOSE_UP=1
compose up -d >"$WORK/compose-up.log" 2>&1 || fail "docker-compose up failed"
deadline=$((SECONDS + READY_TIMEOUT))
while :; do
  compose logs --no-color >"$WORK/gateway.log" 2>&1 || true
  grep -q "egress-gateway ready" "$WORK/gateway.log" && break
  if grep -qE "could not start|refused configuration" "$WORK/gateway.log"; then
    fail "the gateway did not start"
  fi
  ((SECONDS < deadline)) || fail "no 'egress-gateway ready' line within ${READY_TIMEOUT}s"
  sleep 1
done
pass "$(grep -m1 'egress-gateway ready' "$WORK/gateway.log" | sed 's/^[^|]*| //')"

# ---------------------------------------------------------------- running checks
code=$(ip netns exec "$NS" curl -sS -o "$WORK/healthz.txt" -w '%{http_code}' "$ADMIN/healthz") || true
[[ "$code" == 200 ]] || fail "GET /healthz in $NS answered '$code'"
pass "GET $ADMIN/healthz -> 200 ($(head -c 60 "$WORK/healthz.txt"))"
ip netns exec "$NS" curl -fsS "$ADMIN/metrics" >"$WORK/metrics.txt" || fail "GET /metrics in $NS failed"
grep -q '^egw_' "$WORK/metrics.txt" || fail "/metrics has no egw_ samples"
pass "GET $ADMIN/metrics -> $(grep -c '^egw_' "$WORK/metrics.txt") egw_ samples"
# The image's HEALTHCHECK, run by hand: Podman schedules health checks with systemd timers, so
# without systemd (as in some CI containers) they never run on their own. `podman healthcheck run`
# execs in the host network namespace of the caller, hence in_ns.
hc=$(in_ns podman healthcheck run "$CTR" 2>&1) && pass "image HEALTHCHECK: healthy" \
  || fail "image HEALTHCHECK: ${hc:-unhealthy}"
ip -n "$NS" link show egw0 >/dev/null 2>&1 || fail "TUN device egw0 is missing in $NS"
ip -n "$NS" route show "$EGRESS_IP/32" | grep -q "dev egw0" || fail "no route $EGRESS_IP via egw0 in $NS"
ip -n "$NS" neigh show proxy | grep -q "$EGRESS_IP dev ext0" || fail "no proxy ARP for $EGRESS_IP in $NS"
pass "plumbing in $NS: egw0, route $EGRESS_IP/32 dev egw0, proxy ARP $EGRESS_IP on ext0"

# ---------------------------------------------------------------- stop and down
# `down` = stop (stop_signal, stop_grace_period) + remove; stopping first keeps the container's
# exit code and logs readable before it is removed.
log "docker-compose stop; docker-compose down"
t0=$SECONDS
compose stop >"$WORK/compose-stop.log" 2>&1 || fail "docker-compose stop failed"
stop_secs=$((SECONDS - t0))
exit_code=$(curl -fsS --unix-socket "$SOCK" "http://d/containers/$CTR/json" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["State"]["ExitCode"])')
compose logs --no-color >"$WORK/gateway.log" 2>&1 || true
compose down >"$WORK/compose-down.log" 2>&1 || fail "docker-compose down failed"
COMPOSE_UP=0
podman container exists "$CTR" && fail "container $CTR still exists after down"
[[ "$exit_code" == 0 ]] || fail "the gateway exited with $exit_code on SIGTERM (want 0)"
pass "stopped in ${stop_secs}s with exit code 0; container removed by down"
grep -q "plumbing: - ip route del $EGRESS_IP/32 dev egw0" "$WORK/gateway.log" || fail "log lacks the route removal"
grep -q "plumbing: - ip neigh del proxy $EGRESS_IP dev ext0" "$WORK/gateway.log" || fail "log lacks the proxy ARP removal"
grep -q "egress-gateway stopped" "$WORK/gateway.log" || fail "log lacks 'egress-gateway stopped'"
sed -n 's/^[^|]*| //p' "$WORK/gateway.log" | grep -E '^plumbing: -|stopped' | sed 's/^/compose-check:   /' >&2
ip -n "$NS" link show egw0 >/dev/null 2>&1 && fail "egw0 still exists in $NS"
ip -n "$NS" route show "$EGRESS_IP/32" | grep -q . && fail "route to $EGRESS_IP still in $NS"
ip -n "$NS" neigh show proxy | grep -q "$EGRESS_IP" && fail "proxy ARP for $EGRESS_IP still in $NS"
pass "plumbing removed from $NS"

host_state >"$WORK/host-after.txt"
diff -u "$WORK/host-before.txt" "$WORK/host-after.txt" >"$WORK/host-diff.log" \
  || fail "the host's links/routes/proxy entries changed (see host-diff.log)"
pass "host's links, routes and proxy ARP entries unchanged"
FAILED=0
