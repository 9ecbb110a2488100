#!/bin/bash
# The DNS observer (bench_dns.c is the client and, unless told otherwise, an instant
# responder). Figures only:
#   0. its user-space cost per lookup, without the kernel (synthetic records);
#   1. the latency a client doing back-to-back lookups sees without a sensor, with the
#      dns observer at its defaults (1000 events/s, 1:10 above 250 queries/s) and with it
#      unlimited (every lookup decoded and streamed); rounds alternate, medians printed;
#      with a sensor, also the time its programs ran per lookup (kernel BPF run-time
#      statistics: the cost added in the lookup's own path, which load elsewhere on the
#      machine does not blur the way it blurs latencies);
#   2. the same against dnsmasq, a real resolver on loopback, without a sensor and with
#      the observer at its defaults;
#   3. lookups/s the observer keeps up with without ring buffer loss: paced load at rising
#      rates against the unlimited observer with one batched C-client stream, and what
#      the kernel side emitted, lost to a full ring buffer, and the sensor decoded.
# DNS_BENCH_SECONDS (default 5) per run, DNS_BENCH_ROUNDS (default 3) latency rounds;
# TAPIO_BUILD_DIR (default build) the release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
port=50181
dnsport=5300
addr=127.53.1.1     # bench_dns's own responder
resolver=127.53.1.2 # dnsmasq
build=${TAPIO_BUILD_DIR:-build}
bench=$build/tests/bench/bench_dns
sensor=$build/sensor/tapio-sensor
client=$build/client_examples/tapio-events
secs=${DNS_BENCH_SECONDS:-5}
rounds=${DNS_BENCH_ROUNDS:-3}
# The client (and the server) on one CPU, the sensor on another: what is measured is the
# cost the observer adds in the client's own path (its programs run there), not the
# sensor's user-space work competing for the client's CPU.
client_cpu=0
sensor_cpu=$(($(nproc) > 1 ? 1 : 0))
spid=
cpid=
dpid=
runs=$(mktemp)

status() { $client --target 127.0.0.1:$port --status; }

start_sensor() {
	taskset -c "$sensor_cpu" $sensor --listen 127.0.0.1:$port --observers dns \
		--dns-ports $dnsport --log-level warn "$@" &
	spid=$!
	for _ in $(seq 200); do status >/dev/null 2>&1 && return; sleep 0.1; done
	echo "sensor did not start" >&2
	exit 1
}

stop() {
	local pid=$1

	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
}

stop_all() {
	[ -n "$cpid" ] && kill -INT "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null || true
	stop "$spid"
	stop "$dpid"
	cpid=
	spid=
	dpid=
	rm -f "$runs" "$runs.bpf"
}
trap stop_all EXIT

# Time the observer's two programs ran, summed, per lookup of the run that just ended
# (bench_dns held the kernel's BPF run-time statistics on while it ran; the newest
# programs of those names are this sensor's).
bpf_ns_per_lookup() {
	bpftool -j prog show | /usr/bin/python3 -c '
import json, sys
lookups = int(sys.argv[1])
progs = [p for p in json.load(sys.stdin) if p.get("name") in ("dns_egress", "dns_ingress")]
ns = sum(max((p for p in progs if p["name"] == n), key=lambda p: p["id"]).get("run_time_ns", 0)
         for n in ("dns_egress", "dns_ingress"))
print("%.0f" % (ns / max(lookups, 1)))' "$1"
}

