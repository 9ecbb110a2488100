"""The network observer, end to end: real peers on loopback (or in a network namespace
the test makes), the real kernel, the real sensor, events through the example clients.
Connections with exact ports, pids and byte counts (IPv4 and IPv6); HTTP from curl to
Python's http.server, in plaintext and through OpenSSL (uprobes on libssl); a gRPC call
between python3-grpcio peers; retransmissions caused by an nftables drop; a drop with
its reason; resets; per-protocol sampling and the observer's counters in GetStatus."""

import os
import select
import subprocess
import time
import uuid

import pytest

from clients import EventClient, observer_status, status, wait_subscribers
from sensor_fixture import Sensor, sensor_binary

HERE = os.path.dirname(os.path.abspath(__file__))
HELPERS = os.path.join(HERE, "net_helpers.py")
PY = "/usr/bin/python3"  # Debian's, with python3-grpcio


class Peer:
    """One net_helpers.py role in its own process."""

    def __init__(self, *args, netns=None):
        cmd = [PY, HELPERS, *args]
        if netns:
            cmd = ["ip", "netns", "exec", netns, *cmd]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.pid = self.proc.pid  # ip netns exec execs: same pid

    def line(self, timeout=20):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, f"{self.proc.args} printed nothing in {timeout} s"
        out = self.proc.stdout.readline().strip()
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


def test_https_is_seen_through_the_openssl_uprobes(events, webroot, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    with Peer("https-server", str(webroot), str(cert), str(key)) as srv:
        port = int(srv.line())
        # Both started after the sensor attached to libssl.so.3.
        curl = subprocess.Popen(["curl", "-sS", "-k", "-o", "/dev/null", "-w", "%{http_code}",
                                 f"https://127.0.0.1:{port}/hello.txt?from=tls"],
                                stdout=subprocess.PIPE, text=True)
        assert curl.communicate(timeout=30)[0] == "200"
        client = events.wait_for(http_of(curl.pid, "/hello.txt?from=tls"))
        server = events.wait_for(http_of(srv.pid, "/hello.txt?from=tls"))
    check_http(client, "L7_ROLE_CLIENT", port, True)
    check_http(server, "L7_ROLE_SERVER", port, True)


def test_grpc_call_between_python_grpcio_peers(events):
    with Peer("grpc-server") as srv:
        port = int(srv.line())
        with Peer("grpc-client", str(port)) as cli:
            assert cli.line() == "done"

            def call(pid, status):
                return lambda e: of_type("GRPC")(e) and e["process"].get("pid") == pid and \
                    e["grpc"].get("grpcStatus", 0) == status

            calls = {(pid, status): events.wait_for(call(pid, status))
                     for pid in (cli.pid, srv.pid) for status in (0, 5)}
    for (pid, status), ev in calls.items():
        g = ev["grpc"]
        assert g["service"] == "tapio.test.Echo" and g["method"] == "Say"
        assert g["grpcStatusPresent"] is True
        assert g["httpStatus"] == 200
        assert g["authority"] == f"127.0.0.1:{port}"
        assert g["role"] == ("L7_ROLE_CLIENT" if pid == cli.pid else "L7_ROLE_SERVER")
        assert int(g["requestBytes"]) == 5 + (3 if status == 0 else 4)  # frame + message
        assert 0 < int(g["latencyNs"]) < 10_000_000_000
        assert g["streamId"] % 2 == 1
    assert int(calls[(cli.pid, 0)]["grpc"]["responseBytes"]) == 5 + len(b"hello bob")


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


def test_status_shows_attachments_and_the_observers_counters(sensor):
    st = status(sensor.address)
    net = next(o for o in st.observers if o.name == "network")
    assert net.state == "running"
    assert net.ringbuf_bytes == 512 * 1024
    attached = {a.split(" ")[0] for a in net.attached}
    # System call programs: BTF-typed where the kernel has them, raw ones otherwise.
    btf = next(f for f in st.features if f.name == "tp_btf").available
    sys_progs = {"handle_sys_enter_btf", "handle_sys_exit_btf"} if btf else \
        {"handle_sys_enter", "handle_sys_exit"}
    assert {"handle_set_state", "handle_retransmit", "handle_receive_reset",
            "handle_send_reset", "handle_kfree_skb", "ssl_read_ex_exit"} | sys_progs <= attached
    assert not {"handle_sys_enter", "handle_sys_enter_btf"} - sys_progs & attached
    assert [c.name for c in net.counters] == [
        "conn_table_full", "listen_table_full", "call_state_full", "tls_socket_unknown",
        "capture_truncated", "l7_table_evicted", "l7_desync", "l7_unanswered"]
    assert net.emitted > 0 and net.decoded > 0


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
        "grpc" in r.stderr


def test_self_test_case_passes():
    r = subprocess.run([sensor_binary(), "--self-test", "--observers", "network"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("network "))
    assert line.split()[1] == "PASS"
    assert "HTTP GET 204 both sides" in line


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
