"""UDP flows of the network observer under valgrind: the release sensor attaches its cgroup
programs, sweeps the kernel's flow and socket tables every second (a summary of an open
socket's flows, the last ones once they close, deletions), streams them to a client and
stops on SIGTERM. Any memory error or leak makes valgrind exit 99 (see test_valgrind.py)."""

import os
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import test_valgrind as base  # noqa: E402
from clients import EventClient, wait_subscribers  # noqa: E402
from sensor_fixture import Sensor  # noqa: E402


def summary(lport, report):
    return lambda e: e.get("type") == "EVENT_TYPE_NETWORK_UDP_FLOW" and \
        e["udpFlow"]["local"].get("port") == lport and \
        e["udpFlow"]["report"] == "UDP_FLOW_REPORT_" + report


def test_udp_flows_under_valgrind():
    s = Sensor("--observers", "network", "--rate", "network=0", "--net-udp-flush", "1",
               wrapper=base.VALGRIND, start_timeout=180)
    try:
        with EventClient.c(s.address, "--observer", "network") as c:
            wait_subscribers(s.address, 1, timeout=60)
            a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            a.bind(("127.0.0.1", 0))
            b.bind(("127.0.0.1", 0))
            a.sendto(b"x" * 64, b.getsockname())
            b.recv(100)
            port = a.getsockname()[1]
            c.wait_for(summary(port, "PERIODIC"), timeout=60)
            a.close()
            b.close()
            ev = c.wait_for(summary(port, "CLOSED"), timeout=60)
            assert ev["udpFlow"]["bytesSent"] == "64"
    finally:
        code = s.stop(timeout=120)
    assert code == 0, s.log