# latency_run LABEL CONFIG [SERVER]: one back-to-back run, against SERVER (an external
# one) when given, else bench_dns's own responder; prints its mean
# latency in us. The full line goes to $runs, the programs' time per lookup (with a
# sensor) to $runs.bpf under CONFIG.
latency_run() {
	local line ns extra="" target=$addr mode=""

	if [ $# -ge 3 ]; then
		target=$3
		mode=external
	fi
	line=$(taskset -c "$client_cpu" $bench latency "$target" $dnsport "$secs" $mode)
	if [ -n "$spid" ]; then
		ns=$(bpf_ns_per_lookup "$(awk '{print $2}' <<<"$line")")
		echo "$2 $ns" >>"$runs.bpf"
		extra="; dns programs $ns ns/lookup"
	fi
	echo "    $1: $line$extra" >>"$runs"
	sed -E 's/.*latency mean ([0-9.]+) us.*/\1/' <<<"$line"
}

median() { sort -n | awk 'NF {v[++n] = $1} END {print v[int((n + 1) / 2)]}'; }

# Prints the runs so far and the medians of the latencies given (no sensor, defaults,
# optionally unlimited), then forgets the runs.
summary() {
	local b d u="${3:-}" bd bu

	cat "$runs"
	bd=$(awk '$1 == "defaults" {print $2}' "$runs.bpf" | median)
	bu=$(awk '$1 == "unlimited" {print $2}' "$runs.bpf" | median)
	b=$(tr ' ' '\n' <<<"$1" | median)
	d=$(tr ' ' '\n' <<<"$2" | median)
	awk -v b="$b" -v d="$d" -v bd="$bd" 'BEGIN {
		printf "  median mean latency: no sensor %.2f us; dns defaults %.2f us (%+.1f %%), " \
			"its programs %d ns per lookup (%.1f %% of the no-sensor latency)\n",
			b, d, (d - b) / b * 100, bd, bd / 10 / b }'
	if [ -n "$u" ]; then
		u=$(tr ' ' '\n' <<<"$u" | median)
		awk -v b="$b" -v u="$u" -v bu="$bu" 'BEGIN {
			printf "  median mean latency: dns unlimited %.2f us (%+.1f %%), its programs " \
				"%d ns per lookup (%.1f %%)\n", u, (u - b) / b * 100, bu, bu / 10 / b }'
	fi
	: >"$runs"
	: >"$runs.bpf"
}

echo "  user space, synthetic records, one core:"
echo "    $($bench decode 1000000)"

echo "  back-to-back lookups, instant responder, $secs s per run, $rounds rounds:"
base=""
dflt=""
unlim=""
for _ in $(seq "$rounds"); do
	base+=" $(latency_run "no sensor        " none)"
	start_sensor
	dflt+=" $(latency_run "dns, defaults    " defaults)"
	stop "$spid"
	start_sensor --rate dns=0 --sample dns=1
	unlim+=" $(latency_run "dns, unlimited   " unlimited)"
	stop "$spid"
	spid=
done
summary "$base" "$dflt" "$unlim"

echo "  back-to-back lookups, dnsmasq, $secs s per run, $rounds rounds:"
taskset -c "$client_cpu" /usr/sbin/dnsmasq --keep-in-foreground --conf-file=/dev/null \
	--no-resolv --no-hosts --pid-file= --user=root --bind-interfaces \
	--listen-address=$resolver --port=$dnsport --host-record=bench.test.tapio,10.0.0.9 &
dpid=$!
sleep 1
base=""
dflt=""
for _ in $(seq "$rounds"); do
	base+=" $(latency_run "no sensor        " none $resolver)"
	start_sensor
	dflt+=" $(latency_run "dns, defaults    " defaults $resolver)"
	stop "$spid"
	spid=
done
stop "$dpid"
dpid=
summary "$base" "$dflt"

echo "  paced lookups against the unlimited observer, one batched stream, $secs s each:"
start_sensor --rate dns=0 --sample dns=1
$client --target 127.0.0.1:$port --observer dns --batch 1000 --delay-ms 50 --quiet \
	--timeout 600 2>/dev/null &
cpid=$!
sleep 0.5
counters() {
	status | /usr/bin/python3 -c '
import json, sys
o = [x for x in json.load(sys.stdin)["observers"] if x["name"] == "dns"][0]
print(o.get("emitted", "0"), o.get("ringbufFull", "0"), o.get("decoded", "0"))'
}
for rate in 5000 10000 20000 40000 80000; do
	read -r e0 f0 d0 < <(counters)
	line=$(taskset -c "$client_cpu" $bench rate $addr $dnsport "$secs" $rate)
	sleep 0.5
	read -r e1 f1 d1 < <(counters)
	echo "    $line; records emitted $((e1 - e0)), ring buffer full $((f1 - f0))," \
		"decoded $((d1 - d0))"
done
grep -E "VmHWM" /proc/$spid/status | sed 's/^/  sensor /'
