#!/bin/sh
# Regenerate bpf_include/<arch>/vmlinux.h from a kernel's BTF.
#
# The committed header comes from the 6.18 kernel of our build machines; CO-RE relocates
# every access at load time, so one header serves every kernel (see ../shared/KERNELS.md).
# Usage: bpf_include/gen-vmlinux.sh [BTF_FILE] [ARCH]
set -eu
btf=${1:-/sys/kernel/btf/vmlinux}
arch=${2:-x86}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/$arch"
bpftool btf dump file "$btf" format c > "$here/$arch/vmlinux.h.tmp"
mv "$here/$arch/vmlinux.h.tmp" "$here/$arch/vmlinux.h"
echo "wrote $here/$arch/vmlinux.h from $btf"
