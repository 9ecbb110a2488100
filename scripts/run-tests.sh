#!/bin/bash
# make test: every test of the project, as root, on this machine's kernel.
#   1. format check (clang-format, the committed .clang-format)
#   2. coverage build: unit + integration tests, then line coverage of sensor/ (>= 80 %)
#   3. sanitizer build (ASan + UBSan + LeakSanitizer): unit + integration tests again
#   4. valgrind: the release sensor through a real session, no leaks, no errors
#   5. kernel matrix: `tapio-sensor --self-test` on Debian's 5.10, 6.1, 6.12 under qemu
#      and on this host, again with the perf buffer forced; BPF relocation against every
#      BTF file in ../shared/btf (5.4 included) when that folder is there
# Each build has its own directory; `make run` uses build/.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
min_coverage=80

step() { printf '\n=== %s\n' "$*"; }

# Tools that write to /dev/null by renaming over it leave a regular file there, and every
# later test that reads it fails far from the cause: say so where it happened.
devnull_intact() {
	[ -c /dev/null ] && return
	echo "make test: /dev/null is no longer a character device (after: $1)" >&2
	exit 1
}

if [ "$(id -u)" != 0 ]; then
	echo "make test: the integration tests load BPF programs: run as root" >&2
	exit 1
fi

step "format (clang-format --dry-run)"
git ls-files '*.c' '*.h' | grep -v '^bpf_include/x86/' | xargs clang-format --dry-run --Werror
echo "ok"

step "coverage build: unit and integration tests"
cmake -S . -B build-cov -DCMAKE_BUILD_TYPE=Debug -DTAPIO_COVERAGE=ON >/dev/null
cmake --build build-cov -j"$jobs"
find build-cov -name '*.gcda' -delete
(cd build-cov && ctest --output-on-failure --timeout 900)
devnull_intact "the coverage build's tests"

step "line coverage of the sensor's own code (sensor/)"
# The summary goes to stdout, the per-file table to build-cov/coverage.txt. (Never give
# gcovr `-o /dev/null`: it replaces the device with a regular file.)
gcovr --root . --filter 'sensor/' --object-directory build-cov --print-summary \
	--fail-under-line "$min_coverage" --txt build-cov/coverage.txt
grep -E '^TOTAL' build-cov/coverage.txt || true
devnull_intact gcovr

step "sanitizer build (ASan, UBSan, LeakSanitizer): unit and integration tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTAPIO_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan &&
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --output-on-failure --timeout 900)
devnull_intact "the sanitizer build's tests"

step "valgrind: the release sensor, a real session, no leaks"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
TAPIO_BUILD_DIR=$PWD/build /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/valgrind

step "kernel matrix: self-test on 5.10, 6.1, 6.12 (qemu) and the host"
tests/kernels/run-matrix.sh --files build/sensor/tapio-sensor -- tapio-sensor --self-test
step "kernel matrix: perf buffer fallback forced, on 5.10 and the host"
tests/kernels/run-matrix.sh --kernels 5.10 --files build/sensor/tapio-sensor \
	-- tapio-sensor --self-test --perf-buffer

# The BTF files of other kernels: $TAPIO_BTF_DIR, else ../shared/btf beside the checkout,
# else where the build machines keep them.
btf_dir=${TAPIO_BTF_DIR:-}
for d in "$(cd .. && pwd)/shared/btf" /work/shared/btf; do
	[ -z "$btf_dir" ] && [ -d "$d" ] && btf_dir=$d
done
if [ -n "$btf_dir" ] && [ -d "$btf_dir" ]; then
	step "CO-RE relocation of every BPF object against $btf_dir"
	TAPIO_BTF_DIR=$btf_dir tests/kernels/reloc-matrix.sh build/bpf/*.bpf.o
else
	step "CO-RE relocation check skipped: no folder of BTF files (../shared/btf)"
fi

step "all tests passed"
