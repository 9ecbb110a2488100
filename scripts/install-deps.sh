#!/bin/sh
# Install the Debian packages the project needs, by name, only those that are missing.
# Usage: scripts/install-deps.sh build|test
# "build" is what compiling and running the sensor needs; "test" adds what the test suite
# drives (real clients, servers and tools). Runs apt-get only when something is missing.
set -eu

BUILD_PKGS="make gcc clang cmake pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
 libuv1-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev
 libgrpc-dev grpc-proto libcriterion-dev libjson-c-dev libdw-dev libnghttp2-dev libhttp-parser-dev"

TEST_PKGS="python3 python3-grpcio python3-protobuf python3-pytest gcovr valgrind iproute2 procps
 qemu-system-x86 cpio xz-utils debian-archive-keyring podman runc busybox-static openssl curl nftables wrk
 dnsmasq-base bind9-dnsutils"

case "${1:-build}" in
build) want="$BUILD_PKGS" ;;
test) want="$BUILD_PKGS $TEST_PKGS" ;;
*) echo "install-deps.sh: unknown set '$1' (expected build or test)" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: missing packages:$missing; run as root (or install them) and retry" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
