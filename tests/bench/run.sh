#!/bin/bash
# make bench: every benchmark, printing its figures (the numbers are the result; nothing
# here asserts a time). Uses the release build in build/.
set -euo pipefail
cd "$(dirname "$0")/../.."
b=build/tests/bench
client=build/client_examples/tapio-events

step() { printf '\n=== %s\n' "$*"; }

step "user-space cost per event (decode, enrich, pack, queue, batch)"
$b/bench_decode 1000000 1000

step "filtering cost per event"
$b/bench_filter 5000000

# bench_stream PORT EVENTS STREAMS, with STREAMS C clients reading batches of 1000.
stream() {
	local port=$1 events=$2 n=$3 pids=()
	$b/bench_stream "$port" "$events" "$n" &
	local server=$!
	sleep 0.5
	for _ in $(seq "$n"); do
		$client --target "127.0.0.1:$port" --batch 1000 --quiet --count "$events" \
			--timeout 120 &
		pids+=($!)
	done
	wait "${pids[@]}"
	wait "$server"
}

step "hub -> one batched C-client stream"
stream 50151 3000000 1
step "hub -> 16 concurrent batched streams"
stream 50152 300000 16
step "sensor memory with 64 subscribers"
stream 50153 20000 64 2>/dev/null

for bench in tests/bench/bench_*.sh; do
	[ -e "$bench" ] || continue
	step "$(basename "$bench")"
	"$bench"
done
