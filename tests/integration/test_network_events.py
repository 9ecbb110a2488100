"""The network observer, end to end: real peers on loopback (or in a network namespace
the test makes), the real kernel, the real sensor, events through the example clients.
Connections with exact ports, pids and byte counts (IPv4 and IPv6); HTTP from curl to
Python's http.server, in plaintext and through OpenSSL (uprobes on libssl); a gRPC call
between python3-grpcio peers; retransmissions caused by an nftables drop; a drop with
its reason; resets; UDP flows per socket and remote (exact datagrams and bytes both ways,
IPv4, IPv6, in a netns, periodic summaries of an open socket, the per-socket bound, a full
table, sampling); per-protocol sampling and the observer's counters in GetStatus."""

import contextlib
import ctypes
import http.client
import json
import os
import queue
import shutil
import socket
import subprocess
import threading
import time
import uuid

import pytest

from clients import EventClient, observer_status, status, wait_subscribers, wait_until
from sensor_fixture import Sensor, sensor_binary

HERE = os.path.dirname(os.path.abspath(__file__))
HELPERS = os.path.join(HERE, "net_helpers.py")
PY = "/usr/bin/python3"  # Debian's, with python3-grpcio


class Peer:
    """One net_helpers.py role in its own process."""

    def __init__(self, *args, netns=None, wrap=()):
        # wrap: a command that execs the rest in the same process (pid) after a setup
        cmd = [*wrap, PY, HELPERS, *args]
        if netns:
            cmd = ["ip", "netns", "exec", netns, *cmd]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.pid = self.proc.pid  # ip netns exec execs: same pid
        # Lines are read as they come: two lines written at once arrive in one read, and
        # a select() on the pipe would not see the second one waiting in the buffer.
        self.lines = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for text in self.proc.stdout:
            self.lines.put(text)
        self.lines.put("")

    def line(self, timeout=20):
        try:
            out = self.lines.get(timeout=timeout).strip()
        except queue.Empty:
            raise AssertionError(f"{self.proc.args} printed nothing in {timeout} s")
        assert out, f"{self.proc.args} exited with {self.proc.wait()}"
        return out

    def send(self, text="go"):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def wait(self, timeout=20):
        return self.proc.wait(timeout)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.reader.join(10)
        for f in (self.proc.stdin, self.proc.stdout):
            f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture(scope="module")
def sensor():
    # Unlimited rate: the default 2000/s could be spent by other traffic of a busy CI
    # machine; the limit's accounting is tested with the counters below.
    with Sensor("--observers", "network", "--rate", "network=0") as s:
        yield s
        assert s.stop() == 0, s.log


@pytest.fixture
def events(sensor):
    with EventClient.c(sensor.address, "--observer", "network", "--timeout", "120") as c:
        wait_subscribers(sensor.address, 1)
        yield c
    wait_subscribers(sensor.address, 0)


def of_type(name):
    return lambda e: e["type"] == "EVENT_TYPE_NETWORK_" + name


def conn_is(ev, name, lport, rport):
    return of_type(name)(ev) and ev["tcpConnection"]["local"].get("port") == lport and \
        ev["tcpConnection"]["remote"].get("port") == rport


@pytest.mark.parametrize("family,ip", [("4", "127.0.0.1"), ("6", "::1")], ids=["ipv4", "ipv6"])
def test_connect_accept_close_with_addresses_pids_and_bytes(events, family, ip):
    with Peer("tcp-server", family, "2345", "1000") as srv:
        sport = int(srv.line())
        with Peer("tcp-client", family, str(sport), "1000", "2345") as cli:
            cport = int(cli.line())
            assert cli.wait() == 0 and srv.wait() == 0
            connect = events.wait_for(lambda e: conn_is(e, "CONNECT", cport, sport))
            accept = events.wait_for(lambda e: conn_is(e, "ACCEPT", sport, cport))
            cclose = events.wait_for(lambda e: conn_is(e, "CLOSE", cport, sport))
            sclose = events.wait_for(lambda e: conn_is(e, "CLOSE", sport, cport))
    for ev, pid in ((connect, cli.pid), (cclose, cli.pid), (accept, srv.pid), (sclose, srv.pid)):
        t = ev["tcpConnection"]
        assert ev["observer"] == "OBSERVER_NETWORK"
        assert ev["process"]["pid"] == pid
        assert ev["process"]["comm"].startswith("python3")
        assert t["local"]["ip"] == ip and t["remote"]["ip"] == ip
        assert t["ownerKnown"] is True
        assert t["netns"] == os.stat("/proc/self/ns/net").st_ino
    assert connect["tcpConnection"]["direction"] == "CONNECTION_DIRECTION_OUTBOUND"
    assert accept["tcpConnection"]["direction"] == "CONNECTION_DIRECTION_INBOUND"
    assert 0 < int(connect["tcpConnection"]["handshakeNs"]) < 5_000_000_000
    c, s = cclose["tcpConnection"], sclose["tcpConnection"]
    assert c["direction"] == "CONNECTION_DIRECTION_OUTBOUND"
    assert s["direction"] == "CONNECTION_DIRECTION_INBOUND"
    assert int(c["bytesSent"]) == 1000 and int(c["bytesReceived"]) == 2345
    assert int(s["bytesSent"]) == 2345 and int(s["bytesReceived"]) == 1000
    assert 0 < int(c["durationNs"]) < 20_000_000_000
    assert 0 < int(c["srttUs"]) < 1_000_000
    # The client closed first: it left through FIN_WAIT2, the server through LAST_ACK.
    assert c["stateBeforeClose"] == "TCP_STATE_FIN_WAIT2"
    assert s["stateBeforeClose"] == "TCP_STATE_LAST_ACK"


@pytest.fixture
def webroot(tmp_path):
    (tmp_path / "hello.txt").write_bytes(b"hello from tapio\n" * 10)
    return tmp_path


