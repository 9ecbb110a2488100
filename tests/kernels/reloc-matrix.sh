#!/bin/bash
# reloc-matrix.sh [--btf-dir DIR] [--relocs-only] [-v] OBJ...
#
# Runs reloc-check (built from reloc-check.c beside this script) for every BPF object OBJ
# against every kernel BTF file vmlinux-<version>.btf[.xz] in DIR (default:
# $TAPIO_BTF_DIR, else /work/shared/btf), twice: as built (events is a ring buffer) and
# with --perf-buffer (the sensor's own choice on a kernel without ring buffers). Prints
# each run's output, then a table object x kernel:
#
#   OK                     both configurations load, and the target has what they use
#   OK with perf buffer    the target has no ring buffer (5.8+), and the perf buffer
#                          configuration, which the sensor then picks itself, has all
#                          it needs
#   OK, ring buffer only   the ring buffer configuration is fine there, the perf buffer
#                          one lacks something: the sensor's --perf-buffer would not do
#   TARGET LACKS           the configuration the sensor would pick lacks something there
#                          (both lack; or the ring buffer one does while the target has
#                          ring buffers, so the sensor does not fall back)
#   FAIL                   a program did not relocate or load, in one configuration or
#                          both (the run's output says which field)
#   *                      after a cell: a program could only be relocated, not verified,
#                          because this machine's kernel cannot load its program type
# and notes on every cell that is not plainly OK.
#
# Programs the sensor does without where the kernel lacks their program type are listed
# in `optional` below; reloc-check skips them there instead of counting the type missing.
#
# Exits 1 if anything failed, 3 if nothing failed but the sensor's configuration lacks
# something somewhere, else 0. --relocs-only and -v are passed to reloc-check.
set -eu -o pipefail

prog=reloc-matrix.sh
here=$(cd "$(dirname "$0")" && pwd)

# OBJECT:PROGRAM pairs the sensor loads only when the kernel can, with a fallback.
#   process.bpf.o:fork_failed_fexit  choose_fork_failed() in sensor/observers/process/process.c:
#                                    fexit on kernel_clone where fentry works, else the
#                                    syscalls:sys_exit_{clone,clone3,fork,vfork} tracepoints
optional=(process.bpf.o:fork_failed_fexit)

die() {
	echo "$prog: $*" >&2
	exit 2
}

usage() {
	echo "usage: $prog [--btf-dir DIR] [--relocs-only] [-v] OBJ..." >&2
	exit 2
}

btf_dir=${TAPIO_BTF_DIR:-/work/shared/btf}
check_opts=()
while [ $# -gt 0 ]; do
	case "$1" in
	--btf-dir)
		[ $# -ge 2 ] || usage
		btf_dir=$2
		shift 2
		;;
	--relocs-only | -v)
		check_opts+=("$1")
		shift
		;;
	-h | --help) usage ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage
[ -d "$btf_dir" ] || die "$btf_dir: no such directory (set --btf-dir or TAPIO_BTF_DIR)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Clean up on signals too: bash runs the EXIT trap only when it exits itself.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

make -s -C "$here" O="$tmp" "$tmp/reloc-check" >&2 || die "building reloc-check failed"

# vmlinux-<version>.btf[.xz], decompressed into the temporary directory, in version order.
versions=()
while read -r f; do
	v=$(basename "$f")
	v=${v#vmlinux-}
	v=${v%.xz}
	v=${v%.btf}
	case "$f" in
	*.xz) xz -dc "$f" >"$tmp/$v.btf" ;;
	*) cp "$f" "$tmp/$v.btf" ;;
	esac
	versions+=("$v")
done < <(find "$btf_dir" -maxdepth 1 \( -name 'vmlinux-*.btf' -o -name 'vmlinux-*.btf.xz' \) |
	sort -V)
