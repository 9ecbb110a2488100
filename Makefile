# Tapio sensor. As root on Debian 12:
#   make run    install what is missing, build, run the sensor in the foreground
#   make test   install what is missing, build, run every test (prints coverage)
#   make build  install what is missing and build only
#   make bench  run the benchmarks under tests/bench (prints figures)
# Extra sensor flags for `make run`: make run ARGS="--observers process --log-level debug"

JOBS ?= $(shell nproc)
ARGS ?=

.PHONY: all build run test bench deps deps-test format clean

all: build

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j$(JOBS)

run: build
	build/sensor/tapio-sensor $(ARGS)

test: deps-test
	@scripts/run-tests.sh

bench: build
	@tests/bench/run.sh

format:
	@clang-format -i $$(git ls-files '*.c' '*.h' | grep -v '^bpf_include/x86/')

clean:
	rm -rf build build-cov build-asan
