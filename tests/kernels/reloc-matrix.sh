#!/bin/bash
# reloc-matrix.sh [--btf-dir DIR] [--relocs-only] [-v] OBJ...
#
# Runs reloc-check (built from reloc-check.c beside this script) for every BPF object OBJ
# against every kernel BTF file vmlinux-<version>.btf[.xz] in DIR (default:
# $TAPIO_BTF_DIR, else /work/shared/btf), then prints a table object x kernel:
#
#   OK            every program relocated against that kernel's types and verified here
#   FAIL          a program did not relocate or load (reloc-check's output says which
#                 field)
#   TARGET LACKS  all loaded, but that kernel has no such map type, program type or
#                 helper (e.g. ring buffers before 5.8)
#
# Exits 1 if anything failed, 3 if nothing failed but something is lacking, else 0.
# --relocs-only and -v are passed to reloc-check.
set -eu -o pipefail

prog=reloc-matrix.sh
here=$(cd "$(dirname "$0")" && pwd)

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

worst=0
rows=()
for obj in "$@"; do
	[ -f "$obj" ] || die "$obj: no such file"
	row=$(printf '%-24s' "$(basename "$obj")")
	for v in "${versions[@]}"; do
		echo "=== $prog: $(basename "$obj") on $v ==="
		if "$tmp/reloc-check" "${check_opts[@]}" "$obj" "$tmp/$v.btf"; then
			rc=0
		else
			rc=$?
		fi
		case "$rc" in
		0) cell=OK ;;
		1) cell=FAIL ;;
		3) cell="TARGET LACKS" ;;
		*) die "reloc-check failed to run ($rc)" ;;
		esac
		row+=$(printf '  %-12s' "$cell")
		# Failures outrank lacks.
		if [ "$rc" -eq 1 ] || { [ "$rc" -eq 3 ] && [ "$worst" -eq 0 ]; }; then
			worst=$rc
		fi
	done
	rows+=("$row")
done

echo
header=$(printf '%-24s' object)
for v in "${versions[@]}"; do
	header+=$(printf '  %-12s' "$v")
done
echo "${header%"${header##*[! ]}"}"
for row in "${rows[@]}"; do
	echo "${row%"${row##*[! ]}"}"
done
exit "$worst"
