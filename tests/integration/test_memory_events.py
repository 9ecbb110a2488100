"""Memory observer, end to end, as root: real memory cgroups made by the test, real
processes growing into their limits until the kernel's OOM killer ends them, real memory
pressure from page-cache thrashing in a small cgroup; the events arrive through the C
example client.

Every cgroup, process and file a test makes is removed at its end, also when it fails.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import pytest

from clients import EventClient, observer_status, wait_subscribers
from sensor_fixture import Sensor, sensor_binary

MiB = 1 << 20
V1_MEMORY = "/sys/fs/cgroup/memory"


def unified_mount():
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[2] == "cgroup2":
                return fields[1]
    return None


class MemoryCgroup:
    """A memory cgroup with a limit: on the v1 memory hierarchy when there is one (this
    hybrid host), else on cgroup v2. With twin=True it also gets a cgroup v2 twin of the
    same path (pressure files are cgroup v2 only), and processes join both."""

    def __init__(self, limit, twin=False):
        self.rel = f"/tapio-test-{uuid.uuid4().hex[:12]}"
        self.dirs = []
        unified = unified_mount()
        if os.path.isdir(V1_MEMORY):
            self.version = 1
            self.path = V1_MEMORY + self.rel
            limit_file, value = "memory.limit_in_bytes", str(limit)
        else:
            self.version = 2
            with open(unified + "/cgroup.subtree_control") as f:
                assert "memory" in f.read().split(), "cgroup v2 memory controller not enabled"
            self.path = unified + self.rel
            limit_file, value = "memory.max", str(limit)
        os.mkdir(self.path)
        self.dirs.append(self.path)
        self._write(self.path, limit_file, value)
        if self.version == 1:
            self._write(self.path, "memory.swappiness", "0")
        if twin and self.version == 1 and unified:
            os.mkdir(unified + self.rel)
            self.dirs.append(unified + self.rel)

    @staticmethod
    def _write(d, name, value):
        with open(os.path.join(d, name), "w") as f:
            f.write(value)

    def add(self, pid):
        for d in self.dirs:
            self._write(d, "cgroup.procs", str(pid))

    def remove(self):
        for d in reversed(self.dirs):
            for _ in range(100):
                try:
                    with open(os.path.join(d, "cgroup.procs")) as f:
                        for pid in f.read().split():
                            try:
                                os.kill(int(pid), signal.SIGKILL)
                            except ProcessLookupError:
                                pass
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                raise AssertionError(f"could not remove {d}")


@pytest.fixture
def cgroups():
    made = []
    yield lambda limit, twin=False: made.append(MemoryCgroup(limit, twin)) or made[-1]
    for cg in made:
        cg.remove()


@pytest.fixture
def procs():
    started = []
    yield lambda *a, **kw: started.append(subprocess.Popen(*a, **kw)) or started[-1]
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait()


# Grows 2 MiB of touched memory every 0.5 s once it reads a line on stdin.
GROWER = """
import sys, time
sys.stdin.readline()
keep = []
while True:
    b = bytearray(2 << 20)
    for i in range(0, len(b), 4096):
        b[i] = 1
    keep.append(b)
    time.sleep(0.5)
