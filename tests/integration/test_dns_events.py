"""DNS lookups end to end: real dnsmasq servers (on loopback and inside a network namespace
the test creates), real clients (dig from bind9-dnsutils, getaddrinfo through getent, a
busybox nslookup in a podman container), the real kernel and sensor, and the example
clients receiving the events. Each test asserts the fields a user would check: who asked
(pid, comm, container, network namespace), what (name, type), what came back (rcode,
answers), how long it took, over which transport, and which lookups got no answer."""

import os
import re
import socket
import struct
import subprocess
import tempfile
import threading
import time
import uuid

import pytest

from busybox_image import busybox_image
from clients import EventClient, grpc, observer_status, pb, status, wait_subscribers, \
    wait_until
from sensor_fixture import Sensor, sensor_binary

DIG = "/usr/bin/dig"
DNSMASQ = "/usr/sbin/dnsmasq"
ZONE = "test.tapio"
WEB_V4 = "10.0.0.5"
WEB_V6 = "fd00::5"
# Every lookup of this file goes to 127.53.x.y: no other test or resolver of the machine
# uses that part of loopback.
SERVER = "127.53.0.77"
SILENT = "127.53.0.78"
OTHER_PORT_SERVER = "127.53.0.79"


def dnsmasq_cmd(address, port=53, also=()):
    """A dnsmasq that serves the test zone only (no upstream, no /etc/hosts), on address
    and the addresses in also."""
    return [DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
            "--no-hosts", "--pid-file=", "--user=root", "--bind-interfaces",
            *[f"--listen-address={a}" for a in (address, *also)], f"--port={port}",
            f"--local=/{ZONE}/",
            f"--host-record=web.{ZONE},{WEB_V4},{WEB_V6}",
            f"--cname=www.{ZONE},web.{ZONE}", f"--address=/nx.{ZONE}/",
            f"--mx-host={ZONE},mail.{ZONE},10", f"--host-record=mail.{ZONE},10.0.0.25",
            *[f"--address=/many.{ZONE}/10.9.0.{i}" for i in range(1, 41)]]


def query_packet(name, qtype=1, qid=0x4242):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", qtype, 1)


def wait_serving(address, port=53, netns=None, timeout=15):
    """Until the server answers a query (through the namespace when given)."""
    probe = ["/usr/bin/python3", "-c",
             "import socket,sys\n"
             "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(0.2)\n"
             f"s.sendto(bytes.fromhex('{query_packet('web.' + ZONE).hex()}'),"
             f"('{address}',{port}))\n"
             "s.recv(512)"]
    if netns:
        probe = ["ip", "netns", "exec", netns, *probe]
    wait_until(lambda: subprocess.run(probe, capture_output=True).returncode == 0,
               timeout, f"dnsmasq on {address}:{port}")


class Dnsmasq:
    def __init__(self, address, port=53, netns=None, also=()):
        cmd = dnsmasq_cmd(address, port, also)
        if netns:
            cmd = ["ip", "netns", "exec", netns, *cmd]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_serving(address, port, netns)
        except AssertionError as e:
            self.stop()
            raise AssertionError(f"{e}; dnsmasq exit {self.proc.returncode}, stderr: "
                                 f"{self.proc.stderr.read().decode(errors='replace')!r}")
        except BaseException:
            self.stop()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def server():
    d = Dnsmasq(SERVER)
    yield d
    d.stop()


@pytest.fixture(scope="module")
def netns():
    """A network namespace with loopback up and its own dnsmasq on 127.0.0.1 and ::1,
    port 53."""
    name = "tapio-dns-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", name], check=True)
    d = None
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        d = Dnsmasq("127.0.0.1", netns=name, also=("::1",))
        yield name
    finally:
        if d:
            d.stop()
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.fixture(scope="module")
def sensor(server):
    # Unlimited and unsampled: lookups of other processes on a busy CI machine must not
    # take these tests' tokens. The limits themselves are tested below with defaults.
    with Sensor("--observers", "dns", "--rate", "dns=0", "--sample", "dns=1",
                "--dns-timeout", "1000", "--dns-ports", "53,5353") as s:
        yield s
        assert s.stop() == 0, s.log


