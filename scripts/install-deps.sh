#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need (Debian 12, as root).
# Idempotent: when everything is already installed it only checks and exits within a second.
set -euo pipefail

PACKAGES=(
  maven openjdk-17-jdk-headless
  iproute2 iptables nftables ethtool kmod procps conntrack iputils-ping
  iperf3 tcpdump tshark netsniff-ng socat curl
  python3 python3-scapy libpcap0.8
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing ${missing[*]} and not root; run as root" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer "no" up front so the install never prompts.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
