#!/bin/bash
# End to end under an exec/fork storm: the real sensor (rate limit off), the kernel, one
# batched C-client stream. Prints what the kernel side emitted, what reached the client,
# every loss by reason, and the sensor's RSS.
set -euo pipefail
cd "$(dirname "$0")/../.."
port=50171
sensor=build/sensor/tapio-sensor
client=build/client_examples/tapio-events
status() { build/client_examples/tapio-events --target 127.0.0.1:$port --status; }

$sensor --listen 127.0.0.1:$port --observers process --rate process=0 --log-level warn &
spid=$!
trap 'kill $spid 2>/dev/null; wait $spid 2>/dev/null || true' EXIT
for _ in $(seq 100); do status >/dev/null 2>&1 && break; sleep 0.1; done
$client --target 127.0.0.1:$port --batch 1000 --delay-ms 50 --quiet --timeout 30 \
	--observer process 2>/tmp/tapio-storm-client.txt &
cpid=$!
sleep 0.5
build/tests/bench/storm 20000 2
sleep 1
kill -INT $cpid
wait $cpid || true
status | /usr/bin/python3 -c '
import json, sys
s = json.loads(sys.stdin.read())
o = [x for x in s["observers"] if x["name"] == "process"][0]
print("  kernel side emitted %s, decoded %s; ring buffer full %s, rate limited %s" % (
    o.get("emitted", "0"), o.get("decoded", "0"), o.get("ringbufFull", "0"),
    o.get("rateLimited", "0")))
print("  subscriber queue drops: %s" % s.get("subscriberDrops", "0"))'
cat /tmp/tapio-storm-client.txt
rm -f /tmp/tapio-storm-client.txt
grep -E "VmRSS|VmHWM" /proc/$spid/status | sed 's/^/  sensor /'