"""


def start_in(procs, cg, code, *args):
    """A python3 process that waits on stdin until it is in the cgroup, then runs code."""
    p = procs(["/usr/bin/python3", "-c", code, *args], stdin=subprocess.PIPE)
    cg.add(p.pid)
    p.stdin.write(b"go\n")
    p.stdin.flush()
    return p


def test_growing_cgroup_is_predicted_before_its_oom_kill(cgroups, procs):
    limit = 96 * MiB
    with Sensor("--observers", "memory", "--memory-sample-ms", "500",
                "--memory-predict-window", "6", "--memory-predict-horizon", "120") as sensor, \
            EventClient.c(sensor.address, "--type", "memory_oom_prediction",
                          "--type", "memory_oom_kill", "--timeout", "120") as client:
        wait_subscribers(sensor.address, 1)
        cg = cgroups(limit)
        p = start_in(procs, cg, GROWER)

        def about_cgroup(e):
            pr = e.get("memoryOomPrediction")
            return pr and pr["subject"] == "MEMORY_PREDICTION_SUBJECT_CGROUP" and \
                pr["cgroup"]["path"] == cg.rel

        pred = client.wait_for(about_cgroup, timeout=60)
        pr = pred["memoryOomPrediction"]
        assert pred["observer"] == "OBSERVER_MEMORY"
        assert pred["type"] == "EVENT_TYPE_MEMORY_OOM_PREDICTION"
        assert int(pr["cgroup"]["limitBytes"]) == limit
        assert pr["cgroup"]["cgroupVersion"] == cg.version
        assert int(pr["limitBytes"]) == limit
        assert 2 * MiB <= pr["growthBytesPerSec"] <= 8 * MiB, pr
        assert 0 < int(pr["timeToOomMs"]) <= 120_000
        assert int(pr["headroomBytes"]) == limit - int(pr["usageBytes"])
        assert pr["samples"] >= 5 and int(pr["windowMs"]) >= 3000

        proc_pred = client.wait_for(
            lambda e: e.get("memoryOomPrediction", {}).get("subject") ==
            "MEMORY_PREDICTION_SUBJECT_PROCESS" and e["process"]["pid"] == p.pid, timeout=30)
        assert proc_pred["memoryOomPrediction"]["cgroup"]["path"] == cg.rel
        assert proc_pred["process"]["comm"] == "python3"

        kill = client.wait_for(lambda e: e["type"] == "EVENT_TYPE_MEMORY_OOM_KILL" and
                               e["process"]["pid"] == p.pid, timeout=90)
        assert p.wait(10) == -signal.SIGKILL
        assert int(pred["seq"]) < int(kill["seq"]), "the prediction came first"
        k = kill["memoryOomKill"]
        assert kill["process"]["comm"] == "python3"
        assert k["scope"] == "MEMORY_OOM_SCOPE_CGROUP"
        assert k["cgroup"]["path"] == cg.rel
        assert k["victimCgroup"]["path"] == cg.rel
        assert int(k["cgroup"]["limitBytes"]) == limit
        assert limit - 2 * MiB <= int(k["cgroup"]["usageBytes"]) <= limit
        assert int(k["anonRssBytes"]) >= limit // 2
        assert int(k["rssBytes"]) >= int(k["anonRssBytes"])
        assert k["triggerPid"] == p.pid
        assert k["triggerComm"] == "python3"
        assert int(k["nodeMemoryBytes"]) == os.sysconf("SC_PAGE_SIZE") * \
            os.sysconf("SC_PHYS_PAGES")
        st = observer_status(sensor.address, "memory")
        assert st.state == "running" and st.decoded >= 1, "the kill record"
    assert sensor.exit_code == 0, sensor.log


# Holds 40 MiB of anonymous memory in its 64 MiB cgroup and reads a 96 MiB file over and
# over: every read charges page cache the cgroup must reclaim first.
THRASHER = """
import sys, time
sys.stdin.readline()
hold = bytearray(40 << 20)
for i in range(0, len(hold), 4096):
    hold[i] = 1
end = time.time() + 60
while time.time() < end:
    with open(sys.argv[1], "rb") as f:
        while f.read(1 << 20):
            pass
