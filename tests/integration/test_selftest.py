"""`tapio-sensor --self-test` on this host: the preflight table, the perf buffer fallback,
and --btf with the right and with a wrong kernel's BTF (a wrong BTF loads without a word
and reads garbage: the self-test is what catches it)."""

import lzma
import os
import shutil
import subprocess
import tempfile

import pytest

from sensor_fixture import sensor_binary


def self_test(*args):
    return subprocess.run([sensor_binary(), "--self-test", *args], capture_output=True,
                          text=True, timeout=180, stdin=subprocess.DEVNULL)


def registered_observers():
    """The observers --help lists: every one has a self-test case."""
    out = subprocess.run([sensor_binary(), "--help"], capture_output=True, text=True).stdout
    return out.split("\nObservers (")[1].split("\n\n")[0].splitlines()[1:]


def btf_dir():
    for d in (os.environ.get("TAPIO_BTF_DIR", ""),
              os.path.join(os.environ.get("TAPIO_SOURCE_DIR", "."), "..", "shared", "btf"),
              "/work/shared/btf"):
        if d and os.path.isfile(os.path.join(d, "vmlinux-5.10.btf.xz")):
            return d
    return None


def test_table_and_exit_status():
    r = self_test()
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert out.startswith(f"tapio-sensor self-test on {os.uname().release} (BPF ring buffer)")
    assert "\nprocess    PASS fork, exec, exit of pid " in out
    assert "attached handle_exec (raw_tp/sched_process_exec)" in out
    assert "skipped  fork_failed_fexit (fexit/kernel_clone): " in out
    n = len(registered_observers())
    assert n >= 1
    assert out.rstrip().endswith(f"self-test PASSED: {n} observer(s) checked, 0 failed")
    for feature in ("btf", "ringbuf", "perf_buffer", "tracepoint", "raw_tracepoint", "tp_btf",
                    "kprobe", "fentry", "lsm", "uprobe", "coarse_clock"):
        assert f"\n  {feature:<15} " in out


def test_perf_buffer_forced():
    r = self_test("--perf-buffer")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "(perf buffer instead of ring buffer)" in r.stdout
    assert "self-test PASSED" in r.stdout


def test_btf_file_of_this_kernel_passes():
    with tempfile.NamedTemporaryFile(suffix=".btf") as f:
        shutil.copyfile("/sys/kernel/btf/vmlinux", f.name)
        r = self_test("--btf", f.name)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "btf             yes " + f.name in r.stdout


def test_btf_of_another_kernel_is_caught():
    d = btf_dir()
    if not d:
        pytest.skip("no BTF files of other kernels here (../shared/btf)")
    with tempfile.NamedTemporaryFile(suffix=".btf") as f:
        f.write(lzma.open(os.path.join(d, "vmlinux-5.10.btf.xz")).read())
        f.flush()
        r = self_test("--observers", "process", "--btf", f.name)
    assert r.returncode == 1
    assert "\nprocess    FAIL " in r.stdout
    assert "self-test FAILED: 1 observer(s) checked, 1 failed" in r.stdout
