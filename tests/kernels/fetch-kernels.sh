#!/bin/bash
# fetch-kernels.sh CACHE_DIR [SERIES...]
#
# Downloads the Debian kernels the matrix boots, by package name, and unpacks each into
# CACHE_DIR/<release>/ (dpkg-deb -x: nothing goes to /boot, nothing is installed), with
# its image as CACHE_DIR/<release>/vmlinuz and CACHE_DIR/<series> -> <release>.
# SERIES defaults to all of: 5.10 6.1 6.12.
#
#   5.10  linux-image-5.10.0-N-cloud-amd64-unsigned           from bullseye, through a
#         private apt state under CACHE_DIR/.apt-bullseye (the system's apt is untouched)
#   6.1   linux-image-6.1.0-N-cloud-amd64-unsigned            from the machine's own
#   6.12  linux-image-6.12.N+deb12-cloud-amd64-unsigned       sources (bookworm)
#
# The newest revision apt knows of is resolved at run time (revisions move). A series
# already in the cache is not looked at again: a second run does no network access.
# The cloud flavour decompresses quickly under qemu's software emulation.
#
# DEBIAN_MIRROR=URL overrides the mirror used for bullseye (by default the first Debian
# mirror named in /etc/apt/sources.list*).
set -eu -o pipefail

prog=fetch-kernels.sh
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

die() {
	echo "$prog: $*" >&2
	exit 1
}

usage() {
	echo "usage: $prog CACHE_DIR [5.10|6.1|6.12 ...]" >&2
	exit 2
}

[ $# -ge 1 ] || usage
case "$1" in -h | --help) usage ;; esac
mkdir -p "$1"
cache=$(cd "$1" && pwd)
shift
if [ $# -gt 0 ]; then
	series=("$@")
else
	series=(5.10 6.1 6.12)
fi

# Suite ("system" = the machine's own sources) and package name pattern per series.
suite_of() {
	case "$1" in
	5.10) echo bullseye ;;
	6.1 | 6.12) echo system ;;
	*) die "unknown kernel series '$1' (known: 5.10 6.1 6.12)" ;;
	esac
}

pattern_of() {
	case "$1" in
	5.10) echo '^linux-image-5\.10\.0-[0-9]+-cloud-amd64-unsigned$' ;;
	6.1) echo '^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$' ;;
	6.12) echo '^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$' ;;
	esac
}

cached() {
	[ -f "$cache/$1/vmlinuz" ]
}

missing=()
for s in "${series[@]}"; do
	suite_of "$s" >/dev/null
	cached "$s" || missing+=("$s")