@pytest.fixture
def client(sensor):
    with EventClient.c(sensor.address, "--observer", "dns", "--timeout", "120") as c:
        wait_subscribers(sensor.address, 1)
        yield c
    wait_subscribers(sensor.address, 0)


def unique(prefix="q"):
    """A name nobody else looks up; the server answers NXDOMAIN unless it is web/www."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}.{ZONE}"


def dig(*args, netns=None):
    """Runs dig, returns (pid, exit code, output)."""
    cmd = [DIG, "+tries=1", "+timeout=2", *args]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = p.communicate(timeout=30)
    return p.pid, p.returncode, out


def response_of(pid, name, qtype="A"):
    return lambda e: (e.get("type") == "EVENT_TYPE_DNS_RESPONSE"
                      and e["process"]["pid"] == pid
                      and e["dns"].get("queryName") == name
                      and e["dns"].get("queryTypeName") == qtype)


def query_of(pid, name, qtype="A"):
    return lambda e: (e.get("type") == "EVENT_TYPE_DNS_QUERY"
                      and e["process"]["pid"] == pid
                      and e["dns"].get("queryName") == name
                      and e["dns"].get("queryTypeName") == qtype)


def addresses(ev):
    return [a.get("address") for a in ev["dns"].get("answers", [])]


def dns_counters(address):
    """The dns observer's own counters in status, by name."""
    return {c.name: c.value for c in observer_status(address, "dns").counters}


def client_sensor_address(client):
    return client.cmd[client.cmd.index("--target") + 1]


def own_netns():
    return os.stat("/proc/self/ns/net").st_ino


def test_a_lookup_answered(client, server):
    pid, rc, out = dig(f"@{SERVER}", f"web.{ZONE}", "A")
    assert rc == 0 and WEB_V4 in out, out
    q = client.wait_for(query_of(pid, f"web.{ZONE}"))
    r = client.wait_for(response_of(pid, f"web.{ZONE}"))
    for ev in (q, r):
        assert ev["observer"] == "OBSERVER_DNS"
        assert ev["process"]["comm"] == "dig"
        d = ev["dns"]
        assert d["transport"] == "DNS_TRANSPORT_UDP"
        assert d["serverAddress"] == SERVER and d["serverPort"] == 53
        assert d["clientAddress"] == "127.0.0.1" and 1024 <= d["clientPort"] <= 65535
        assert int(d["netnsInode"]) == own_netns()
        assert d["id"] == q["dns"]["id"]
    d = r["dns"]
    assert d["rcodeName"] == "NOERROR" and "rcode" not in d
    assert addresses(r) == [WEB_V4]
    assert d["answers"][0]["name"] == f"web.{ZONE}"
    assert d["answers"][0]["typeName"] == "A"
    assert d["answerCount"] == 1
    assert 0 < int(d["latencyNs"]) < 2_000_000_000
    assert d.get("recursionAvailable") and d.get("recursionDesired")
    assert not d.get("unmatched") and not d.get("sampled") and not d.get("parseError")
    # The server's own side of the lookup is not reported as a lookup of dnsmasq.
    time.sleep(0.3)
    assert not [e for e in client.events if e["process"]["pid"] == server.proc.pid]


def test_aaaa_and_cname_chain(client):
    pid, rc, out = dig(f"@{SERVER}", f"www.{ZONE}", "AAAA")
    assert rc == 0 and WEB_V6 in out, out
    r = client.wait_for(response_of(pid, f"www.{ZONE}", "AAAA"))
    answers = r["dns"]["answers"]
    assert [a["typeName"] for a in answers] == ["CNAME", "AAAA"]
    assert answers[0]["target"] == f"web.{ZONE}"
    assert answers[1]["name"] == f"web.{ZONE}" and answers[1]["address"] == WEB_V6
    assert r["dns"]["queryType"] == 28


