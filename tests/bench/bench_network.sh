#!/bin/bash
# The network observer under loopback HTTP load, wrk (Debian's) as the client:
#   1. throughput cost: requests/s without a sensor, with the network observer at its
#      defaults (2000 events/s) and unlimited, rounds alternating; printed: the median of
#      each, and the median of the per-round changes (each against the run without a
#      sensor just before it: this machine's speed drifts between rounds); against
#      bench_http_server (C, epoll, keep-alive: where the per-packet cost of the
#      observer is largest relative to the work), against Python's http.server
#      (HTTP/1.0: one connection per request) and against bench_http_server with a
#      connection per request ("Connection: close": where the connection lifecycle
#      programs and each socket's new capture state weigh most); then the CPU time the
#      observer's BPF programs take per request at the defaults
#      (kernel.bpf_stats_enabled, a figure that does not drift with the machine);
#   2. what the unlimited observer keeps up with: HTTP requests/s and connections/s of
#      the load, events streamed to a batched C client, and the kernel side's records
#      emitted, lost to a full ring buffer, and decoded.
# NET_BENCH_SECONDS (default 3) per run, NET_BENCH_ROUNDS (default 9) rounds;
# TAPIO_BUILD_DIR (default build) the release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
port=50191
cport=50192
pyport=50193
build=${TAPIO_BUILD_DIR:-build}
sensor=$build/sensor/tapio-sensor
client=$build/client_examples/tapio-events
secs=${NET_BENCH_SECONDS:-3}
rounds=${NET_BENCH_ROUNDS:-9}
webroot=$(mktemp -d)
spid=
cpid=
servers=()

status() { $client --target 127.0.0.1:$port --status; }

start_sensor() {
	$sensor --listen 127.0.0.1:$port --observers network --log-level warn "$@" &
	spid=$!
	for _ in $(seq 200); do status >/dev/null 2>&1 && return; sleep 0.1; done
	echo "sensor did not start" >&2
	exit 1
}

stop_sensor() {
	[ -n "$cpid" ] && kill -INT "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null || true
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null || true
	cpid=
	spid=
}

stop_all() {
	stop_sensor
	for p in ${servers[@]+"${servers[@]}"}; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
	done
	rm -rf "$webroot"
}
trap stop_all EXIT

printf 'hello, tapio\n' >"$webroot/hello.txt"
$build/tests/bench/bench_http_server $cport &
servers+=($!)
/usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$webroot" $pyport \
	>/dev/null 2>&1 &
servers+=($!)
for _ in $(seq 100); do
	curl -s -o /dev/null "http://127.0.0.1:$pyport/hello.txt" && break
	sleep 0.1
done

# Requests/s of one wrk run: URL, then extra wrk arguments.
wrk_rate() {
	local url=$1
	shift
	wrk -t2 -c32 -d"${secs}s" "$@" "$url" | awk '/^Requests\/sec:/ {print $2}'
}

# wrk arguments for a load with a connection per request (bench_http_server closes).
per_connection=(-H "Connection: close")

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# Alternating rounds without a sensor, with the defaults, unlimited: LABEL URL, then extra
# wrk arguments.
cost() {
	local label=$1 url=$2 base=() dflt=() unlim=() dchg=() uchg=() b d u
	shift 2
	echo "  $label, wrk -t2 -c32, $secs s per run, $rounds rounds:"
	for _ in $(seq "$rounds"); do
		base+=("$(wrk_rate "$url" "$@")")
		start_sensor
		dflt+=("$(wrk_rate "$url" "$@")")
		stop_sensor
		start_sensor --rate network=0
		unlim+=("$(wrk_rate "$url" "$@")")
		stop_sensor
		echo "    no sensor ${base[-1]}, defaults ${dflt[-1]}, unlimited ${unlim[-1]} requests/s"
		dchg+=("$(change "${base[-1]}" "${dflt[-1]}")")
		uchg+=("$(change "${base[-1]}" "${unlim[-1]}")")
	done
	b=$(printf '%s\n' "${base[@]}" | median)
	d=$(printf '%s\n' "${dflt[@]}" | median)
	u=$(printf '%s\n' "${unlim[@]}" | median)
	awk -v b="$b" -v d="$d" -v u="$u" 'BEGIN {
		printf "    median requests/s: no sensor %.0f; network defaults %.0f (%+.1f %%); " \
			"unlimited %.0f (%+.1f %%)\n", b, d, (d - b) / b * 100, u, (u - b) / b * 100 }'
	echo "    median of the per-round changes: defaults $(printf '%s\n' "${dchg[@]}" |
		median) %, unlimited $(printf '%s\n' "${uchg[@]}" | median) %"
	bpf_cost "$url" "$@"
}

