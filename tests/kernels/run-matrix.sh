#!/bin/bash
# run-matrix.sh [OPTIONS] [--files SPEC...] -- CMD [ARG...]
#
# Runs CMD ARG... on every kernel of the matrix and prints a table kernel -> PASS/FAIL
# with the wall time of each run. PASS means CMD exited 0. Exits 1 if any run failed.
#
#   - Debian's 5.10, 6.1 and 6.12 cloud kernels, each booted under qemu (boot.sh) from
#     the cache (fetched by fetch-kernels.sh when missing), all with one initramfs built
#     once (mkinitramfs.sh) from the SPECs given to --files;
#   - the host's own kernel, last: CMD runs chrooted into the very tree that initramfs
#     was made of, so the same command line finds the same files. It runs in a mount
#     namespace of its own with /proc, /sys and /dev of the host, a fresh tmpfs on /tmp
#     and /run and a private bpffs on /sys/fs/bpf: whatever the command mounts or pins
#     there disappears with it.
#
# SPEC is SRC or SRC:DEST as mkinitramfs.sh takes it (an executable goes to /bin/NAME,
# any other file to /NAME; shared libraries come along).
#
# OPTIONS
#   --cache DIR       kernel cache (default: $TAPIO_KERNEL_CACHE, else .cache/kernels at
#                     the top of the repository)
#   --kernels LIST    which of 5.10 6.1 6.12 to boot, space or comma separated
#   --no-host         skip the run on the host kernel
#   --timeout SECS    limit of each run (default 300; a boot takes seconds)
#
# Example: tests/kernels/run-matrix.sh --files /usr/sbin/bpftool build/bpf/process.bpf.o \
#              -- bpftool prog loadall /process.bpf.o /sys/fs/bpf/p
set -eu -o pipefail

prog=run-matrix.sh
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

die() {
	echo "$prog: $*" >&2
	exit 2
}

usage() {
	echo "usage: $prog [--cache DIR] [--kernels LIST] [--no-host] [--timeout SECS]" \
		"[--files SPEC...] -- CMD [ARG...]" >&2
	exit 2
}

cache=${TAPIO_KERNEL_CACHE:-$top/.cache/kernels}
kernels=(5.10 6.1 6.12)
host=1
timeout_s=300
files=()
while [ $# -gt 0 ]; do
	case "$1" in
	--cache)
		[ $# -ge 2 ] || usage
		cache=$2
		shift 2
		;;
	--kernels)
		[ $# -ge 2 ] || usage
		read -r -a kernels <<<"${2//,/ }"
		shift 2
		;;
	--no-host)
		host=0
		shift
		;;
	--timeout)
		[ $# -ge 2 ] || usage
		timeout_s=$2
		shift 2
		;;
	--files)
		shift
		while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do
			files+=("$1")
			shift
		done
		;;
	--)
		shift
		break
		;;
	*) usage ;;
	esac
done
[ $# -ge 1 ] || usage
case "$timeout_s" in
'' | *[!0-9]*) die "--timeout wants whole seconds, got '$timeout_s'" ;;
esac

now() {
	date +%s.%N
}

# Seconds between two now() readings, one decimal.
elapsed() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Clean up on signals too: bash runs the EXIT trap only when it exits itself.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

start=$(now)
if [ ${#kernels[@]} -gt 0 ]; then
	"$here/fetch-kernels.sh" "$cache" "${kernels[@]}" || die "fetching the kernels failed"
fi
"$here/mkinitramfs.sh" --tree "$tmp/tree" "$tmp/initramfs.cpio.gz" "${files[@]}" ||
	die "building the initramfs failed"
prepared=$(now)

# The host run, in its own mount namespace (see the top of this file). Expanded by the
# inner bash, hence single quotes.
# shellcheck disable=SC2016
host_script='
set -eu
root=$1
shift
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mount -t bpf -o mode=0700 bpf "$root/sys/fs/bpf"
mountpoint -q "$root/sys/kernel/tracing" || mount -t tracefs tracefs "$root/sys/kernel/tracing"
mountpoint -q "$root/sys/kernel/debug" || mount -t debugfs debugfs "$root/sys/kernel/debug"
exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/ \
	TMPDIR=/tmp TERM="${TERM:-dumb}" chroot "$root" "$@"
'

run_host() {
	timeout --kill-after=10 "$timeout_s" \
		unshare --mount --propagation private bash -c "$host_script" host-run "$tmp/tree" "$@" </dev/null
}

names=()
releases=()
results=()
walls=()
failed=0

# Records one run: its column name, kernel release, exit status, start time, and
# whether it was a guest (boot.sh's own failures have statuses of their own).
record() {
	local rc=$3 result

	case "$rc:$5" in
	0:*) result=PASS ;;
	124:*) result="FAIL (timeout)" ;;
	125:guest) result="FAIL (no exit line)" ;;
	*) result="FAIL (exit $rc)" ;;
	esac
	[ "$rc" -eq 0 ] || failed=1
	names+=("$1")
	releases+=("$2")
	results+=("$result")
	walls+=("$(elapsed "$4" "$(now)") s")
}

for k in "${kernels[@]}"; do
	rel=$(basename "$(cd "$cache/$k" && pwd -P)")
	echo "=== $prog: $k ($rel) ==="
	t0=$(now)
	if "$here/boot.sh" --timeout "$timeout_s" "$cache/$k" "$tmp/initramfs.cpio.gz" -- "$@"; then
		rc=0
	else
		rc=$?
	fi
	record "$k" "$rel" "$rc" "$t0" guest
done

if [ "$host" -eq 1 ]; then
	rel=$(uname -r)
	echo "=== $prog: host ($rel) ==="
	t0=$(now)
	if run_host "$@"; then
		rc=0
	else
		rc=$?
	fi
	[ "$rc" -eq 124 ] && echo "$prog: host: timed out after ${timeout_s}s" >&2
	record "host" "$rel" "$rc" "$t0" host
fi
end=$(now)

# One column per kernel, as wide as its widest cell.
print_row() {
	local label=$1 i
	shift
	local -a cells=("$@")

	printf '%-9s' "$label"
	for i in "${!cells[@]}"; do
		if [ "$i" -eq $((${#cells[@]} - 1)) ]; then
			printf '  %s' "${cells[$i]}"
		else
			printf '  %-*s' "${widths[$i]}" "${cells[$i]}"
		fi
	done
	printf '\n'
}

widths=()
for i in "${!names[@]}"; do
	w=0
	for cell in "${names[$i]}" "${releases[$i]}" "${results[$i]}" "${walls[$i]}"; do
		[ "${#cell}" -gt "$w" ] && w=${#cell}
	done
	widths+=("$w")
done

echo
echo "=== $prog: $*"
print_row kernel "${names[@]}"
print_row release "${releases[@]}"
print_row result "${results[@]}"
print_row wall "${walls[@]}"
echo "total wall time $(elapsed "$start" "$end") s" \
	"(of which fetch + initramfs $(elapsed "$start" "$prepared") s)"
exit "$failed"