"""


@pytest.fixture
def cold_file():
    path = f"/var/tmp/tapio-test-{uuid.uuid4().hex[:12]}.dat"
    try:
        with open(path, "wb") as f:
            f.write(os.urandom(MiB) * 96)
            f.flush()
            os.fsync(f.fileno())
            # Out of the page cache, so the thrasher's reads are charged to its cgroup.
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        yield path
    finally:
        os.unlink(path)


def stalled_pids(e):
    return {s["pid"]: s for s in e["memoryPressure"].get("stalled", [])}


def test_thrashing_cgroup_produces_pressure_and_reclaim_stalls(cgroups, procs, cold_file):
    with Sensor("--observers", "memory", "--memory-sample-ms", "500",
                "--memory-psi-stall-us", "50000", "--memory-reclaim-min-us", "0") as sensor, \
            EventClient.c(sensor.address, "--type", "memory_pressure",
                          "--type", "memory_reclaim_stall", "--timeout", "120") as client:
        wait_subscribers(sensor.address, 1)
        st = observer_status(sensor.address, "memory")
        assert any("psi triggers" in a for a in st.attached), st
        cg = cgroups(64 * MiB, twin=True)
        p = start_in(procs, cg, THRASHER, cold_file)

        stall = client.wait_for(lambda e: e["type"] == "EVENT_TYPE_MEMORY_RECLAIM_STALL" and
                                e["process"]["pid"] == p.pid, timeout=60)
        r = stall["memoryReclaimStall"]
        assert r["kind"] == "MEMORY_RECLAIM_KIND_CGROUP"
        assert int(r["durationNs"]) > 0
        assert stall["process"]["comm"] == "python3"

        node = client.wait_for(lambda e: e["type"] == "EVENT_TYPE_MEMORY_PRESSURE" and
                               not e["memoryPressure"].get("cgroupPath") and
                               p.pid in stalled_pids(e), timeout=60)
        m = node["memoryPressure"]
        assert m["stage"] in ("MEMORY_PRESSURE_STAGE_SOME", "MEMORY_PRESSURE_STAGE_FULL")
        assert int(m["thresholdUs"]) == 50000 and int(m["windowUs"]) == 2000000
        assert int(m["totalUs"]) > 0
        me = stalled_pids(node)[p.pid]
        assert me["comm"] == "python3" and int(me["stallNs"]) > 0 and me["stalls"] > 0
        assert "process" not in node, "a node-wide event is about no one process"

        if len(cg.dirs) == 2 or cg.version == 2:
            ev = client.wait_for(lambda e: e["type"] == "EVENT_TYPE_MEMORY_PRESSURE" and
                                 e["memoryPressure"].get("cgroupPath") == cg.rel, timeout=60)
            assert int(ev["memoryPressure"]["cgroupId"]) == os.stat(
                unified_mount() + cg.rel).st_ino
            assert set(stalled_pids(ev)) <= {p.pid}, "only processes of that cgroup"
        assert p.poll() is None, "thrashing, not OOM"
    assert sensor.exit_code == 0, sensor.log


def test_status_names_attachments_and_counters():
    with Sensor("--observers", "memory", "--memory-psi-stall-us", "0",
                "--memory-sample-ms", "0") as sensor:
        st = observer_status(sensor.address, "memory")
        assert st.state == "running"
        assert st.rate_limit_per_sec == 500
        assert st.ringbuf_bytes == 512 * 1024
        attached = " ".join(st.attached)
        for prog in ("raw_tp/mark_victim", "raw_tp/signal_generate",
                     "raw_tp/mm_vmscan_direct_reclaim_begin",
                     "raw_tp/mm_vmscan_memcg_reclaim_end"):
            assert prog in attached, attached
        skipped = {s.program: s.reason for s in st.skipped}
        assert "off" in skipped["psi"] and "off" in skipped["oom prediction"], skipped
        assert "--memory-track" in skipped["allocation tracking"], skipped
        assert [c.name for c in st.counters] == [
            "oom_not_killed", "cgroup_chain_truncated", "reclaim_track_full",
            "reclaim_unmatched", "reclaim_short", "stall_table_full", "alloc_map_full",
            "alloc_stack_lost", "alloc_sites_full", "alloc_pending_full", "user_untracked",
            "alloc_frees_inferred"]
    assert sensor.exit_code == 0, sensor.log


def test_self_test_causes_a_real_oom_kill_and_cleans_up():
    hierarchy = V1_MEMORY if os.path.isdir(V1_MEMORY) else unified_mount()
    for extra in ([], ["--perf-buffer"]):
        r = subprocess.run([sensor_binary(), "--self-test", "--observers", "memory", *extra],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        line = [ln for ln in r.stdout.splitlines() if ln.startswith("memory ")][0]
        assert "PASS" in line and "oom kill of pid" in line, line
        assert f"v{1 if hierarchy == V1_MEMORY else 2}" in line
        assert not [d for d in os.listdir(hierarchy) if d.startswith("tapio-selftest-")]


# ---- allocation tracking ------------------------------------------------------------

HERE = os.path.dirname(os.path.abspath(__file__))
LEAKER_SRC = os.path.join(HERE, "mem_leaker.c")


def source_line(text):
    """The line number of the first line of mem_leaker.c that holds text."""
    with open(LEAKER_SRC) as f:
        for n, line in enumerate(f, 1):
            if text in line:
                return n
    raise AssertionError(f"{text!r} not in {LEAKER_SRC}")


@pytest.fixture(scope="module")
def leaker():
    d = tempfile.mkdtemp(prefix="tapio-leaker-")
    try:
        exe = os.path.join(d, "mem_leaker")
        subprocess.run(["gcc", "-O0", "-g", "-fno-omit-frame-pointer", "-o", exe, LEAKER_SRC],
                       check=True)
        yield exe
    finally:
        shutil.rmtree(d)


def start_leaker(procs, exe, mode, prefix=()):
    return procs([*prefix, exe, mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def go(p):
    p.stdin.write(b"go\n")
    p.stdin.flush()


def first_frame(site):
    frames = site.get("frames", [])
    return frames[0] if frames else {}


def site_of(report, function):
    for s in report.get("sites", []):
        if first_frame(s).get("function") == function:
            return s
    return None


def check_fixed_report(client, pid):
    """Waits for the report that shows all of leak_here's blocks, and checks it."""
    ev = client.wait_for(
        lambda e: e["process"]["pid"] == pid and
        (site_of(e["memoryAllocationReport"], "leak_here") or {}).get("outstandingBytes") ==
        "100000", timeout=30)
    assert ev["type"] == "EVENT_TYPE_MEMORY_ALLOCATION_REPORT"
    assert ev["process"]["comm"] == "mem_leaker"
    r = ev["memoryAllocationReport"]
    leak = site_of(r, "leak_here")
    assert leak["outstandingAllocations"] == "100"
    assert leak["allocations"] == "100" and leak["allocatedBytes"] == "100000"
    top = first_frame(leak)
    assert top["module"] == "mem_leaker" and top["file"] == "mem_leaker.c"
    assert top["line"] == source_line("/* site: leak_here */")
    assert [f.get("function") for f in leak["frames"][:2]] == ["leak_here", "main"]
    assert r.get("sampleEvery") == 1
    # churn() freed all it allocated: no site of it has outstanding bytes, and nothing
    # else is as large as the leak.
    assert site_of(r, "churn") is None, r
    assert r["sites"][0] is leak
    assert int(r["outstandingBytes"]) < 100000 + 64 * 1024
    return ev