def test_mx_lookup(client):
    pid, rc, out = dig(f"@{SERVER}", ZONE, "MX")
    assert rc == 0, out
    r = client.wait_for(response_of(pid, ZONE, "MX"))
    mx = r["dns"]["answers"][0]
    assert mx["typeName"] == "MX" and mx["target"] == f"mail.{ZONE}"
    assert mx["preference"] == 10


def test_answer_longer_than_the_capture(client):
    """40 A records, 684 bytes over UDP (EDNS): the kernel keeps the first 512; the event
    has what they hold, says it was cut and how long the message was."""
    pid, rc, out = dig("+bufsize=4096", f"@{SERVER}", f"many.{ZONE}", "A")
    assert rc == 0 and "ANSWER: 40" in out, out
    d = client.wait_for(response_of(pid, f"many.{ZONE}"))["dns"]
    assert d["captureTruncated"] and int(d["messageLength"]) > 512
    assert d["answerCount"] == 40 and len(d["answers"]) == 16
    assert all(a["address"].startswith("10.9.0.") for a in d["answers"])
    assert not d.get("parseError") and not d.get("truncated")


def test_nxdomain(client):
    name = unique("nx")
    pid, rc, out = dig(f"@{SERVER}", name, "A")
    assert "NXDOMAIN" in out, out
    r = client.wait_for(response_of(pid, name))
    assert r["dns"]["rcode"] == 3 and r["dns"]["rcodeName"] == "NXDOMAIN"
    assert "answers" not in r["dns"]
    assert int(r["dns"]["latencyNs"]) > 0


def test_lookup_over_tcp(client):
    pid, rc, out = dig("+tcp", f"@{SERVER}", f"web.{ZONE}", "A")
    assert rc == 0 and WEB_V4 in out, out
    q = client.wait_for(query_of(pid, f"web.{ZONE}"))
    r = client.wait_for(response_of(pid, f"web.{ZONE}"))
    for ev in (q, r):
        assert ev["dns"]["transport"] == "DNS_TRANSPORT_TCP"
        assert ev["process"]["comm"] == "dig"
    assert addresses(r) == [WEB_V4]
    assert 0 < int(r["dns"]["latencyNs"]) < 2_000_000_000
    assert r["dns"]["clientPort"] == q["dns"]["clientPort"]


TCP_CLIENT = """
import socket, struct, sys, time
names = sys.argv[1:4]
def query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\\0" + struct.pack("!HH", 1, 1)
    return struct.pack("!H", len(q)) + q
def answer(s):
    n = struct.unpack("!H", s.recv(2, socket.MSG_WAITALL))[0]
    return s.recv(n, socket.MSG_WAITALL)
s = socket.create_connection(("%s", 53))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
first = query(1, names[0])
s.sendall(first[:2])           # the length prefix alone, then the message
time.sleep(0.1)
s.sendall(first[2:])
answer(s)
s.sendall(query(2, names[1]) + query(3, names[2]))   # two messages, one segment
answer(s)
answer(s)
"""


def test_tcp_stream_framing(client):
    """Messages are found in the stream wherever the client's writes put them: a length
    prefix sent alone, two queries in one segment."""
    names = [unique("split"), unique("pipe1"), unique("pipe2")]
    p = subprocess.Popen(["/usr/bin/python3", "-c", TCP_CLIENT % SERVER, *names])
    assert p.wait(30) == 0
    for qid, name in zip((1, 2, 3), names):
        q = client.wait_for(query_of(p.pid, name))
        r = client.wait_for(response_of(p.pid, name))
        for ev in (q, r):
            assert ev["dns"]["transport"] == "DNS_TRANSPORT_TCP" and ev["dns"]["id"] == qid
        assert r["dns"]["rcodeName"] == "NXDOMAIN" and not r["dns"].get("unmatched")


class Stream:
    """A GetEvents stream with a request the example clients cannot express (DNS filter
    fields), read by a thread into .events (sensor_pb2.Event objects)."""

    def __init__(self, address, request):
        self.events = []
        self.error = None
        self._channel = grpc.insecure_channel(address)
        call = self._channel.unary_stream(
            "/tapio.sensor.v1.Sensor/GetEvents",
            request_serializer=pb.GetEventsRequest.SerializeToString,
            response_deserializer=pb.GetEventsResponse.FromString)
        self._call = call(request, timeout=60)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        try:
            for r in self._call:
                self.events.extend(r.events)
        except grpc.RpcError as e:
            self.error = e

    def close(self):
        self._call.cancel()
        self._thread.join(10)
        self._channel.close()


