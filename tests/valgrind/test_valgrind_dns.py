"""The DNS observer under valgrind: the release sensor attaches to the cgroup root,
decodes and pairs real lookups (UDP, TCP, NXDOMAIN, AAAA with a CNAME chain), reports an
unanswered query as a timeout, streams it all to a client and stops on SIGTERM. Any
memory error or leak makes valgrind exit 99 (see test_valgrind.py)."""

import os
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import test_dns_events as dns  # noqa: E402
import test_valgrind as base  # noqa: E402
from clients import EventClient, wait_subscribers  # noqa: E402
from sensor_fixture import Sensor  # noqa: E402

SERVER = "127.53.2.1"
SILENT = "127.53.2.2"


def test_dns_session_under_valgrind():
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind((SILENT, 53))
    try:
        with dns.Dnsmasq(SERVER):
            s = Sensor("--observers", "dns", "--rate", "dns=0", "--sample", "dns=1",
                       "--dns-timeout", "500", wrapper=base.VALGRIND, start_timeout=180)
            try:
                with EventClient.c(s.address, "--observer", "dns") as c:
                    wait_subscribers(s.address, 1, timeout=60)
                    lookups = [(dns.dig(f"@{SERVER}", f"web.{dns.ZONE}")[0], "A"),
                               (dns.dig("+tcp", f"@{SERVER}", f"web.{dns.ZONE}")[0], "A"),
                               (dns.dig(f"@{SERVER}", f"www.{dns.ZONE}", "AAAA")[0], "AAAA")]
                    for pid, qtype in lookups:
                        name = f"web.{dns.ZONE}" if qtype == "A" else f"www.{dns.ZONE}"
                        c.wait_for(dns.response_of(pid, name, qtype), timeout=60)
                    name = dns.unique("nx")
                    pid = dns.dig(f"@{SERVER}", name)[0]
                    r = c.wait_for(dns.response_of(pid, name), timeout=60)
                    assert r["dns"]["rcodeName"] == "NXDOMAIN"
                    name = dns.unique("void")
                    dns.dig(f"@{SILENT}", name)
                    c.wait_for(lambda e: e.get("type") == "EVENT_TYPE_DNS_TIMEOUT"
                               and e["dns"].get("queryName") == name, timeout=60)
            finally:
                code = s.stop(timeout=120)
            assert code == 0, s.log
    finally:
        silent.close()