def test_leak_report_names_the_leaking_function(leaker, procs):
    p = start_leaker(procs, leaker, "fixed")
    with Sensor("--observers", "memory", "--memory-track", f"pid:{p.pid}",
                "--memory-report-interval", "1", "--memory-sample-ms", "0") as sensor, \
            EventClient.c(sensor.address, "--type", "memory_allocation_report",
                          "--timeout", "60") as client:
        wait_subscribers(sensor.address, 1)
        assert "tracking allocations of pid %d" % p.pid in sensor.log
        go(p)
        assert p.stdout.readline() == b"done\n"
        check_fixed_report(client, p.pid)
        st = observer_status(sensor.address, "memory")
        assert any("libc uprobes" in a for a in st.attached), st
        assert sensor_probe_links(sensor.proc.pid) == 10, "malloc, calloc, realloc, " \
            "mmap (entries and returns), free and munmap"
        p.stdin.close()
        assert p.wait(10) == 0
        # An exited process leaves tracking: its probes go (in a thread: the sensor's loop
        # does not wait a grace period per link), its reports stop.
        wait_log(sensor, f"memory: pid {p.pid} untracked, its probes gone in ")
        assert sensor_probe_links(sensor.proc.pid) == 0
        n = len(client.events)
        time.sleep(2)
        assert len(client.events) == n
    assert sensor.exit_code == 0, sensor.log


