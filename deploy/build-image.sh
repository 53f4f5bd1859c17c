#!/usr/bin/env bash
# Builds the container image egress-gateway:latest with Podman, without any registry:
#   1. the base image egress-gateway-base (Debian bookworm minbase + OpenJDK 17 JRE + iproute2 + curl),
#      made with debootstrap and `podman import` when it does not exist yet;
#   2. the gateway jar (mvn package at the repository root) when it is not built yet;
#   3. the gateway image from deploy/Containerfile.
# Idempotent: run it again and only step 3 runs (from the layer cache when nothing changed).
# Needs root. Installs debootstrap and podman with apt-get when they are missing.
#
# Environment:
#   EGW_IMAGE          image to build (default egress-gateway:latest)
#   EGW_BASE_IMAGE     base image name (default egress-gateway-base; the Containerfile expects it)
#   EGW_DEBIAN_MIRROR  Debian mirror for debootstrap (default http://deb.debian.org/debian)
#   EGW_REBUILD_BASE=1 rebuild the base image even if it exists (e.g. for security updates)
#   EGW_REBUILD_JAR=1  run Maven even if the jar exists
set -euo pipefail

REPO="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
IMAGE="${EGW_IMAGE:-egress-gateway:latest}"
BASE="${EGW_BASE_IMAGE:-egress-gateway-base}"
MIRROR="${EGW_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# curl is only there for the HEALTHCHECK and for looking around inside the container.
BASE_PACKAGES="openjdk-17-jre-headless,iproute2,curl"

log() { echo "build-image: $*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
  log "must run as root (debootstrap and rootful podman)"
  exit 1
fi

need_pkgs=()
command -v podman >/dev/null || need_pkgs+=(podman)
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
if ((${#need_pkgs[@]})); then
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${need_pkgs[@]}" \
    || { apt-get update && apt-get install -y --no-install-recommends "${need_pkgs[@]}"; }
fi

# ---------------------------------------------------------------- 1. base image
if [[ "${EGW_REBUILD_BASE:-0}" == 1 ]] || ! podman image exists "$BASE"; then
  rootfs="$(mktemp -d /var/tmp/egw-rootfs.XXXXXX)"
  trap 'rm -rf --one-file-system "$rootfs"' EXIT
  log "debootstrap bookworm ($BASE_PACKAGES) into $rootfs (a minute or two)"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$rootfs" "$MIRROR" >&2
  # The image never runs apt; drop what only apt needs.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
  log "importing $rootfs as $BASE"
  tar --numeric-owner -C "$rootfs" -c . | podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    - "$BASE" >/dev/null
  rm -rf --one-file-system "$rootfs"
  trap - EXIT
else
  log "base image $BASE exists (EGW_REBUILD_BASE=1 to rebuild)"
fi

# ---------------------------------------------------------------- 2. gateway jar
JAR="$REPO/gateway-core/target/gateway-core.jar"
LIB="$REPO/gateway-core/target/lib"
if [[ "${EGW_REBUILD_JAR:-0}" == 1 || ! -f "$JAR" || ! -d "$LIB" ]]; then
  log "building the gateway: mvn -B -DskipTests -DskipITs package"
  (cd "$REPO" && mvn -B -ntp -DskipTests -DskipITs package) >&2
else
  log "gateway jar exists: $JAR (EGW_REBUILD_JAR=1 to rebuild)"
fi
[[ -f "$JAR" ]] || { log "$JAR was not produced"; exit 1; }

# ---------------------------------------------------------------- 3. gateway image
# Build from a small staging context with the repository's layout (the launcher finds the jar
# relative to itself) instead of sending the whole repository to the builder.
ctx="$(mktemp -d /var/tmp/egw-context.XXXXXX)"
trap 'rm -rf --one-file-system "$ctx"' EXIT
mkdir -p "$ctx/gateway-core/target"
cp -a "$REPO/bin" "$ctx/bin"
chmod 0755 "$ctx/bin/egress-gateway"
cp -a "$JAR" "$ctx/gateway-core/target/"
cp -a "$LIB" "$ctx/gateway-core/target/lib"
# --format docker: the OCI image format has no HEALTHCHECK; Podman would drop it with a warning.
log "podman build -t $IMAGE"
podman build --format docker --pull=never --build-arg "BASE=$BASE" \
  -f "$REPO/deploy/Containerfile" -t "$IMAGE" "$ctx" >&2
log "built $IMAGE: $(podman image inspect --format '{{.Id}}' "$IMAGE" | cut -c1-12)"
