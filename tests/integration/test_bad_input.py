"""Bad input gets one line on stderr that names the problem, and a non-zero exit, before
anything is loaded into the kernel."""

import os
import socket
import subprocess
import tempfile

import pytest

from sensor_fixture import Sensor, sensor_binary


def run(*args, timeout=30):
    return subprocess.run([sensor_binary(), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def one_error_line(r, text):
    lines = r.stderr.splitlines()
    assert lines == [f"tapio-sensor: error: {text}"], r.stderr
    assert r.stdout == ""


def test_unknown_flag():
    r = run("--frobnicate")
    assert r.returncode == 2
    one_error_line(r, "unknown flag '--frobnicate' (see --help)")


def test_bad_flag_value():
    r = run("--rate", "process=fast")
    assert r.returncode == 2
    one_error_line(r, "--rate process=fast: expected events/s 0-10000000 (0 = unlimited)")


def test_malformed_config_file():
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        f.write("listen = 127.0.0.1:7000\nqueue-size 12\n")
        f.flush()
        r = run("--config", f.name)
        assert r.returncode == 2
        one_error_line(r, f"config {f.name}:2: expected 'name = value'")


def test_unreachable_listen_address():
    # 192.0.2.1 (TEST-NET-1) is on no interface of this machine: bind fails (--insecure:
    # else the plaintext rule refuses it first).
    r = run("--listen", "192.0.2.1:50051", "--insecure")
    assert r.returncode == 1
    one_error_line(r, "cannot listen on 192.0.2.1:50051 (address in use, not local, or not "
                      "resolvable)")


def test_listen_address_in_use():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        addr = f"127.0.0.1:{s.getsockname()[1]}"
        r = run("--listen", addr)
    assert r.returncode == 1
    one_error_line(r, f"cannot listen on {addr} (address in use, not local, or not resolvable)")


def test_missing_btf_file():
    r = run("--btf", "/nonexistent/vmlinux.btf")
    assert r.returncode == 2
    one_error_line(r, "BTF file /nonexistent/vmlinux.btf: No such file or directory")


def test_help_documents_every_flag():
    r = run("--help")
    assert r.returncode == 0
    for flag in ["--config", "--listen", "--node-name", "--observers", "--rate", "--sample",
                 "--ringbuf", "--perf-buffer", "--btf", "--proc-cache-size", "--queue-size",
                 "--max-subscribers", "--log-level", "--self-test", "--help", "--version"]:
        assert f"  {flag}" in r.stdout, flag


def test_config_file_is_used():
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        f.write("# a node's settings\nrate = process=42\nnode-name = from-config\n")
        f.flush()
        with Sensor("--config", f.name) as s:
            from clients import status
            st = status(s.address)
            assert st.node == "from-config"
            assert [o.rate_limit_per_sec for o in st.observers if o.name == "process"] == [42]
            assert s.stop() == 0