def test_steady_leak_is_a_leak_suspect(leaker, procs):
    p = start_leaker(procs, leaker, "steady")
    with Sensor("--observers", "memory", "--memory-track", f"pid:{p.pid}",
                "--memory-report-interval", "1", "--memory-leak-window", "4",
                "--memory-sample-ms", "0") as sensor, \
            EventClient.c(sensor.address, "--type", "memory_leak_suspect",
                          "--timeout", "60") as client:
        wait_subscribers(sensor.address, 1)
        go(p)
        ev = client.wait_for(lambda e: e["process"]["pid"] == p.pid, timeout=30)
        s = ev["memoryLeakSuspect"]
        assert ev["type"] == "EVENT_TYPE_MEMORY_LEAK_SUSPECT"
        assert first_frame(s["site"])["function"] == "leak_slowly"
        assert first_frame(s["site"])["line"] == source_line("/* site: leak_slowly */")
        # 8 KiB every ~100 ms (plus the churn's time): up to 80 KiB/s.
        assert 20_000 <= s["growthBytesPerSec"] <= 90_000, s
        assert int(s["grownBytes"]) >= 3 * 20_000
        assert int(s["windowMs"]) >= 3600 and s["samples"] >= 4
        assert int(s["site"]["outstandingBytes"]) % 8192 == 0
        # Only the leaking site is suspected: churn() frees what it takes.
        time.sleep(2)
        assert all(first_frame(e["memoryLeakSuspect"]["site"])["function"] == "leak_slowly"
                   for e in client.events)
    assert sensor.exit_code == 0, sensor.log


def test_time_sampled_tracking_still_finds_a_steady_leak(leaker, procs):
    """--memory-alloc-duty: probes attached 20 % of the time (200 ms windows, each
    followed by the time malloc's and free's probes take to go); the figures are
    estimates, scaled by the share of the time allocations were tracked."""
    p = start_leaker(procs, leaker, "steady")
    with Sensor("--observers", "memory", "--memory-track", f"pid:{p.pid}",
                "--memory-alloc-duty", "20", "--memory-alloc-window", "200",
                "--memory-report-interval", "1", "--memory-leak-window", "12",
                "--memory-sample-ms", "0") as sensor, \
            EventClient.c(sensor.address, "--type", "memory_leak_suspect",
                          "--type", "memory_allocation_report", "--timeout", "90") as client:
        wait_subscribers(sensor.address, 1)
        st = observer_status(sensor.address, "memory")
        assert any("attached 20 % of the time in 200 ms windows" in a
                   for a in st.attached), st.attached
        go(p)
        ev = client.wait_for(lambda e: e["type"] == "EVENT_TYPE_MEMORY_LEAK_SUSPECT" and
                             e["process"]["pid"] == p.pid, timeout=60)
        s = ev["memoryLeakSuspect"]
        assert first_frame(s["site"])["function"] == "leak_slowly"
        # The leak is 8 KiB every ~100 ms, about 80 KiB/s (the full-time test measures
        # it); scaled up from the windows, the estimate lands near it.
        assert 30_000 <= s["growthBytesPerSec"] <= 160_000, s
        reports = [e["memoryAllocationReport"] for e in client.events
                   if e["type"] == "EVENT_TYPE_MEMORY_ALLOCATION_REPORT"]
        assert reports and min(r["trackedTimePercent"] for r in reports) < 20.0
        for r in reports:
            # 200 ms of allocations tracked per period of (200 ms + the time the last
            # window's probes took to go) / 20 %: at most 20 % of the time (the first
            # period, before any probe went), more than a few.
            assert 2.0 < r["trackedTimePercent"] <= 20.0, r
            assert r["sampleEvery"] == 1
        # churn() frees what it takes within the window; what it had in hand when a
        # window closed is taken off the books once its memory comes back: never a
        # suspect.
        time.sleep(4)
        assert all(first_frame(e["memoryLeakSuspect"]["site"])["function"] == "leak_slowly"
                   for e in client.events if e["type"] == "EVENT_TYPE_MEMORY_LEAK_SUSPECT")
    assert sensor.exit_code == 0, sensor.log