done
[ ${#missing[@]} -eq 0 ] && exit 0

for tool in apt-get apt-cache dpkg-deb flock; do
	command -v "$tool" >/dev/null || die "$tool not found"
done

# Two test runs starting at once must not download into the same place.
exec 9>"$cache/.lock"
flock 9

tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Clean up on signals too: bash runs the EXIT trap only when it exits itself.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# The first http(s) URI ending in /debian in the machine's sources (one-line and deb822
# formats), for the bullseye state: the same mirror host the machine is known to reach.
debian_mirror() {
	local f lists=() deb822=()

	if [ -n "${DEBIAN_MIRROR:-}" ]; then
		echo "$DEBIAN_MIRROR"
		return
	fi
	[ -f /etc/apt/sources.list ] && lists+=(/etc/apt/sources.list)
	for f in /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && lists+=("$f")
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && deb822+=("$f")
	done
	{
		# deb [opt=val ...] URI suite component...
		[ ${#lists[@]} -eq 0 ] || awk '$1 == "deb" {
			i = 2
			if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
			print $i
		}' "${lists[@]}"
		# Stanzas separated by blank lines; skip those with "Enabled: no".
		[ ${#deb822[@]} -eq 0 ] || awk 'BEGIN { RS = ""; FS = "\n" } {
			uris = ""; enabled = 1
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) uris = substr($i, 6)
				if ($i ~ /^Enabled:[ \t]*no/) enabled = 0
			}
			if (enabled) { n = split(uris, u, " "); for (j = 1; j <= n; j++) print u[j] }
		}' "${deb822[@]}"
	} | grep -E '^https?://[^ ]+/debian/?$' | head -n 1 | sed 's,/$,,'
}

# apt options of the private bullseye state. The system's apt.conf.d is still read
# (proxies, date checks), but its apt-get update hooks are cleared: they would refresh
# system caches (AppStream, PackageKit).
bullseye_opts=()
bullseye_ready=0
setup_bullseye() {
	local state="$cache/.apt-bullseye" mirror

	[ $bullseye_ready -eq 1 ] && return
	mirror=$(debian_mirror)
	[ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources.list*; set DEBIAN_MIRROR"
	[ -f "$keyring" ] || die "$keyring missing (apt-get install debian-archive-keyring)"
	mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/preferences.d"
	echo "deb [signed-by=$keyring] $mirror bullseye main" >"$state/sources.list"
	cat >"$state/apt.conf" <<-'EOF'
		#clear APT::Update::Pre-Invoke;
		#clear APT::Update::Post-Invoke;
		#clear APT::Update::Post-Invoke-Success;
	EOF
	bullseye_opts=(
		-c "$state/apt.conf"
		-o "Dir::Etc::sourcelist=$state/sources.list"
		-o "Dir::Etc::sourceparts=-"
		-o "Dir::Etc::preferences=$state/preferences"
		-o "Dir::Etc::preferencesparts=$state/preferences.d"
		-o "Dir::State::Lists=$state/lists"
		-o "Dir::Cache=$state/cache"
		-o "Acquire::Languages=none"
	)
	echo "$prog: updating the package lists of bullseye ($mirror)" >&2
	apt-get -q "${bullseye_opts[@]}" update >&2 || die "apt-get update of bullseye failed"
	bullseye_ready=1
}

# The newest package matching the series' pattern that apt can download.
resolve() {
	local s=$1 prefix pkg cand
	shift

	prefix="linux-image-$s."
	while read -r pkg; do
		cand=$(apt-cache "$@" policy "$pkg" | awk '$1 == "Candidate:" { print $2 }')
		if [ -n "$cand" ] && [ "$cand" != "(none)" ]; then
			echo "$pkg"
			return
		fi
	done < <(apt-cache "$@" pkgnames "$prefix" | grep -E "$(pattern_of "$s")" | sort -V -r)
}

fetch() {
	local s=$1 pkg deb rel version dir
	local -a opts=()

	if [ "$(suite_of "$s")" = bullseye ]; then
		setup_bullseye
		opts=("${bullseye_opts[@]}")
	fi
	pkg=$(resolve "$s" "${opts[@]}")
	if [ -z "$pkg" ]; then
		[ "$(suite_of "$s")" = system ] &&
			die "no package for $s in the system's apt lists; run apt-get update first"
		die "no package for $s in bullseye"
	fi
	echo "$prog: downloading $pkg" >&2
	dir="$tmp/$s"
	mkdir -p "$dir"
	# Root downloads into a private directory the _apt user cannot write: say root.
	(cd "$dir" && apt-get -q "${opts[@]}" -o APT::Sandbox::User=root \
		download "$pkg" >&2) || die "apt-get download $pkg failed"
	deb=$(find "$dir" -maxdepth 1 -name '*.deb' | head -n 1)
	[ -n "$deb" ] || die "apt-get download $pkg left no .deb"
	version=$(dpkg-deb -f "$deb" Version)
	dpkg-deb -x "$deb" "$dir/root"
	rm -f "$deb"
	rel=$(find "$dir/root/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | head -n 1)
	rel=${rel#vmlinuz-}
	[ -n "$rel" ] || die "$pkg has no /boot/vmlinuz-*"
	grep -q '^CONFIG_DEBUG_INFO_BTF=y' "$dir/root/boot/config-$rel" ||
		echo "$prog: warning: $rel lacks CONFIG_DEBUG_INFO_BTF=y" >&2
	ln "$dir/root/boot/vmlinuz-$rel" "$dir/root/vmlinuz"
	echo "$pkg $version" >"$dir/root/PACKAGE"
	# Publish complete trees only: the series link is what marks a kernel as cached.
	rm -rf "${cache:?}/$rel"
	mv "$dir/root" "$cache/$rel"
	ln -sfn "$rel" "$cache/$s"
	echo "$prog: $s -> $cache/$rel ($pkg $version)" >&2
}

for s in "${missing[@]}"; do
	# Another run may have fetched it while this one waited for the lock.
	cached "$s" || fetch "$s"
done
