"""The memory observer under valgrind: allocation tracking of a real process (uprobes,
BPF map walks, libdw symbolization, reports), OOM prediction sampling and an OOM kill in a
memory cgroup (record decoding), the tracked process's exit (its probes destroyed in a
thread), then a stop on SIGTERM. Any memory error or leak makes
valgrind exit 99."""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from clients import EventClient, wait_subscribers  # noqa: E402
from sensor_fixture import Sensor  # noqa: E402
from test_memory_events import GROWER, LEAKER_SRC, MemoryCgroup, wait_log  # noqa: E402
from test_valgrind import VALGRIND  # noqa: E402


def test_memory_observer_under_valgrind():
    d = tempfile.mkdtemp(prefix="tapio-vg-")
    exe = os.path.join(d, "mem_leaker")
    subprocess.run(["gcc", "-O0", "-g", "-fno-omit-frame-pointer", "-o", exe, LEAKER_SRC],
                   check=True)
    leaker = subprocess.Popen([exe, "fixed"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    cg = MemoryCgroup(48 << 20)
    grower = None
    s = Sensor("--observers", "memory", "--memory-track", f"pid:{leaker.pid}",
               "--memory-report-interval", "1", "--memory-sample-ms", "500",
               "--memory-predict-window", "4", wrapper=VALGRIND, start_timeout=180)
    try:
        with EventClient.c(s.address, "--type", "memory_allocation_report",
                           "--type", "memory_oom_kill", "--timeout", "300") as c:
            wait_subscribers(s.address, 1, timeout=60)
            leaker.stdin.write(b"go\n")
            leaker.stdin.flush()
            assert leaker.stdout.readline() == b"done\n"
            c.wait_for(lambda e: e["type"] == "EVENT_TYPE_MEMORY_ALLOCATION_REPORT" and
                       any(f.get("function") == "leak_here"
                           for st in e["memoryAllocationReport"]["sites"]
                           for f in st.get("frames", [])[:1]), timeout=120)
            # The tracked process exits: its probes go in a thread of their own.
            leaker.stdin.close()
            assert leaker.wait(10) == 0
            wait_log(s, f"memory: pid {leaker.pid} untracked, its probes gone in ", timeout=60)
            grower = subprocess.Popen(["/usr/bin/python3", "-c", GROWER],
                                      stdin=subprocess.PIPE)
            cg.add(grower.pid)
            grower.stdin.write(b"go\n")
            grower.stdin.flush()
            c.wait_for(lambda e: e["type"] == "EVENT_TYPE_MEMORY_OOM_KILL" and
                       e["process"]["pid"] == grower.pid, timeout=120)
    finally:
        code = s.stop(timeout=180)
        for p in (leaker, grower):
            if p and p.poll() is None:
                p.kill()
            if p:
                p.wait()
        cg.remove()
        shutil.rmtree(d)
    assert code == 0, s.log