def test_server_side_dns_filter(sensor):
    """A subscriber asking for failed lookups under the test zone gets exactly those."""
    wanted = pb.DnsFilter(query_names=[pb.DnsNameMatch(suffix="." + ZONE.upper())],
                          rcodes=["nxdomain"])
    stream = Stream(sensor.address, pb.GetEventsRequest(allow=[pb.EventFilter(dns=wanted)]))
    try:
        wait_subscribers(sensor.address, 1)
        nx = unique("nx")
        dig(f"@{SERVER}", f"web.{ZONE}")
        pid, rc, out = dig(f"@{SERVER}", nx)
        assert "NXDOMAIN" in out, out
        wait_until(lambda: any(e.dns.query_name == nx for e in stream.events),
                   what="the NXDOMAIN response")
        time.sleep(0.5)  # anything wrongly let through would have arrived by now
        assert stream.error is None, stream.error
        assert [(e.type, e.process.pid, e.dns.query_name, e.dns.rcode_name)
                for e in stream.events] == [
            (pb.EVENT_TYPE_DNS_RESPONSE, pid, nx, "NXDOMAIN")]
    finally:
        stream.close()
    wait_subscribers(sensor.address, 0)
    bad = Stream(sensor.address, pb.GetEventsRequest(
        allow=[pb.EventFilter(dns=pb.DnsFilter(rcodes=["NXDOMIAN"]))]))
    bad._thread.join(15)
    assert bad.error and bad.error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad.error.details() == ('allow[0].dns.rcodes[0]: unknown rcode "NXDOMIAN" '
                                   '(a mnemonic like NXDOMAIN, or RCODE<n>)')
    bad.close()


def test_other_configured_port(client):
    with Dnsmasq(OTHER_PORT_SERVER, port=5353):
        pid, rc, out = dig(f"@{OTHER_PORT_SERVER}", "-p", "5353", f"web.{ZONE}")
    assert rc == 0, out
    r = client.wait_for(response_of(pid, f"web.{ZONE}"))
    assert r["dns"]["serverPort"] == 5353
    assert addresses(r) == [WEB_V4]


def test_unwatched_port_is_not_reported(client):
    """Port 5354 is not in --dns-ports: a lookup there is not a DNS event."""
    with Dnsmasq(OTHER_PORT_SERVER, port=5354):
        pid, rc, out = dig(f"@{OTHER_PORT_SERVER}", "-p", "5354", f"web.{ZONE}")
    assert rc == 0 and WEB_V4 in out, out
    # A watched lookup after it: once that is seen, the first would have been too.
    pid2, rc, _ = dig(f"@{SERVER}", f"web.{ZONE}")
    client.wait_for(response_of(pid2, f"web.{ZONE}"))
    assert not [e for e in client.events if e["process"]["pid"] == pid]


def test_getaddrinfo_through_resolv_conf(client):
    """glibc's resolver, as every program uses it: getent ahosts asks for A and AAAA."""
    with tempfile.NamedTemporaryFile("w", suffix=".resolv.conf") as conf:
        conf.write(f"nameserver {SERVER}\noptions timeout:2 attempts:1\n")
        conf.flush()
        p = subprocess.Popen(["unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                              'mount --bind "$0" /etc/resolv.conf && '
                              f'exec getent ahosts web.{ZONE}', conf.name],
                             stdout=subprocess.PIPE, text=True)
        out, _ = p.communicate(timeout=30)
    assert p.returncode == 0 and WEB_V4 in out and WEB_V6 in out, out
    a = client.wait_for(response_of(p.pid, f"web.{ZONE}", "A"))
    aaaa = client.wait_for(response_of(p.pid, f"web.{ZONE}", "AAAA"))
    assert a["process"]["comm"] == "getent" and aaaa["process"]["comm"] == "getent"
    assert addresses(a) == [WEB_V4] and addresses(aaaa) == [WEB_V6]
    assert a["dns"]["serverAddress"] == SERVER


