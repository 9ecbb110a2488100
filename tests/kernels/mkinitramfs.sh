#!/bin/bash
# mkinitramfs.sh [--init INIT] [--tree DIR] OUT.cpio.gz [SPEC...]
#
# Builds the initramfs of a test guest: a gzip-compressed newc cpio holding /init (built
# from init.c beside this script unless --init names one), /dev/console, a few /etc
# files, and each SPEC:
#
#   SRC        an executable goes to /bin/NAME, any other file or directory to /NAME
#   SRC:DEST   goes to DEST (an absolute path in the guest)
#
# For every ELF file among them the shared libraries ldd lists and the dynamic loader
# are copied in as well, at the paths ldd gives (libraries a program dlopen()s are not
# seen by ldd: name those as SPECs).
#
# --tree DIR keeps the staged tree in DIR (it must not exist yet); run-matrix.sh uses it
# to run the same files on the host.
#
# Needs cpio: without it the archive would be empty and the guest would panic with
# "junk at the end of compressed archive". Creating /dev/console needs root (mknod).
set -eu -o pipefail

prog=mkinitramfs.sh
here=$(cd "$(dirname "$0")" && pwd)

die() {
	echo "$prog: $*" >&2
	exit 1
}

usage() {
	echo "usage: $prog [--init INIT] [--tree DIR] OUT.cpio.gz [SRC[:DEST] ...]" >&2
	exit 2
}

init=""
tree=""
while [ $# -gt 0 ]; do
	case "$1" in
	--init)
		[ $# -ge 2 ] || usage
		init=$2
		shift 2
		;;
	--tree)
		[ $# -ge 2 ] || usage
		tree=$2
		shift 2
		;;
	-h | --help) usage ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage
out=$1
shift

command -v cpio >/dev/null || die "cpio not found (apt-get install cpio)"
command -v ldd >/dev/null || die "ldd not found (apt-get install libc-bin)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$out.tmp"' EXIT
# Clean up on signals too: bash runs the EXIT trap only when it exits itself.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "$init" ]; then
	make -s -C "$here" O="$tmp/build" "$tmp/build/init" >&2 || die "building init failed"
	init="$tmp/build/init"
fi
[ -f "$init" ] || die "$init: no such file"

if [ -n "$tree" ]; then
	[ -e "$tree" ] && die "$tree already exists"
	mkdir -p "$tree"
	tree=$(cd "$tree" && pwd)
else
	tree="$tmp/tree"
	mkdir "$tree"
fi

# Mount points init uses, and the usual places programs look for things. lib64 holds
# the dynamic loader; /lib, /usr/lib hold libraries.
mkdir -p "$tree"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc,lib64}
chmod 1777 "$tree/tmp"
install -m 0755 "$init" "$tree/init"
# The kernel opens /dev/console for init before anything is mounted.
mknod -m 0600 "$tree/dev/console" c 5 1 || die "mknod /dev/console failed (needs root)"

# Enough /etc for name lookups of localhost and of root, as programs expect.
cat >"$tree/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
EOF
echo 'root:x:0:0:root:/root:/bin/sh' >"$tree/etc/passwd"
echo 'root:x:0:' >"$tree/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$tree/etc/nsswitch.conf"

# Copies SRC to DEST in the tree, following symlinks: the guest gets the real content
# under the name asked for.
put() {
	local src=$1 dest=$2

	mkdir -p "$tree$(dirname "$dest")"
	if [ -d "$src" ]; then
		rm -rf "${tree:?}$dest"
		cp -RL "$src" "$tree$dest"
	else
		cp -L "$src" "$tree$dest"
	fi
}

is_elf() {
	[ -f "$1" ] && [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]
}

# Shared libraries and loader of an ELF file, one path a line. A static binary (or a
# non-executable ELF, like a BPF object) has none.
libs_of() {
	local out

	out=$(ldd "$1" 2>&1) || return 0
	echo "$out" | awk '
		/=> not found/ { print "MISSING " $1; next }
		$2 == "=>" && $3 ~ /^\// { print $3; next }
		$1 ~ /^\// { print $1 }'
}

declare -A added=()
add_libs() {
	local lib

	while read -r lib; do
		case "$lib" in
		"MISSING "*) die "$1 needs ${lib#MISSING }, which ldd cannot find" ;;
		esac
		[ -n "${added[$lib]:-}" ] && continue
		added[$lib]=1
		put "$lib" "$lib"
	done < <(libs_of "$1")
}

for spec in "$@"; do
	src=${spec%%:*}
	if [ "$src" != "$spec" ]; then
		dest=${spec#*:}
	elif [ -f "$src" ] && [ -x "$src" ]; then
		dest=/bin/$(basename "$src")
	else
		dest=/$(basename "$src")
	fi
	[ -e "$src" ] || die "$src: no such file"
	case "$dest" in
	/*) ;;
	*) die "$spec: the guest path must be absolute" ;;
	esac
	put "$src" "$dest"
	if is_elf "$src"; then
		add_libs "$src"
	fi
done

# newc is the only format the kernel reads; owner root, sorted for stable output.
mkdir -p "$(dirname "$out")"
(cd "$tree" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	cpio --quiet --null -o -H newc --owner=0:0 --reproducible) |
	gzip -n -6 >"$out.tmp"
# The failure KERNELS.md warns of is silent: check that /init made it in.
listing=$(gzip -dc "$out.tmp" | cpio --quiet -it)
grep -qx init <<<"$listing" || die "the archive has no /init (is cpio working?)"
mv "$out.tmp" "$out"
echo "$prog: $out ($(du -k "$out" | cut -f1) KiB, $(find "$tree" -mindepth 1 | wc -l) entries)" >&2
