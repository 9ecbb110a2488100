#!/bin/bash
# boot.sh [--timeout SECONDS] [--append ARGS] KERNEL INITRAMFS -- CMD [ARG...]
#
# Boots KERNEL (a directory holding vmlinuz, as fetch-kernels.sh leaves it, or a bzImage)
# with INITRAMFS (from mkinitramfs.sh) under qemu's software emulation, runs CMD ARG...
# in the guest through its /init, prints the guest's console output as it comes, and
# exits with CMD's exit status (128 + signal if a signal killed it).
#
# Failures of the machinery are told apart from the command's own status by a message
# on stderr: 124 when the guest did not finish within the timeout (default 300 s),
# 125 when it ended without init's exit line (kernel panic, init crash, qemu error).
#
# The command reaches init as a file, /tapio-cmd (arguments separated by NUL bytes), in
# a second archive appended to the initramfs: the kernel unpacks concatenated archives
# in order, and a file, unlike the kernel command line, keeps every argument byte for
# byte and has no length limit. --append adds kernel command line arguments.
set -eu -o pipefail

prog=boot.sh
marker=TAPIO-GUEST-EXIT
timeout_s=300
append=""

die() {
	echo "$prog: $*" >&2
	exit 125
}

usage() {
	echo "usage: $prog [--timeout SECONDS] [--append ARGS] KERNEL INITRAMFS -- CMD [ARG...]" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--timeout)
		[ $# -ge 2 ] || usage
		timeout_s=$2
		shift 2
		;;
	--append)
		[ $# -ge 2 ] || usage
		append=$2
		shift 2
		;;
	-h | --help) usage ;;
	-*) usage ;;
	*) break ;;
	esac
done
if [ $# -lt 4 ] || [ "$3" != -- ]; then
	usage
fi
kernel=$1
initramfs=$2
shift 3

if [ -d "$kernel" ]; then
	vmlinuz="$kernel/vmlinuz"
	name=$(basename "$(cd "$kernel" && pwd -P)")
else
	vmlinuz=$kernel
	name=$(basename "$kernel")
fi
[ -f "$vmlinuz" ] || die "$vmlinuz: no such file"
[ -f "$initramfs" ] || die "$initramfs: no such file"
case "$timeout_s" in
'' | *[!0-9]*) die "--timeout wants whole seconds, got '$timeout_s'" ;;
esac
command -v qemu-system-x86_64 >/dev/null ||
	die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
command -v cpio >/dev/null || die "cpio not found (apt-get install cpio)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Clean up on signals too: bash runs the EXIT trap only when it exits itself.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# The command as init reads it, appended to the initramfs as a compressed archive of its
# own (a compressed archive may start at any offset; an uncompressed one would have to
# start on a 4-byte boundary).
mkdir "$tmp/cmd"
printf '%s\0' "$@" >"$tmp/cmd/tapio-cmd"
(cd "$tmp/cmd" && echo tapio-cmd | cpio --quiet -o -H newc --owner=0:0) |
	gzip -n >"$tmp/cmd.cpio.gz"
cat "$initramfs" "$tmp/cmd.cpio.gz" >"$tmp/initrd"

# The recipe of KERNELS.md: no KVM here, so TCG; -nodefaults and -net none keep qemu from
# loading a NIC option ROM; -no-reboot turns the guest's power-off (or a panic, with
# panic=-1) into qemu's exit. stdin is /dev/null so qemu neither waits for nor eats the
# caller's input. \r from the serial line and the firmware's terminal escapes (a reset
# that would clear the caller's screen) are dropped so that logs read normally.
log="$tmp/console.log"
set +e
timeout --kill-after=10 "$timeout_s" \
	qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 1 \
	-nographic -no-reboot -nodefaults -serial stdio -net none \
	-kernel "$vmlinuz" -initrd "$tmp/initrd" \
	-append "console=ttyS0 panic=-1 quiet $append" \
	</dev/null 2>&1 | sed -u 's/\r$//; s/\x1bc//g; s/\x1b\[[0-9;?]*[A-Za-z]//g' | tee "$log"
qemu_rc=${PIPESTATUS[0]}
set -e

# The last exit line is init's: it kills every other process before printing it.
status=$(sed -n "s/^$marker \([0-9]\{1,3\}\)\$/\1/p" "$log" | tail -n 1)
if [ -n "$status" ]; then
	if [ "$qemu_rc" -ne 0 ]; then
		echo "$prog: $name: warning: the command finished but qemu exited with $qemu_rc" \
			"(did the guest power off?)" >&2
	fi
	exit "$status"
fi
case "$qemu_rc" in
124 | 137)
	echo "$prog: $name: timed out after ${timeout_s}s without init's exit line" >&2
	exit 124
	;;
esac
panic=$(grep -m 1 'Kernel panic' "$log" || true)
if [ -n "$panic" ]; then
	echo "$prog: $name: kernel panic: ${panic#*Kernel panic - }" >&2
else
	echo "$prog: $name: the guest ended without init's exit line (qemu exit status $qemu_rc)" >&2
fi
exit 125