[ ${#versions[@]} -gt 0 ] || die "no vmlinux-*.btf[.xz] in $btf_dir"

# run OBJ VERSION CONFIG: reloc-check's output is shown and kept in $tmp/run.CONFIG, its
# exit status in rc_CONFIG.
run() {
	local obj=$1 v=$2 config=$3 opts=("${check_opts[@]}") o rc
	[ "$config" = perf ] && opts+=(--perf-buffer)
	for o in "${optional[@]}"; do
		[ "${o%%:*}" = "$(basename "$obj")" ] && opts+=(--optional "${o#*:}")
	done
	echo "=== $prog: $(basename "$obj") on $v, $config buffer ==="
	if "$tmp/reloc-check" "${opts[@]}" "$obj" "$tmp/$v.btf" >"$tmp/run.$config"; then
		rc=0
	else
		rc=$?
	fi
	cat "$tmp/run.$config"
	case "$rc" in
	0 | 1 | 3 | 4) ;;
	*) die "reloc-check failed to run ($rc)" ;;
	esac
	printf -v "rc_$config" '%s' "$rc"
}

# field CONFIG NAME: reloc-check's summary line "NAME: ..." of that run, or nothing.
field() {
	sed -n "s/^$2: //p" "$tmp/run.$1"
}

rc_ring=0 rc_perf=0 # set by run
worst=0
rows=()
notes=()
for obj in "$@"; do
	[ -f "$obj" ] || die "$obj: no such file"
	name=$(basename "$obj")
	row=$(printf '%-24s' "$name")
	for v in "${versions[@]}"; do
		run "$obj" "$v" ring
		run "$obj" "$v" perf
		lacks_ring=$(field ring lacks)
		lacks_perf=$(field perf lacks)
		at="$name on $v"
		# 4 counts as OK: a program relocated but not verifiable here, marked below.
		if [ "$rc_ring" -eq 1 ] || [ "$rc_perf" -eq 1 ]; then
			cell=FAIL
			worst=1
			[ "$rc_ring" -eq 1 ] && notes+=("$at: FAIL with the ring buffer")
			[ "$rc_perf" -eq 1 ] && notes+=("$at: FAIL with the perf buffer")
		elif [ "$rc_ring" -ne 3 ] && [ "$rc_perf" -ne 3 ]; then
			cell=OK
		elif [ "$rc_ring" -eq 3 ] && [ "$rc_perf" -ne 3 ] &&
			[[ " $lacks_ring " == *" BPF_MAP_TYPE_RINGBUF "* ]]; then
			cell="OK with perf buffer"
			note="$at: no ring buffer (5.8+): the ring buffer build lacks $lacks_ring"
			dead=$(field perf dead)
			[ -n "$dead" ] && note+="; with the perf buffer the verifier removed every call of $dead"
			notes+=("$note")
		elif [ "$rc_ring" -ne 3 ]; then
			cell="OK, ring buffer only"
			notes+=("$at: the perf buffer build (--perf-buffer) lacks $lacks_perf")
		else
			cell="TARGET LACKS"
			[ "$worst" -eq 0 ] && worst=3
			if [ "$rc_perf" -eq 3 ]; then
				notes+=("$at: TARGET LACKS with the ring buffer: $lacks_ring; with the perf buffer: $lacks_perf")
			else
				notes+=("$at: TARGET LACKS $lacks_ring with the ring buffer, and has ring buffers, so the sensor does not fall back to the perf buffer")
			fi
		fi
		unverified=$( (field ring unverified; field perf unverified) | tr ' ' '\n' | sort -u | xargs)
		if [ -n "$unverified" ]; then
			cell+="*"
			notes+=("$at: $unverified relocated, not verified: this kernel cannot load its program type")
		fi
		skipped=$( (field ring skipped; field perf skipped) | tr ' ' '\n' | sort -u | xargs)
		[ -n "$skipped" ] && notes+=("$at: no $skipped there: the sensor does without (optional)")
		row+=$(printf '  %-21s' "$cell")
	done
	rows+=("$row")
done

echo
header=$(printf '%-24s' object)
for v in "${versions[@]}"; do
	header+=$(printf '  %-21s' "$v")
done
echo "${header%"${header##*[! ]}"}"
for row in "${rows[@]}"; do
	echo "${row%"${row##*[! ]}"}"
done
if [ ${#notes[@]} -gt 0 ]; then
	echo
	for n in "${notes[@]}"; do
		echo "  $n"
	done
fi
exit "$worst"
