#!/usr/bin/env bash
# Installs the Debian packages procsniff needs to build, run and test.
# Idempotent: does nothing (and prints nothing) when everything is present.
# Usage: scripts/install-deps.sh [--runtime|--all]   (default --all)
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config
	libpcap-dev liburcu-dev libhwloc-dev libyaml-dev libjemalloc-dev
	libssl-dev libncurses-dev libseccomp-dev libcap-ng-dev)
test_pkgs=(libcmocka-dev clang libclang-rt-14-dev tshark tcpdump iproute2
	ethtool tmux curl python3 procps time libndpi-bin)

mode=${1:---all}
case "$mode" in
--runtime) want=("${build_pkgs[@]}") ;;
--all) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
*) echo "usage: $0 [--runtime|--all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: need root to install: ${missing[*]}" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, quietly.
echo "wireshark-common wireshark-common/install-setuid boolean false" |
	debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