# Per cent change from $1 to $2.
change() { awk -v b="$1" -v x="$2" 'BEGIN {printf "%+.1f", (x - b) / b * 100}'; }

# Sum of run_time_ns and run_cnt of the sensor's BPF programs.
bpf_runtime() {
	bpftool prog show -j | /usr/bin/python3 -c '
import json, sys
mine = ("skb_", "udp_", "ssl_", "handle_")
p = [x for x in json.load(sys.stdin) if x.get("name", "").startswith(mine)]
print(sum(x.get("run_time_ns", 0) for x in p), sum(x.get("run_cnt", 0) for x in p))'
}

# CPU time of the observer's BPF programs per request, at the defaults: URL, then extra
# wrk arguments.
bpf_cost() {
	local was t0 n0 t1 n1 r
	was=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
	start_sensor
	read -r t0 n0 < <(bpf_runtime)
	r=$(wrk_rate "$@")
	read -r t1 n1 < <(bpf_runtime)
	stop_sensor
	sysctl -qw kernel.bpf_stats_enabled="$was"
	awk -v t=$((t1 - t0)) -v n=$((n1 - n0)) -v r="$r" -v s="$secs" 'BEGIN {
		printf "    BPF programs at the defaults: %.0f ns per request (%d runs, %.0f ns each), " \
			"%.1f %% of one CPU at %.0f requests/s\n", t / (r * s), n, t / n, t / (s * 1e7), r }'
}

cost "bench_http_server (C, keep-alive)" "http://127.0.0.1:$cport/"
cost "python3 http.server (HTTP/1.0, a connection per request)" \
	"http://127.0.0.1:$pyport/hello.txt"
cost "bench_http_server (C, a connection per request)" "http://127.0.0.1:$cport/" \
	"${per_connection[@]}"

counters() {
	status | /usr/bin/python3 -c '
import json, sys
o = [x for x in json.load(sys.stdin)["observers"] if x["name"] == "network"][0]
print(o.get("emitted", "0"), o.get("ringbufFull", "0"), o.get("decoded", "0"))'
}

# One load against the unlimited observer with a client streaming some event types:
# LABEL URL "TYPE...", then extra wrk arguments.
keep_up() {
	local label=$1 url=$2 types=() err r
	read -ra types <<<"$3"
	shift 3
	err=$(mktemp)
	start_sensor --rate network=0
	$client --target 127.0.0.1:$port "${types[@]/#/--type=}" --batch 1000 --delay-ms 50 \
		--quiet --timeout 600 2>"$err" &
	cpid=$!
	sleep 0.5
	read -r e0 f0 d0 < <(counters)
	r=$(wrk_rate "$url" "$@")
	sleep 1
	read -r e1 f1 d1 < <(counters)
	stop_sensor
	echo "    $label: load $r requests/s; kernel records emitted $((e1 - e0)), ring buffer" \
		"full $((f1 - f0)), decoded $((d1 - d0)); $(sed 's/^tapio-events: //' "$err")"
	rm -f "$err"
}

echo "  the unlimited observer with one batched stream, $secs s each:"
keep_up "keep-alive HTTP, HTTP events" "http://127.0.0.1:$cport/" network_http
keep_up "a connection per request, connection events" "http://127.0.0.1:$cport/" \
	"network_connect network_accept network_close" "${per_connection[@]}"