def http_of(pid, path):
    return lambda e: of_type("HTTP")(e) and e["process"].get("pid") == pid and \
        e["http"]["path"] == path


def check_http(ev, role, port, tls):
    h = ev["http"]
    assert h["method"] == "GET" and h["status"] == 200 and h["version"] == "1.1"
    assert h["host"] == f"127.0.0.1:{port}"
    assert h["role"] == role
    assert int(h["responseBytes"]) > 170  # headers and the 170-byte file
    assert 70 < int(h["requestBytes"]) < 200
    assert 0 < int(h["latencyNs"]) < 10_000_000_000
    assert h.get("tls", False) is tls
    local, remote = (h["remote"], h["local"]) if role == "L7_ROLE_CLIENT" else \
        (h["local"], h["remote"])
    assert local == {"ip": "127.0.0.1", "port": port}  # the server's end
    assert remote["ip"] == "127.0.0.1"


def test_http_from_curl_to_python_http_server(events, webroot):
    with Peer("http-server", str(webroot)) as srv:
        port = int(srv.line())
        curl = subprocess.Popen(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                                 f"http://127.0.0.1:{port}/hello.txt?from=curl"],
                                stdout=subprocess.PIPE, text=True)
        assert curl.communicate(timeout=30)[0] == "200"
        client = events.wait_for(http_of(curl.pid, "/hello.txt?from=curl"))
        server = events.wait_for(http_of(srv.pid, "/hello.txt?from=curl"))
    assert client["process"]["comm"] == "curl"
    check_http(client, "L7_ROLE_CLIENT", port, False)
    check_http(server, "L7_ROLE_SERVER", port, False)
    assert client["http"]["responseBytes"] == server["http"]["responseBytes"]
    assert client["http"]["requestBytes"] == server["http"]["requestBytes"]


def net_counter(address, name):
    return next(c.value for c in observer_status(address, "network").counters if c.name == name)


