"""The figures behind tests/bench/bench_memory_tracking.sh (see there).

bench_alloc churn N: N malloc/free pairs (16-4096 bytes, 1024 live blocks), timed inside
the program, so start-up and attach time are not counted. Each configuration runs
RUNS times; the median is printed with the slowdown against no sensor at all.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("TAPIO_BUILD_DIR", os.path.join(TOP, "build"))
SENSOR = os.path.join(BUILD, "sensor", "tapio-sensor")
BENCH = os.path.join(BUILD, "tests", "bench", "bench_alloc")
OPS = int(os.environ.get("BENCH_ALLOC_OPS", "1000000"))
RUNS = int(os.environ.get("BENCH_ALLOC_RUNS", "3"))
DUTIES = [float(d) for d in os.environ.get("BENCH_ALLOC_DUTIES", "5 1").split()]
PORT = 50181


class Tracker:
    """The sensor, memory observer only, tracking one pid (or another, unrelated one)."""

    def __init__(self, pid, sample, duty=None):
        self.log = open(f"/tmp/tapio-bench-sensor-{os.getpid()}.log", "w+")
        extra = ["--memory-alloc-duty", str(duty)] if duty is not None else []
        self.proc = subprocess.Popen(
            [SENSOR, "--listen", f"127.0.0.1:{PORT}", "--observers", "memory",
             "--memory-track", f"pid:{pid}", "--memory-alloc-sample", str(sample),
             "--memory-sample-ms", "0", "--memory-psi-stall-us", "0",
             "--memory-report-interval", "1", *extra],
            stdout=self.log, stderr=subprocess.STDOUT)

    def wait_log(self, text, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            self.log.seek(0)
            if text in self.log.read():
                return
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.log.seek(0)
                sys.exit(f"sensor: {text!r} not seen:\n{self.log.read()}")
            time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()
        os.unlink(self.log.name)


def churn(sample=None, unrelated=False, duty=None, ms=None):
    """ns per malloc+free pair (OPS of them, or for ms milliseconds); tracked at
    `sample` (and `duty`) when given."""
    args = ["churn-for", str(ms)] if ms else ["churn", str(OPS)]
    p = subprocess.Popen([BENCH, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    t = None
    if sample is not None:
        target = os.getpid() if unrelated else p.pid
        t = Tracker(target, sample, duty)
        t.wait_log("ready" if unrelated else f"tracking allocations of pid {p.pid}")
    p.stdin.write("go\n")
    p.stdin.flush()
    out = p.stdout.readline()
    p.stdin.close()
    p.wait()
    if t:
        t.stop()
    return float(out.split()[1])


def median(f, *a, **kw):
    return statistics.median(f(*a, **kw) for _ in range(RUNS))


def sensor_maps(pid):
    """(name, bytes_memlock, entries) of the BPF maps the sensor holds."""
    maps = []
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                m = re.search(r"^map_id:\s*(\d+)", f.read(), re.MULTILINE)
        except OSError:
            continue
        if not m:
            continue
        info = json.loads(subprocess.run(["bpftool", "map", "show", "id", m.group(1), "-j"],
                                         capture_output=True, text=True, check=True).stdout)
        maps.append((info.get("name", "?"), int(info.get("bytes_memlock", 0)), m.group(1)))
    return maps


def map_entries(map_id):
    out = subprocess.run(["bpftool", "map", "dump", "id", map_id, "-j"], capture_output=True,
                         text=True, check=True).stdout
    return len(json.loads(out))


def full_map():
    """Sensor memory with more outstanding blocks than the 10K map holds."""
    p = subprocess.Popen([BENCH, "hold", "12000"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    t = Tracker(p.pid, 1)
    t.wait_log(f"tracking allocations of pid {p.pid}")
    p.stdin.write("go\n")
    p.stdin.flush()
    assert p.stdout.readline().startswith("held")
    time.sleep(2.5)  # at least one report (1 s interval): symbolization included
    with open(f"/proc/{t.proc.pid}/status") as f:
        status = dict(line.split(":", 1) for line in f if ":" in line)
    maps = sensor_maps(t.proc.pid)
    allocs = [m for m in maps if m[0] == "mem_allocs"]
    entries = map_entries(allocs[0][2]) if allocs else 0
    p.stdin.close()
    p.wait()
    t.stop()
    print(f"  12000 blocks held, mem_allocs holds {entries} (capacity 10240; the rest "
          "counted as alloc_map_full)")
    print(f"  sensor VmRSS {status['VmRSS'].strip()}, VmHWM {status['VmHWM'].strip()}")
    total = sum(m[1] for m in maps)
    print(f"  BPF maps of the sensor: {total / 1048576:.1f} MiB locked kernel memory in "
          f"{len(maps)} maps; the memory observer's largest:")
    for name, memlock, _ in sorted(maps, key=lambda m: -m[1])[:6]:
        print(f"    {name:<24} {memlock / 1024:8.0f} KiB")


def main():
    if os.geteuid() != 0:
        sys.exit("bench_memory_tracking: needs root (it loads BPF programs)")
    base = median(churn)
    rows = [("no sensor", base),
            ("sensor tracking another pid", median(churn, 1, unrelated=True))]
    for sample in (1, 16, 256):
        rows.append((f"tracked, --memory-alloc-sample {sample}", median(churn, sample)))
    print(f"  bench_alloc churn {OPS} (malloc+free pairs, 16-4096 B), median of {RUNS}:")
    for name, ns in rows:
        print(f"    {name:<36} {ns:8.1f} ns/op  {100 * (ns - base) / base:+8.1f} %")
    duty_rows()
    full_map()


def duty_rows():
    """Time-sampled: the cost comes in windows (100 ms, plus the ~0.3 s malloc's and
    free's probes take to go), so a run lasts whole periods of the duty: two when they
    are short, one when they are minutes long."""
    print("  time-sampled (--memory-alloc-duty, 100 ms windows), one run of whole periods "
          "each, against an untracked run of the same length:")
    for duty in DUTIES:
        period = 400 * 100 / duty
        ms = int(period * (2 if period < 60000 else 1))
        plain = churn(ms=ms)
        ns = churn(1, duty=duty, ms=ms)
        slowdown = 100 * (ns - plain) / plain  # throughput over whole periods
        print(f"    --memory-alloc-duty {duty:<6} {ms / 1000:6.0f} s  {plain:6.1f} -> "
              f"{ns:6.1f} ns/op  {slowdown:+8.1f} %")


if __name__ == "__main__":
    main()