def test_lookup_inside_a_network_namespace(client, netns):
    pid, rc, out = dig("@127.0.0.1", f"web.{ZONE}", netns=netns)
    assert rc == 0 and WEB_V4 in out, out
    r = client.wait_for(response_of(pid, f"web.{ZONE}"))
    assert r["process"]["comm"] == "dig"
    assert int(r["dns"]["netnsInode"]) == os.stat(f"/run/netns/{netns}").st_ino
    assert int(r["dns"]["netnsInode"]) != own_netns()
    assert r["dns"]["serverAddress"] == "127.0.0.1"
    assert addresses(r) == [WEB_V4]
    # The namespace's lookups over TCP too.
    pid, rc, out = dig("+tcp", "@127.0.0.1", f"web.{ZONE}", "AAAA", netns=netns)
    assert rc == 0, out
    r = client.wait_for(response_of(pid, f"web.{ZONE}", "AAAA"))
    assert r["dns"]["transport"] == "DNS_TRANSPORT_TCP"
    assert addresses(r) == [WEB_V6]


def test_lookup_over_ipv6_udp_and_tcp(client, netns):
    for transport in ("+notcp", "+tcp"):
        pid, rc, out = dig(transport, "@::1", f"web.{ZONE}", "AAAA", netns=netns)
        assert rc == 0 and WEB_V6 in out, out
        q = client.wait_for(query_of(pid, f"web.{ZONE}", "AAAA"))
        r = client.wait_for(response_of(pid, f"web.{ZONE}", "AAAA"))
        for ev in (q, r):
            assert ev["dns"]["serverAddress"] == "::1" and ev["dns"]["clientAddress"] == "::1"
            assert ev["dns"]["transport"] == ("DNS_TRANSPORT_TCP" if transport == "+tcp"
                                              else "DNS_TRANSPORT_UDP")
        assert addresses(r) == [WEB_V6]
        assert 0 < int(r["dns"]["latencyNs"]) < 2_000_000_000


def test_server_that_never_answers_times_out(sensor, client):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # A second subscriber that asked for timeouts only (server-side type filter).
    with EventClient.python(sensor.address, "--type", "dns_timeout") as timeouts:
        wait_subscribers(sensor.address, 2)
        try:
            silent.bind((SILENT, 53))  # reads nothing, answers nothing
            name = unique("void")
            pid, rc, out = dig(f"@{SILENT}", name, "A")
            assert rc != 0, out
            q = client.wait_for(query_of(pid, name))
            t = client.wait_for(lambda e: e.get("type") == "EVENT_TYPE_DNS_TIMEOUT"
                                and e["dns"].get("queryName") == name, timeout=10)
        finally:
            silent.close()
        assert timeouts.wait_for(lambda e: e["dns"].get("queryName") == name) == t
        assert all(e["type"] == "EVENT_TYPE_DNS_TIMEOUT" for e in timeouts.events)
    assert t["process"]["pid"] == pid and t["process"]["comm"] == "dig"
    d = t["dns"]
    assert d["serverAddress"] == SILENT and d["serverPort"] == 53
    assert d["id"] == q["dns"]["id"] and d["queryTypeName"] == "A"
    assert 1_000_000_000 <= int(d["latencyNs"]) < 5_000_000_000  # --dns-timeout 1000
    assert "rcodeName" not in d
    assert not [e for e in client.events
                if e.get("type") == "EVENT_TYPE_DNS_RESPONSE" and e["process"]["pid"] == pid]
    # Counted too, among the observer's own counters in status.
    wait_until(lambda: dns_counters(client_sensor_address(client))["timeouts"] >= 1,
               what="the timeouts counter")