def test_selection_by_cgroup_and_pid_namespace(leaker, procs, cgroups):
    cg = cgroups(1 << 40)
    in_cg = start_leaker(procs, leaker, "fixed")
    cg.add(in_cg.pid)
    # A leaker in a PID namespace of its own (unshare forks it as that namespace's pid 1).
    in_ns = start_leaker(procs, leaker, "fixed",
                         prefix=("unshare", "--pid", "--fork", "--kill-child"))
    ns_pid = wait_for_child(in_ns.pid)
    ns_inode = os.stat(f"/proc/{ns_pid}/ns/pid").st_ino
    assert ns_inode != os.stat("/proc/self/ns/pid").st_ino
    with Sensor("--observers", "memory", "--memory-track", f"cgroup:{cg.rel}",
                "--memory-track", f"pidns:{ns_inode}", "--memory-report-interval", "1",
                "--memory-sample-ms", "0") as sensor, \
            EventClient.c(sensor.address, "--type", "memory_allocation_report",
                          "--timeout", "60") as client:
        wait_subscribers(sensor.address, 1)
        wait_log(sensor, f"tracking allocations of pid {in_cg.pid}")
        wait_log(sensor, f"tracking allocations of pid {ns_pid}")
        go(in_cg)
        go(in_ns)
        assert in_cg.stdout.readline() == b"done\n"
        assert in_ns.stdout.readline() == b"done\n"
        check_fixed_report(client, in_cg.pid)
        check_fixed_report(client, ns_pid)
        assert {e["process"]["pid"] for e in client.events} == {in_cg.pid, ns_pid}, \
            "unshare itself (not in the namespace, no allocations after) is not reported"
    assert sensor.exit_code == 0, sensor.log


def wait_for_child(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"no child of {pid}")


def wait_log(sensor, text, timeout=15):
    deadline = time.monotonic() + timeout
    while text not in sensor.log:
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{sensor.log}"
        time.sleep(0.05)


def sensor_prog_ids(sensor_pid):
    """Ids of the BPF programs the sensor holds open (from its fds' fdinfo)."""
    ids = set()
    fdinfo = f"/proc/{sensor_pid}/fdinfo"
    for fd in os.listdir(fdinfo):
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                m = re.search(r"^prog_id:\s*(\d+)", f.read(), re.MULTILINE)
        except OSError:
            continue
        if m:
            ids.add(int(m.group(1)))
    return ids


def sensor_probe_links(sensor_pid):
    """How many perf events (what libbpf attaches the uprobes through) the sensor holds."""
    n = 0
    fds = f"/proc/{sensor_pid}/fd"
    for fd in os.listdir(fds):
        try:
            n += os.readlink(os.path.join(fds, fd)) == "anon_inode:[perf_event]"
        except OSError:
            pass
    return n


def bpf_run_counts(sensor_pid):
    """run_cnt of the sensor's allocation programs (kernel.bpf_stats_enabled must be 1)."""
    counts = {}
    for pid in sorted(sensor_prog_ids(sensor_pid)):
        out = subprocess.run(["bpftool", "prog", "show", "id", str(pid), "-j"], check=True,
                             capture_output=True, text=True).stdout
        prog = json.loads(out)
        if prog.get("name", "").startswith("alloc_"):
            counts[prog["name"]] = prog.get("run_cnt", 0)
    return counts


@pytest.fixture
def bpf_stats():
    path = "/proc/sys/kernel/bpf_stats_enabled"
    with open(path) as f:
        old = f.read().strip()
    with open(path, "w") as f:
        f.write("1")
    yield
    with open(path, "w") as f:
        f.write(old)


def test_unselected_process_costs_nothing(leaker, procs, bpf_stats):
    tracked = start_leaker(procs, leaker, "fixed")
    with Sensor("--observers", "memory", "--memory-track", f"pid:{tracked.pid}",
                "--memory-report-interval", "1", "--memory-sample-ms", "0") as sensor:
        wait_log(sensor, f"tracking allocations of pid {tracked.pid}")
        before = bpf_run_counts(sensor.proc.pid)
        assert set(before) == {"alloc_malloc", "alloc_calloc", "alloc_realloc", "alloc_mmap",
                               "alloc_ret", "alloc_mmap_ret", "alloc_free",
                               "alloc_munmap"}, before
        # 200000 malloc/free pairs in a process nobody selected: no probe runs.
        spin = subprocess.run([leaker, "spin", "200000"], capture_output=True, check=True)
        assert spin.stdout == b"done\n"
        assert bpf_run_counts(sensor.proc.pid) == before
        # The tracked one's allocations do run them (the counts are live).
        go(tracked)
        assert tracked.stdout.readline() == b"done\n"
        after = bpf_run_counts(sensor.proc.pid)
        assert after["alloc_malloc"] - before["alloc_malloc"] >= 100 + 1000
        assert after["alloc_free"] - before["alloc_free"] >= 3000
    assert sensor.exit_code == 0, sensor.log