@pytest.fixture
def server_cert(tmp_path):
    """A self-signed certificate for 127.0.0.1: (cert, key) paths."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return str(cert), str(key)


def https_exchange_is_seen(events, srv, port, path):
    """A request from curl (the node's libssl) to srv; both sides' events are checked."""
    curl = subprocess.Popen(["curl", "-sS", "-k", "-o", "/dev/null", "-w", "%{http_code}",
                             f"https://127.0.0.1:{port}{path}"], stdout=subprocess.PIPE, text=True)
    assert curl.communicate(timeout=30)[0] == "200"
    check_http(events.wait_for(http_of(curl.pid, path)), "L7_ROLE_CLIENT", port, True)
    check_http(events.wait_for(http_of(srv.pid, path)), "L7_ROLE_SERVER", port, True)


def test_https_is_seen_through_the_openssl_uprobes(events, webroot, server_cert):
    with Peer("https-server", str(webroot), *server_cert) as srv:
        # Both started after the sensor attached to libssl.so.3.
        https_exchange_is_seen(events, srv, int(srv.line()), "/hello.txt?from=tls")


def test_https_to_a_server_that_maps_its_own_copy_of_libssl(sensor, events, webroot, server_cert,
                                                            tmp_path):
    # As a container's image brings its own libssl.so.3: the server's library directory
    # holds a copy (another file), bind-mounted in a mount namespace of its own. The sensor
    # finds it in the server's memory map and puts its uprobes on it too.
    lib = os.path.realpath("/usr/lib/x86_64-linux-gnu/libssl.so.3")
    copy = tmp_path / "libssl.so.3"
    shutil.copyfile(lib, copy)
    wrap = ["unshare", "-m", "sh", "-c", f'mount --bind {copy} {lib} && exec "$0" "$@"']
    with Peer("https-server", str(webroot), *server_cert, wrap=wrap) as srv:
        port = int(srv.line())
        with open(f"/proc/{srv.pid}/maps") as f:
            mapped = {int(line.split()[4]) for line in f if line.rstrip().endswith(lib)}
        assert mapped == {copy.stat().st_ino}
        wait_until(lambda: f"uprobes on {lib} of pid {srv.pid} (" in sensor.log,
                   what="uprobes on the server's copy")
        https_exchange_is_seen(events, srv, port, "/hello.txt?from=copy")
    wait_until(lambda: f"uprobes on {lib} of pid {srv.pid} detached" in sensor.log,
               what="the copy's uprobes detached once no process maps it")


# Over TLS, grpc core gives OpenSSL memory BIOs: the SSL object never writes the socket, the
# send right after its call does (both peers start after the sensor attached to libssl).
@pytest.mark.parametrize("tls", [False, True], ids=["plaintext", "tls"])
def test_grpc_call_between_python_grpcio_peers(sensor, events, server_cert, tls):
    unmapped = net_counter(sensor.address, "tls_socket_unknown")
    cert, key = server_cert
    with Peer("grpc-server", *((cert, key) if tls else ())) as srv:
        port = int(srv.line())
        with Peer("grpc-client", str(port), *((cert,) if tls else ())) as cli:
            assert cli.line() == "done"

            def call(pid, status):
                return lambda e: of_type("GRPC")(e) and e["process"].get("pid") == pid and \
                    e["grpc"].get("grpcStatus", 0) == status

            calls = {(pid, status): events.wait_for(call(pid, status))
                     for pid in (cli.pid, srv.pid) for status in (0, 5)}
    for (pid, status), ev in calls.items():
        g = ev["grpc"]
        assert g.get("tls", False) is tls
        local, remote = (g["remote"], g["local"]) if pid == cli.pid else (g["local"], g["remote"])
        assert local == {"ip": "127.0.0.1", "port": port}  # the server's end
        assert remote["ip"] == "127.0.0.1"
        assert g["service"] == "tapio.test.Echo" and g["method"] == "Say"
        assert g["grpcStatusPresent"] is True
        assert g["httpStatus"] == 200
        assert g["authority"] == f"127.0.0.1:{port}"
        assert g["role"] == ("L7_ROLE_CLIENT" if pid == cli.pid else "L7_ROLE_SERVER")
        assert int(g["requestBytes"]) == 5 + (3 if status == 0 else 4)  # frame + message
        assert 0 < int(g["latencyNs"]) < 10_000_000_000
        assert g["streamId"] % 2 == 1
    assert int(calls[(cli.pid, 0)]["grpc"]["responseBytes"]) == 5 + len(b"hello bob")
    # Every SSL read and write of the calls found its socket.
    assert net_counter(sensor.address, "tls_socket_unknown") == unmapped


@pytest.fixture
def netns():
    name = "tapio-net-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def test_retransmissions_from_an_nftables_drop_in_a_netns(events, netns):
    inode = os.stat(f"/run/netns/{netns}").st_ino
    with Peer("hold-server", "4", netns=netns) as srv:
        sport = int(srv.line())
        with Peer("hold-client", "4", str(sport), netns=netns) as cli:
            cport = int(cli.line())
            events.wait_for(lambda e: conn_is(e, "CONNECT", cport, sport))
            # Dropped on the way in: a drop on the way out fails the transmission
            # itself, which kernels before 6.x do not trace as a retransmission.
            rules = (f"table inet tapio_rt {{\n chain in {{\n"
                     f"  type filter hook input priority 0;\n  tcp dport {sport} drop\n }}\n}}\n")
            subprocess.run(["ip", "netns", "exec", netns, "nft", "-f", "-"], input=rules,
                           text=True, check=True)
            cli.send()

            def retransmit(e):
                r = e.get("tcpRetransmit", {})
                return of_type("RETRANSMIT")(e) and r["local"].get("port") == cport and \
                    r["remote"].get("port") == sport

            ev = events.wait_for(retransmit, timeout=30)
            drop = events.wait_for(lambda e: of_type("DROP")(e) and
                                   e["packetDrop"]["destination"].get("port") == sport and
                                   e["packetDrop"]["source"].get("port") == cport)
    r = ev["tcpRetransmit"]
    assert ev["process"]["pid"] == cli.pid and r["ownerKnown"] is True
    assert r["state"] == "TCP_STATE_ESTABLISHED"
    assert r["direction"] == "CONNECTION_DIRECTION_OUTBOUND"
    assert r["netns"] == inode
    assert r["local"]["ip"] == r["remote"]["ip"] == "127.0.0.1"
    d = drop["packetDrop"]
    assert d["ipProtocol"] == 6
    assert d["reasonAvailable"] is True and d["reason"] == "NETFILTER_DROP"
    assert d["source"]["ip"] == d["destination"]["ip"] == "127.0.0.1"


def l7_losses(sensor):
    net = observer_status(sensor.address, "network")
    return {c.name: c.value for c in net.counters if c.name in ("l7_desync", "l7_unanswered")}


def test_a_retransmitted_request_is_parsed_once(sensor, events, netns, webroot):
    # The request segment is dropped on the way in until the rule goes: the client sends
    # it again (and the packet programs see each copy leave); its bytes count once. A
    # copy parsed twice would be a second request that is never answered.
    before = l7_losses(sensor)
    with Peer("http-server", str(webroot), netns=netns) as srv:
        port = int(srv.line())
        rules = (f"table inet tapio_rx {{\n chain in {{\n"
                 f"  type filter hook input priority 0;\n"
                 f"  tcp dport {port} ip length > 100 drop\n }}\n}}\n")
        subprocess.run(["ip", "netns", "exec", netns, "nft", "-f", "-"], input=rules,
                       text=True, check=True)
        curl = subprocess.Popen(["ip", "netns", "exec", netns, "curl", "-sS", "-o",
                                 "/dev/null", "-w", "%{http_code}",
                                 f"http://127.0.0.1:{port}/hello.txt?again"],
                                stdout=subprocess.PIPE, text=True)
        retransmit = events.wait_for(lambda e: of_type("RETRANSMIT")(e) and
                                     e["tcpRetransmit"]["remote"].get("port") == port,
                                     timeout=30)
        subprocess.run(["ip", "netns", "exec", netns, "nft", "delete", "table", "inet",
                        "tapio_rx"], check=True)
        assert curl.communicate(timeout=30)[0] == "200"
        client = events.wait_for(http_of(curl.pid, "/hello.txt?again"))
        server = events.wait_for(http_of(srv.pid, "/hello.txt?again"))
    assert retransmit["process"]["pid"] == curl.pid
    assert client["http"]["requestBytes"] == server["http"]["requestBytes"]
    assert client["http"]["responseBytes"] == server["http"]["responseBytes"]
    check_http(client, "L7_ROLE_CLIENT", port, False)
    events.wait_for(lambda e: of_type("CLOSE")(e) and
                    e["tcpConnection"]["remote"].get("port") == port)
    assert l7_losses(sensor) == before
    assert len([e for e in events.events if http_of(curl.pid, "/hello.txt?again")(e)]) == 1


def test_a_worker_that_answers_on_an_accepted_socket_owns_it(events):
    # A pre-forked server: the parent listens, its worker accepts and answers.
    with Peer("prefork-server") as srv:
        port = int(srv.line())
        worker = int(srv.line())
        curl = subprocess.run(["curl", "-sS", f"http://127.0.0.1:{port}/work"],
                              capture_output=True, text=True, timeout=30)
        assert curl.stdout == "worker\n"
        server = events.wait_for(lambda e: of_type("HTTP")(e) and
                                 e["http"]["path"] == "/work" and
                                 e["http"]["role"] == "L7_ROLE_SERVER")
        close = events.wait_for(lambda e: conn_is(e, "CLOSE", port, server["http"]["remote"]
                                                  ["port"]))
    assert worker != srv.pid
    assert server["process"]["pid"] == worker
    assert server["http"]["status"] == 200
    assert close["process"]["pid"] == worker


def test_drop_of_a_udp_packet_to_a_closed_port_has_its_reason(events):
    import socket

    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        sport = s.getsockname()[1]
        s.sendto(b"anyone?", ("127.0.0.1", port))
        ev = events.wait_for(lambda e: of_type("DROP")(e) and
                             e["packetDrop"]["destination"].get("port") == port)
    d = ev["packetDrop"]
    assert d["source"] == {"ip": "127.0.0.1", "port": sport}
    assert d["destination"]["ip"] == "127.0.0.1"
    assert d["ipProtocol"] == 17
    assert d["reasonAvailable"] is True and d["reason"] == "NO_SOCKET"
    assert d["reasonCode"] > 0


def test_reset_sent_by_a_linger_zero_close_and_received_by_the_peer(events):
    with Peer("linger-server", "4") as srv:
        sport = int(srv.line())
        with Peer("hold-client", "4", str(sport)) as cli:
            cport = int(cli.line())
            events.wait_for(lambda e: conn_is(e, "ACCEPT", sport, cport))
            srv.send()
            assert srv.line() == "reset"

            def reset(origin, lport, rport):
                return lambda e: of_type("RESET")(e) and \
                    e["tcpReset"]["origin"] == origin and \
                    e["tcpReset"]["local"].get("port") == lport and \
                    e["tcpReset"]["remote"].get("port") == rport

            sent = events.wait_for(reset("RESET_ORIGIN_SENT", sport, cport))
            received = events.wait_for(reset("RESET_ORIGIN_RECEIVED", cport, sport))
            close = events.wait_for(lambda e: conn_is(e, "CLOSE", cport, sport))
    assert sent["process"]["pid"] == srv.pid
    assert received["process"]["pid"] == cli.pid
    # close() with linger 0 moves the socket to CLOSE, then sends the reset.
    assert sent["tcpReset"]["state"] == "TCP_STATE_CLOSE"
    assert received["tcpReset"]["state"] == "TCP_STATE_ESTABLISHED"
    for ev in (sent, received):
        assert ev["tcpReset"]["ownerKnown"] is True
    assert sent["tcpReset"]["direction"] == "CONNECTION_DIRECTION_INBOUND"
    assert received["tcpReset"]["direction"] == "CONNECTION_DIRECTION_OUTBOUND"
    assert close["tcpConnection"]["stateBeforeClose"] == "TCP_STATE_ESTABLISHED"


def udp_flow(lport, rport, report=None):
    """A UDP flow summary of the socket on lport with the remote on rport (None: the
    socket's other remotes), of one kind of report (None: any)."""
    def match(e):
        u = e.get("udpFlow")
        return of_type("UDP_FLOW")(e) and u["local"].get("port") == lport and \
            u.get("remote", {}).get("port") == rport and \
            (report is None or u["report"] == "UDP_FLOW_REPORT_" + report)
    return match


def exchange(sender, receiver, n, size):
    """sender sends n datagrams of size bytes, receiver reads them (udp-peer roles)."""
    sender.send(f"send {n} {size}")
    assert sender.line() == "ok"
    receiver.send(f"recv {n}")
    assert receiver.line() == "ok"


def close_peers(*peers):
    for p in peers:
        p.send("close")
    for p in peers:
        assert p.wait() == 0


def counts(ev):
    u = ev["udpFlow"]
    return tuple(int(u.get(k, "0")) for k in ("packetsSent", "bytesSent", "packetsReceived",
                                              "bytesReceived"))


def udp_pair(events, family, netns=None, out=(5, 300), back=(3, 1200)):
    """A client and a server socket exchange datagrams, then close; their last summaries."""
    with Peer("udp-peer", family, netns=netns) as srv:
        sport = int(srv.line())
        with Peer("udp-peer", family, str(sport), netns=netns) as cli:
            cport = int(cli.line())
            exchange(cli, srv, *out)
            exchange(srv, cli, *back)
            close_peers(cli, srv)
            c = events.wait_for(udp_flow(cport, sport, "CLOSED"))
            s = events.wait_for(udp_flow(sport, cport, "CLOSED"))
    return c, s, cli.pid, srv.pid


@pytest.mark.parametrize("family,ip", [("4", "127.0.0.1"), ("6", "::1")], ids=["ipv4", "ipv6"])
def test_udp_flows_of_both_sockets_with_exact_datagrams_bytes_endpoints_and_pids(events, family,
                                                                                 ip):
    c, s, cpid, spid = udp_pair(events, family)
    for ev, pid in ((c, cpid), (s, spid)):
        u = ev["udpFlow"]
        assert ev["observer"] == "OBSERVER_NETWORK"
        assert ev["process"]["pid"] == pid
        assert ev["process"]["comm"].startswith("python3")
        assert u["ownerKnown"] is True
        assert u["local"]["ip"] == ip and u["remote"]["ip"] == ip
        assert u["netns"] == os.stat("/proc/self/ns/net").st_ino
        assert "otherRemotes" not in u and "kernelSocket" not in u
        assert u["firstSeen"] <= u["lastSeen"]
    assert counts(c) == (5, 1500, 3, 3600)
    assert counts(s) == (3, 3600, 5, 1500)
    assert c["udpFlow"]["socketCookie"] != s["udpFlow"]["socketCookie"]


def test_udp_flows_in_a_network_namespace_carry_its_inode(events, netns):
    inode = os.stat(f"/run/netns/{netns}").st_ino
    c, s, cpid, spid = udp_pair(events, "4", netns=netns, out=(2, 10), back=(1, 7))
    assert counts(c) == (2, 20, 1, 7)
    assert counts(s) == (1, 7, 2, 20)
    for ev, pid in ((c, cpid), (s, spid)):
        assert ev["udpFlow"]["netns"] == inode
        assert ev["process"]["pid"] == pid


def test_udp_summaries_of_an_open_socket_every_flush_interval_then_the_last_at_close():
    with Sensor("--observers", "network", "--rate", "network=0", "--net-udp-flush", "2") as s:
        assert "a summary every 2 s while open" in s.log
        with EventClient.c(s.address, "--observer", "network") as c:
            wait_subscribers(s.address, 1)
            with Peer("udp-peer", "4") as srv:
                sport = int(srv.line())
                with Peer("udp-peer", "4", str(sport)) as cli:
                    cport = int(cli.line())
                    exchange(cli, srv, 4, 100)
                    exchange(srv, cli, 2, 20)
                    early = [c.wait_for(udp_flow(cport, sport, "PERIODIC"), timeout=10),
                             c.wait_for(udp_flow(sport, cport, "PERIODIC"), timeout=10)]
                    exchange(cli, srv, 3, 10)
                    close_peers(cli, srv)
                    final = [c.wait_for(udp_flow(cport, sport, "CLOSED")),
                             c.wait_for(udp_flow(sport, cport, "CLOSED"))]
        assert s.stop() == 0, s.log
    assert counts(early[0]) == (4, 400, 2, 40)
    assert counts(early[1]) == (2, 40, 4, 400)
    assert counts(final[0]) == (7, 430, 2, 40)
    assert counts(final[1]) == (2, 40, 7, 430)
    for e, f, pid in zip(early, final, (cli.pid, srv.pid)):
        assert int(e["seq"]) < int(f["seq"])
        assert e["udpFlow"]["firstSeen"] == f["udpFlow"]["firstSeen"]
        assert e["udpFlow"]["lastSeen"] < f["udpFlow"]["lastSeen"]
        assert e["process"]["pid"] == f["process"]["pid"] == pid


def test_udp_flows_on_a_host_without_a_cgroup2_mount():
    """Where only cgroup v1 is mounted the UDP programs attach through a private mount of
    cgroup2 (as the DNS observer's do), gone again once they are attached."""
    unmount = ("for m in $(awk '$3 == \"cgroup2\" {print $2}' /proc/self/mounts); do "
               "umount \"$m\" || exit 1; done; exec \"$0\" \"$@\"")
    with Sensor("--observers", "network", "--rate", "network=0",
                wrapper=("unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                         unmount)) as s:
        assert "network: cgroup v2 is not mounted: attaching to its root through a private " \
            "mount" in s.log, s.log
        with EventClient.c(s.address, "--observer", "network") as c:
            wait_subscribers(s.address, 1)
            cflow, sflow, _, _ = udp_pair(c, "4", out=(1, 10), back=(1, 5))
        assert counts(cflow) == (1, 10, 1, 5) and counts(sflow) == (1, 5, 1, 10)
        assert s.stop() == 0, s.log
    assert "tapio-cgroup2" not in open("/proc/self/mounts").read()


def udp_summaries_of(events, cookie, n, timeout=15):
    """The CLOSED summaries of the socket with that cookie, once there are n."""
    deadline = time.monotonic() + timeout
    while True:
        got = [e for e in list(events.events) if of_type("UDP_FLOW")(e) and
               e["udpFlow"]["socketCookie"] == cookie and
               e["udpFlow"]["report"] == "UDP_FLOW_REPORT_CLOSED"]
        if len(got) >= n or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def fan_in(clients, size):
    """Each of `clients` sockets sends one datagram of size bytes to a server socket, which
    reads them all and closes. Returns the server's port and pid."""
    with Peer("udp-peer", "4") as srv:
        sport = int(srv.line())
        with Peer("udp-many", "4", str(sport), str(clients), str(size)) as many:
            assert many.line() == "done"
        srv.send(f"recv {clients}")
        assert srv.line() == "ok"
        close_peers(srv)
    return sport, srv.pid


def test_a_socket_with_more_remotes_than_its_bound_sums_the_rest_in_one_flow(events):
    clients, size, bound = 40, 64, 32
    sport, spid = fan_in(clients, size)
    other = events.wait_for(udp_flow(sport, None, "CLOSED"))
    flows = udp_summaries_of(events, other["udpFlow"]["socketCookie"], bound + 1)
    own = [e for e in flows if "otherRemotes" not in e["udpFlow"]]
    assert len(flows) == bound + 1 and len(own) == bound
    assert len({e["udpFlow"]["remote"]["port"] for e in own}) == bound
    for e in own:
        assert counts(e) == (0, 0, 1, size)
    u = other["udpFlow"]
    assert u["otherRemotes"] is True and "remote" not in u
    assert counts(other) == (0, 0, clients - bound, (clients - bound) * size)
    for e in flows:
        assert e["process"]["pid"] == spid and e["udpFlow"]["ownerKnown"] is True


def test_connections_beyond_a_full_table_are_counted_and_still_reported():
    # A table of 8 (each end of a loopback connection takes an entry; other connections of
    # the machine can only take more of the room) and 12 connections held open at once.
    n, room = 12, 8
    with Sensor("--observers", "network", "--rate", "network=0", "--net-conns", str(room)) as s:
        with EventClient.c(s.address, "--observer", "network") as c:
            wait_subscribers(s.address, 1)
            before = net_counter(s.address, "conn_table_full")
            with Peer("hold-many", str(n)) as p:
                sport, *cports = map(int, p.line().split())
                p.send()
                assert p.line() == "closed"
                seen = {(kind, cp): c.wait_for(lambda e, k=kind, cp=cp: conn_is(
                            e, k, *((cp, sport) if k == "CONNECT" else (sport, cp))))
                        for kind in ("CONNECT", "ACCEPT") for cp in cports}
                closes = [c.wait_for(lambda e, cp=cp: conn_is(e, "CLOSE", cp, sport))
                          for cp in cports]
            full = net_counter(s.address, "conn_table_full") - before
        assert s.stop() == 0, s.log
    assert full >= 2 * n - room, full
    # Every connection is reported with its endpoints; those the table could not hold
    # without the owner and the start it would have kept.
    owned = [e for e in seen.values() if e["tcpConnection"].get("ownerKnown", False)]
    assert len(owned) <= room and len(seen) - len(owned) >= 2 * n - room
    for e in owned:
        assert e["process"]["pid"] == p.pid
    for e in list(seen.values()) + closes:
        t = e["tcpConnection"]
        assert t["local"]["ip"] == t["remote"]["ip"] == "127.0.0.1"
        if not t.get("ownerKnown", False):
            assert "pid" not in e.get("process", {})
            assert int(t.get("handshakeNs", 0)) == int(t.get("durationNs", 0)) == 0


def test_a_full_udp_table_counts_the_datagrams_it_could_not_hold():
    clients, size = 6, 32
    # 4 socket entries and 4 flows: 2 clients and the server's flows with them are
    # tracked; the other 4 clients' datagrams, sent and received, are not (other UDP
    # traffic of the machine can only take more of the room).
    lost = 2 * clients - 4
    with Sensor("--observers", "network", "--rate", "network=0", "--net-udp-flows", "4") as s:
        with EventClient.c(s.address, "--observer", "network") as c:
            wait_subscribers(s.address, 1)
            sport, _ = fan_in(clients, size)
            wait_until(lambda: net_counter(s.address, "udp_table_full") >= lost,
                       what=f"{lost} datagrams lost")
            time.sleep(2.5)  # two sweeps: the summaries of what was tracked
            ours = [e for e in c.events if of_type("UDP_FLOW")(e) and
                    sport in (e["udpFlow"]["local"].get("port"),
                              e["udpFlow"].get("remote", {}).get("port"))]
        assert s.stop() == 0, s.log
    assert len(ours) <= 4


def test_udp_flow_sampling_is_counted_not_silent():
    with Sensor("--observers", "network", "--rate", "network=0", "--net-udp-flush", "1",
                "--net-sample", "udp=1000000") as s:
        assert "network: udp events sampled 1 of 1000000" in s.log
        with EventClient.c(s.address, "--observer", "network") as c:
            wait_subscribers(s.address, 1)
            before = observer_status(s.address, "network").sampled_out
            with Peer("udp-peer", "4") as srv:
                sport = int(srv.line())
                with Peer("udp-peer", "4", str(sport)) as cli:
                    cli.line()  # its port
                    exchange(cli, srv, 2, 50)
                    close_peers(cli, srv)
            wait_until(lambda: observer_status(s.address, "network").sampled_out >= before + 2,
                       what="two flows sampled out")
            time.sleep(2.5)  # two sweeps after the close
            assert not any(of_type("UDP_FLOW")(e) and sport in (
                e["udpFlow"]["local"].get("port"), e["udpFlow"].get("remote", {}).get("port"))
                for e in c.events)
        assert s.stop() == 0, s.log


def test_status_shows_attachments_and_the_observers_counters(sensor):
    st = status(sensor.address)
    net = next(o for o in st.observers if o.name == "network")
    assert net.state == "running"
    assert net.ringbuf_bytes == 512 * 1024
    attached = {a.split(" ")[0] for a in net.attached}
    # Nothing on the system call path: bytes come from packets and from libssl.
    assert attached == {
        "handle_thread_exit", "handle_set_state", "handle_retransmit", "handle_receive_reset",
        "handle_send_reset", "handle_kfree_skb", "skb_egress",
        "skb_ingress", "udp_release", "udp_recvmsg4", "udp_recvmsg6", "ssl_write_enter",
        "ssl_write_exit", "ssl_read_enter", "ssl_read_exit", "ssl_write_ex_enter",
        "ssl_write_ex_exit", "ssl_read_ex_enter", "ssl_read_ex_exit", "ssl_handshake_enter",
        "ssl_handshake_exit"}
    assert [c.name for c in net.counters] == [
        "conn_table_full", "listen_table_full", "call_state_full", "tls_socket_unknown",
        "capture_truncated", "l7_table_evicted", "l7_desync", "l7_unanswered",
        "udp_table_full", "sock_storage_failed"]
    # Records of this very status call (its client's HTTP/2 side) are decoded at the next
    # drain of the ring buffer.
    wait_until(lambda: observer_status(sensor.address, "network").decoded > 0,
               what="records decoded")
    assert net.emitted > 0


def test_per_protocol_sampling_is_counted_not_silent(webroot):
    # Keep 1 of a million HTTP requests: none of ours; connections are still reported.
    with Sensor("--observers", "network", "--rate", "network=0",
                "--net-sample", "http=1000000") as s:
        assert "network: http events sampled 1 of 1000000" in s.log
        with EventClient.c(s.address, "--observer", "network") as c:
            wait_subscribers(s.address, 1)
            with Peer("http-server", str(webroot)) as srv:
                port = int(srv.line())
                for _ in range(3):
                    subprocess.run(["curl", "-sS", "-o", "/dev/null",
                                    f"http://127.0.0.1:{port}/hello.txt"], check=True)
                c.wait_for(lambda e: of_type("CLOSE")(e) and
                           e["tcpConnection"]["remote"].get("port") == port)
                net = observer_status(s.address, "network")
        assert net.sampled_out >= 6  # each request, seen by curl and by the server
        assert not any(of_type("HTTP")(e) and e["http"]["path"] == "/hello.txt"
                       for e in c.events)
        assert s.stop() == 0, s.log


def test_requests_refused_by_the_rate_limit_are_counted(webroot):
    # One event per second for the observer: thirty requests on one keep-alive connection,
    # each seen by curl and by the server. All but what the bucket held are refused, and
    # each refusal is counted, also those refused while the bucket stayed empty (their
    # bytes are only glanced at).
    n = 30
    with Sensor("--observers", "network", "--rate", "network=1") as s:
        with EventClient.c(s.address, "--observer", "network") as c:
            wait_subscribers(s.address, 1)
            with Peer("http-server", str(webroot)) as srv:
                port = int(srv.line())
                before = observer_status(s.address, "network").rate_limited
                r = subprocess.run(["curl", "-sS", f"http://127.0.0.1:{port}/hello.txt?n=[1-{n}]"],
                                   capture_output=True, check=True, timeout=60)
                assert r.stdout == (webroot / "hello.txt").read_bytes() * n
                # One status call (each makes a connection, itself refused and counted).
                refused = observer_status(s.address, "network").rate_limited - before
        assert 2 * n - 6 <= refused <= 2 * n + 30, refused
        ours = [e for e in c.events
                if of_type("HTTP")(e) and e["http"]["path"].startswith("/hello.txt")]
        assert len(ours) <= 6
        assert s.stop() == 0, s.log


def possible_cpus():
    """The number of CPUs the sensor splits a rate over (libbpf's possible CPUs)."""
    with open("/sys/devices/system/cpu/possible") as f:
        n = 0
        for part in f.read().strip().split(","):
            lo, _, hi = part.partition("-")
            n += int(hi or lo) - int(lo) + 1
        return n


def sensor_maps(sensor_pid):
    """(id, type) of each BPF map the sensor holds (other sensors may run beside it)."""
    maps = []
    for fd in os.listdir(f"/proc/{sensor_pid}/fd"):
        try:
            if os.readlink(f"/proc/{sensor_pid}/fd/{fd}") != "anon_inode:bpf-map":
                continue
            info = dict(ln.split(":", 1) for ln in
                        open(f"/proc/{sensor_pid}/fdinfo/{fd}").read().splitlines() if ":" in ln)
        except OSError:
            continue
        maps.append((int(info["map_id"]), int(info["map_type"])))
    return maps


def has_capture_state(sensor_pid, sock):
    """Whether the sensor's socket storage map (the one sk_storage map of a sensor running
    only the network observer) holds state for this process's socket: bpf(2) by hand."""
    ids = [i for i, t in sensor_maps(sensor_pid) if t == 24]  # BPF_MAP_TYPE_SK_STORAGE
    assert len(ids) == 1, "the sensor holds no sk_storage map"
    map_id = ids[0]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    sys_bpf = 321  # x86_64
    attr = (ctypes.c_uint32 * 32)(map_id)
    map_fd = libc.syscall(sys_bpf, 14, attr, ctypes.sizeof(attr))  # BPF_MAP_GET_FD_BY_ID
    assert map_fd >= 0, os.strerror(ctypes.get_errno())
    try:
        key = ctypes.c_int(sock.fileno())
        value = ctypes.create_string_buffer(64)
        attr = (ctypes.c_uint64 * 16)()
        attr[0] = map_fd
        attr[1] = ctypes.addressof(key)
        attr[2] = ctypes.addressof(value)
        r = libc.syscall(sys_bpf, 1, attr, ctypes.sizeof(attr))  # BPF_MAP_LOOKUP_ELEM
        err = ctypes.get_errno()
    finally:
        os.close(map_fd)
    assert r == 0 or err == 2, os.strerror(err)  # found, or ENOENT
    return r == 0


@contextlib.contextmanager
def one_cpu_one_token_a_second(webroot):
    """A sensor at one event per CPU per second (a burst of one) and an HTTP server, both
    with this process on one CPU, whose token bucket their every segment meets: yields
    the sensor, an event client and the server's port. Affinity is restored after."""
    cpu = min(os.sched_getaffinity(0))
    saved = os.sched_getaffinity(0)
    with Sensor("--observers", "network", "--rate", f"network={possible_cpus()}") as s:
        with EventClient.c(s.address, "--observer", "network") as c:
            wait_subscribers(s.address, 1)
            with Peer("http-server", str(webroot)) as srv:
                os.sched_setaffinity(srv.pid, {cpu})
                os.sched_setaffinity(0, {cpu})
                try:
                    yield s, c, int(srv.line())
                finally:
                    os.sched_setaffinity(0, saved)
        assert s.stop() == 0, s.log


def request_after_refills(conn, body, query, done):
    """Requests /hello.txt?QUERY=i, each after a token's refill, until done() holds (a
    stray event of the node on this CPU may take a token first): the last i."""
    for i in range(5):
        time.sleep(1.2)
        conn.request("GET", f"/hello.txt?{query}={i}")
        assert conn.getresponse().read() == body
        if done():
            return i
    return i


def test_a_connection_first_seen_while_the_rate_limit_refuses_is_picked_up_later(webroot):
    # One event per CPU per second, a burst of one. Client and server on one CPU: every
    # segment of theirs meets that CPU's token bucket. A warm-up connection empties it;
    # a new connection's first exchange then passes while nothing could be admitted: its
    # socket gets no capture state (the cost a short connection no longer pays). Once the
    # bucket holds a token again, the connection's next request is captured, midway.
    body = (webroot / "hello.txt").read_bytes()
    with one_cpu_one_token_a_second(webroot) as (s, c, port):
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        late = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for i in range(3):
            warm.request("GET", f"/hello.txt?warm={i}")
            assert warm.getresponse().read() == body
        late.request("GET", "/hello.txt?first")
        assert late.getresponse().read() == body
        assert not has_capture_state(s.proc.pid, late.sock)
        i = request_after_refills(late, body, "later",
                                  lambda: has_capture_state(s.proc.pid, late.sock))
        ev = c.wait_for(http_of(os.getpid(), f"/hello.txt?later={i}"))
        warm.close()
        late.close()
    check_http(ev, "L7_ROLE_CLIENT", port, tls=False)
    assert not any(http_of(os.getpid(), "/hello.txt?first")(e) for e in c.events)


def bpftool_json(*args):
    return json.loads(subprocess.run(["bpftool", "-j", *args], capture_output=True, text=True,
                                     check=True).stdout)


def refused_mark(sensor_pid, sock):
    """The sensor's mark for this socket in net_refused (cookie << 1 | client), or None."""
    ids = [i for i, t in sensor_maps(sensor_pid)
           if t == 2 and bpftool_json("map", "show", "id", str(i))["name"] == "net_refused"]
    assert len(ids) == 1, "the sensor holds no net_refused map"
    cookie = int.from_bytes(sock.getsockopt(socket.SOL_SOCKET, 57, 8), "little")  # SO_COOKIE
    key = [str(b) for b in (cookie % 4096).to_bytes(4, "little")]
    out = bpftool_json("map", "lookup", "id", str(ids[0]), "key", *key)
    value = out["formatted"]["value"]
    return value if value >> 1 == cookie else None


def test_a_keep_alive_exchange_refused_then_admitted_on_a_marked_socket(webroot):
    # One event per CPU per second, client and server on one CPU (see the test above). A
    # connection's request is captured; the requests right after it are refused, and the
    # client's socket is marked refused (its segments then skip the capture state). The
    # refusals are still counted. Once a token is back, the next request is admitted on
    # the marked socket: its mark goes and the exchange is captured whole.
    body = (webroot / "hello.txt").read_bytes()
    quick = 4
    with one_cpu_one_token_a_second(webroot) as (s, c, port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        request_after_refills(conn, body, "first",
                              lambda: has_capture_state(s.proc.pid, conn.sock))
        # A stray event of the node on this CPU may take a token meanwhile.
        for r in range(3):
            before = observer_status(s.address, "network").rate_limited
            for i in range(quick):
                conn.request("GET", f"/hello.txt?refused={r}.{i}")
                assert conn.getresponse().read() == body
            refused = observer_status(s.address, "network").rate_limited - before
            mark = refused_mark(s.proc.pid, conn.sock)
            if mark is not None:
                break
        assert mark is not None and mark & 1, "the client's socket is not marked"
        # Each request refused on both sides (the status call's own connection adds a few).
        assert refused >= 2 * quick - 2, refused
        i = request_after_refills(conn, body, "later",
                                  lambda: refused_mark(s.proc.pid, conn.sock) is None)
        ev = c.wait_for(http_of(os.getpid(), f"/hello.txt?later={i}"))
        conn.close()
    check_http(ev, "L7_ROLE_CLIENT", port, tls=False)
    assert not any(of_type("HTTP")(e) and e["http"]["path"].startswith("/hello.txt?refused=")
                   for e in c.events)


def test_a_response_that_ends_with_the_connection_without_its_close_event():
    # Close events sampled away: the sensor still learns of the close (a marker record
    # that is no event), which is what completes an HTTP/1.0 response without a length.
    with Sensor("--observers", "network", "--rate", "network=0",
                "--net-sample", "connection=1000000") as s:
        with EventClient.c(s.address, "--observer", "network") as c:
            wait_subscribers(s.address, 1)
            with Peer("eof-server") as srv:
                port = int(srv.line())
                curl = subprocess.Popen(["curl", "-sS", "-o", "/dev/null",
                                         f"http://127.0.0.1:{port}/until-eof"])
                assert curl.wait(30) == 0
                client = c.wait_for(http_of(curl.pid, "/until-eof"))
                server = c.wait_for(http_of(srv.pid, "/until-eof"))
        body = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end\n"
        for ev in (client, server):
            assert ev["http"]["status"] == 200
            assert int(ev["http"]["responseBytes"]) == len(body)
        assert not any(of_type("CLOSE")(e) for e in c.events)
        assert s.stop() == 0, s.log


def test_bad_sampling_class_is_refused():
    r = subprocess.run([sensor_binary(), "--net-sample", "smtp=2"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2
    assert "--net-sample smtp=2: expected CLASS=N, CLASS one of connection, health, http, " \
        "grpc, udp" in r.stderr


def test_self_test_case_passes():
    r = subprocess.run([sensor_binary(), "--self-test", "--observers", "network"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("network "))
    assert line.split()[1] == "PASS"
    assert "HTTP GET 204 both sides" in line
    assert "UDP flows both sides (3 x 100 bytes out, 2 x 40 back)" in line


def test_network_filter_fields_select_on_the_server(sensor, webroot):
    """EventFilter.network: only HTTP exchanges with the test server's port, a status of
    at least 400, and the loopback CIDR; a 200 on the same server, and everything else,
    stays on the server."""
    from clients import Stream, pb

    with Peer("http-server", str(webroot)) as srv:
        port = int(srv.line())
        req = pb.GetEventsRequest(allow=[pb.EventFilter(network=pb.NetworkFilter(
            cidrs=["127.0.0.0/8"], ports=[port], protocols=["http"], min_http_status=400))])
        with Stream(sensor.address, req) as s:
            wait_subscribers(sensor.address, 1)
            for path in ("/hello.txt", "/missing.txt", "/hello.txt"):
                subprocess.run(["curl", "-sS", "-o", "/dev/null",
                                f"http://127.0.0.1:{port}{path}"], check=True, timeout=30)
            got = s.wait(lambda ev: len(ev) >= 2, what="the 404 on both sides")
            time.sleep(0.5)  # a wrongly passed 200 would be here by now
            got = list(s.events)
    assert len(got) == 2
    assert {e.http.role for e in got} == {pb.L7_ROLE_CLIENT, pb.L7_ROLE_SERVER}
    assert all(e.http.status == 404 and e.http.path == "/missing.txt" for e in got)


def test_bad_network_filter_is_invalid_argument(sensor):
    import grpc
    from clients import events_call, pb

    req = pb.GetEventsRequest(allow=[pb.EventFilter(network=pb.NetworkFilter(
        cidrs=["127.0.0.0/40"]))])
    with grpc.insecure_channel(sensor.address) as ch, pytest.raises(grpc.RpcError) as e:
        next(iter(events_call(ch)(req, timeout=10)))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details() == ('allow[0].network.cidrs[0]: "127.0.0.0/40" is not an '
                                 'address or CIDR')