def test_status_reports_the_attachment(sensor, client):
    pid, rc, out = dig(f"@{SERVER}", f"web.{ZONE}")
    assert rc == 0, out
    client.wait_for(response_of(pid, f"web.{ZONE}"))
    dns = observer_status(sensor.address, "dns")
    assert dns.state == "running"
    assert sorted(dns.attached) == ["dns_egress (cgroup_skb/egress)",
                                    "dns_ingress (cgroup_skb/ingress)"]
    assert dns.rate_limit_per_sec == 0 and dns.sample_every == 1
    assert dns.ringbuf_bytes == 256 * 1024
    assert dns.emitted > 0 and dns.decode_errors == 0
    assert set(dns_counters(sensor.address)) == {
        "unmatched_responses", "socket_storage_failed", "tcp_desync", "too_short",
        "malformed", "pairs_evicted", "timeouts", "unpaired_responses"}
    assert "dns: attaching to the cgroup v2 root /sys/fs/cgroup" in sensor.log


def test_hostile_response_is_reported_and_counted(client, sensor):
    """A server answers with an answer whose owner name is a compression pointer to
    itself: the parser rejects it without reading out of bounds, the response is still
    paired and reported with what was decoded, and it is counted as malformed."""
    before = dns_counters(sensor.address)["malformed"]
    name = unique("hostile")
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.53.0.81", 53))
    server.settimeout(10)
    try:
        ask = ("import socket,sys\n"
               "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(10)\n"
               f"s.sendto(bytes.fromhex('{query_packet(name, qid=0x5151).hex()}'),"
               "('127.53.0.81',53))\n"
               "s.recv(512)")
        p = subprocess.Popen(["/usr/bin/python3", "-c", ask])
        q, peer = server.recvfrom(512)
        loop = struct.pack("!H", 0xc000 | len(q))  # the name starts here and points here
        answer = loop + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([10, 6, 6, 6])
        server.sendto(q[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + q[12:] + answer,
                      peer)
        assert p.wait(15) == 0
    finally:
        server.close()
    r = client.wait_for(response_of(p.pid, name))
    d = r["dns"]
    assert d["parseError"] == "compression pointer forward, to itself or out of range"
    assert d["id"] == 0x5151 and d["answerCount"] == 1 and "answers" not in d
    assert not d.get("unmatched") and int(d["latencyNs"]) > 0
    wait_until(lambda: dns_counters(sensor.address)["malformed"] > before,
               what="the malformed counter")


@pytest.mark.parametrize("extra", [[], ["--perf-buffer"], ["--dns-ports", "5353"]],
                         ids=["ring-buffer", "perf-buffer", "other-port"])
def test_self_test_checks_real_lookups(extra):
    """--self-test makes a UDP and a TCP lookup between sockets of its own (no DNS server
    needed) and checks what the kernel read against the truth, with either output
    path."""
    r = subprocess.run([sensor_binary(), "--self-test", "--observers", "dns", *extra],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    line = next(line for line in r.stdout.splitlines() if line.startswith("dns "))
    assert line.split()[1] == "PASS", line
    assert re.search(r"UDP and TCP lookups of pid \d+: pid, tid, comm, cgroup, netns, name, "
                     r"type, answer, pairing, latency [0-9.]+ / [0-9.]+ ms checked$", line), line
    assert "attached dns_egress (cgroup_skb/egress)" in r.stdout
    assert "attached dns_ingress (cgroup_skb/ingress)" in r.stdout


def test_self_test_moves_off_a_taken_port():
    """A server of the node holds the port on every address (UDP and TCP): the self-test
    watches a free port of its own instead, says so, and still checks both transports."""
    tcp, udp = socket.socket(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        tcp.bind(("0.0.0.0", 5355))
        tcp.listen(1)
        udp.bind(("0.0.0.0", 5355))
        r = subprocess.run([sensor_binary(), "--self-test", "--observers", "dns",
                            "--dns-ports", "5355"], capture_output=True, text=True,
                           timeout=120)
    finally:
        tcp.close()
        udp.close()
    assert r.returncode == 0, r.stdout + r.stderr
    line = next(line for line in r.stdout.splitlines() if line.startswith("dns "))
    m = re.search(r"PASS UDP and TCP lookups of pid \d+: .* checked "
                  r"\(port 5355 is taken here: watched (\d+) for the test\)$", line)
    assert m and m.group(1) != "5355", line


def flood(address, n, port=53):
    """n distinct queries as fast as one socket sends them; returns the sender's pid."""
    code = ("import socket,struct,sys\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            f"tail=bytes.fromhex('{query_packet('web.' + ZONE)[12:].hex()}')\n"
            f"for i in range({n}):\n"
            "    s.sendto(struct.pack('!HHHHHH',i&0xffff,0x100,1,0,0,0)+tail,"
            f"('{address}',{port}))\n")
    p = subprocess.Popen(["/usr/bin/python3", "-c", code])
    assert p.wait(120) == 0
    return p.pid


def test_flood_is_rate_limited_and_sampled_and_says_so(server):
    """Defaults: 1000 events/s, 1:10 above 250 new queries/s. A flood far above both is
    counted under both reasons, announced in the stream, and the sensor stays healthy."""
    with Sensor("--observers", "dns") as s:
        with EventClient.c(s.address, "--observer", "dns", "--batch", "100",
                           "--timeout", "120") as c:
            wait_subscribers(s.address, 1)
            pid = flood(SERVER, 30000)
            dns = wait_until(lambda: (o := observer_status(s.address, "dns")).rate_limited
                             and o.sampled_out and o, what="rate_limited and sampled_out")
            assert dns.rate_limit_per_sec == 1000 and dns.sample_every == 10
            # Every query and response was emitted or counted: 2 records per lookup.
            seen = dns.emitted + dns.rate_limited + dns.sampled_out + dns.ringbuf_full
            assert seen >= 30000, seen
            assert dns.emitted < 30000
            wait_until(lambda: {"LOSS_SOURCE_RATE_LIMITED", "LOSS_SOURCE_SAMPLED_OUT"} <= {
                e["lost"]["source"] for e in list(c.events)
                if e.get("type") == "EVENT_TYPE_LOST_EVENTS"
                and e["lost"].get("observer") == "OBSERVER_DNS"}, 20,
                "rate-limited and sampled-out notices of the dns observer")
            # What was streamed of the flood is marked as sampled, 1 of 10.
            sampled = [e for e in list(c.events) if e.get("type") == "EVENT_TYPE_DNS_QUERY"
                       and e["process"]["pid"] == pid and e["dns"].get("sampled")]
            assert sampled and all(e["dns"]["sampleEvery"] == 10 for e in sampled)
            # Healthy: a lookup made after the flood is reported, paired.
            time.sleep(2.5)  # the buckets refill
            dpid, rc, out = dig(f"@{SERVER}", f"web.{ZONE}")
            assert rc == 0, out
            r = c.wait_for(response_of(dpid, f"web.{ZONE}"))
            assert addresses(r) == [WEB_V4] and not r["dns"].get("unmatched")
        assert observer_status(s.address, "dns").state == "running"
        assert status(s.address).published > 0
        assert s.stop() == 0, s.log


SEQUENTIAL = """
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
tail = bytes.fromhex(sys.argv[2])
for i in range(int(sys.argv[3])):
    s.sendto(struct.pack("!HHHHHH", i + 1, 0x100, 1, 0, 0, 0) + tail, (sys.argv[1], 53))
    while struct.unpack("!H", s.recv(512)[:2])[0] != i + 1:
        pass
"""


def test_sampling_above_threshold_keeps_one_in_n_whole_lookups(server):
    """Threshold 0: every lookup is over it, so 1 of 10 is kept, query and response
    together (the response shares its query's fate), marked as sampled; the rest is
    counted as sampled out."""
    n = 200
    with Sensor("--observers", "dns", "--dns-sample-threshold", "0", "--sample", "dns=10",
                "--rate", "dns=0") as s:
        with EventClient.c(s.address, "--observer", "dns") as c:
            wait_subscribers(s.address, 1)
            p = subprocess.Popen(["/usr/bin/python3", "-c", SEQUENTIAL, SERVER,
                                  query_packet("web." + ZONE)[12:].hex(), str(n)])
            assert p.wait(60) == 0
            wait_until(lambda: observer_status(s.address, "dns").sampled_out
                       >= 2 * (n - 2 * n // 10), what="sampled_out")
            time.sleep(0.5)
            mine = [e for e in list(c.events) if e.get("observer") == "OBSERVER_DNS"
                    and e["process"]["pid"] == p.pid]
        queries = {e["dns"]["id"] for e in mine if e["type"] == "EVENT_TYPE_DNS_QUERY"}
        responses = {e["dns"]["id"] for e in mine if e["type"] == "EVENT_TYPE_DNS_RESPONSE"}
        assert n // 20 <= len(queries) <= n // 5, len(queries)
        assert responses == queries
        assert all(e["dns"]["sampled"] and e["dns"]["sampleEvery"] == 10 for e in mine)
        dns = observer_status(s.address, "dns")
        assert dns.sampled_out >= 2 * (n - len(queries))
        assert dns.sample_every == 10 and dns.rate_limited == 0
        assert s.stop() == 0, s.log


IMAGE = "localhost/tapio-test-dns-busybox:latest"


@pytest.fixture(scope="module")
def image():
    with busybox_image(IMAGE, ("sh", "nslookup", "sleep")) as name:
        yield name


def test_lookup_from_a_container_names_the_container(image, netns):
    """A container joined to the test's namespace asks its dnsmasq: the event carries
    the container, the process and the namespace."""
    with tempfile.TemporaryDirectory() as d, \
            Sensor("--observers", "process,dns", "--rate", "dns=0", "--rate",
                   "process=0", "--sample", "dns=1") as s:
        cidfile = os.path.join(d, "cid")
        with EventClient.python(s.address, "--observer", "dns") as c:
            wait_subscribers(s.address, 1)
            r = subprocess.run(["podman", "--runtime", "runc", "run", "--rm",
                                "--cgroup-manager=cgroupfs", "--ulimit", "nofile=1024:1024",
                                "--ulimit", "nproc=1024:1024", "--cidfile", cidfile,
                                "--network", f"ns:/run/netns/{netns}", image,
                                "/bin/nslookup", f"web.{ZONE}", "127.0.0.1"],
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0 and WEB_V4 in r.stdout, r.stdout + r.stderr
            cid = open(cidfile).read().strip()
            ev = c.wait_for(lambda e: e.get("type") == "EVENT_TYPE_DNS_RESPONSE"
                            and e["dns"].get("queryName") == f"web.{ZONE}"
                            and e["dns"].get("queryTypeName") == "A"
                            and e.get("container", {}).get("id") == cid)
        assert ev["process"]["comm"] == "nslookup"
        assert ev["container"]["runtime"] == "podman"
        assert int(ev["dns"]["netnsInode"]) == os.stat(f"/run/netns/{netns}").st_ino
        assert addresses(ev) == [WEB_V4]
        assert s.stop() == 0, s.log


def test_host_without_a_cgroup2_mount():
    """On a host that mounts only cgroup v1 the sensor mounts cgroup2 privately to attach
    (its root exists on every kernel) and removes the mount again."""
    unmount = ("for m in $(awk '$3 == \"cgroup2\" {print $2}' /proc/self/mounts); do "
               "umount \"$m\" || exit 1; done; exec \"$0\" \"$@\"")
    with Sensor("--observers", "dns", "--rate", "dns=0", "--sample", "dns=1",
                wrapper=("unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                         unmount)) as s:
        assert "attaching to its root through a private mount" in s.log, s.log
        address = "127.53.0.80"
        with Dnsmasq(address), EventClient.c(s.address, "--observer", "dns") as c:
            wait_subscribers(s.address, 1)
            pid, rc, out = dig(f"@{address}", f"web.{ZONE}")
            assert rc == 0, out
            r = c.wait_for(response_of(pid, f"web.{ZONE}"))
            assert addresses(r) == [WEB_V4]
        assert s.stop() == 0, s.log
    mounts = open("/proc/self/mounts").read()
    assert "tapio-cgroup2" not in mounts
