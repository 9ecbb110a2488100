"""Real network peers for the network observer's integration tests, each run as its own
process (`/usr/bin/python3 net_helpers.py ROLE ARGS...`) so that events name distinct
pids. Every role prints one line when it is ready (its port, or "ready") and, where the
test drives it, reads one line from stdin before its next step. Nothing here listens on
anything but loopback.

    tcp-server FAMILY SEND RECV      accept one, read RECV bytes, send SEND, wait for EOF
    tcp-client FAMILY PORT SEND RECV connect, send SEND bytes, read RECV, close
    hold-server FAMILY               accept one, read until EOF (keeps the connection)
    hold-client FAMILY PORT          connect, print the local port, then on each stdin
                                     line send 1000 bytes
    hold-many N                      N connections on 127.0.0.1, both ends in this process;
                                     prints the server port and the N client ports, then on a
                                     stdin line closes them all and prints "closed"
    linger-server FAMILY             accept one; on a stdin line close it with SO_LINGER 0
    eof-server                       accept one HTTP request, answer HTTP/1.0 without a
                                     length (the response ends when the connection does)
    prefork-server                   listens, then a forked worker accepts one HTTP request
                                     and answers it; prints the port, then the worker's pid
    http-server DIR                  http.server on 127.0.0.1, serving DIR
    https-server DIR CERT KEY        the same over TLS (Python's ssl: OpenSSL)
    grpc-server [CERT KEY]           python3-grpcio: tapio.test.Echo/Say (b"fail": NOT_FOUND),
                                     over TLS with CERT and KEY (grpc core drives OpenSSL
                                     through memory BIOs and sends what it writes itself)
    grpc-client PORT [CA]            one call that succeeds, one that fails; over TLS when
                                     given the server certificate's CA
    udp-peer FAMILY [PORT]           a UDP socket on loopback; prints its port, then obeys
                                     stdin lines "send N SIZE" (N datagrams of SIZE bytes to
                                     PORT, or to the last sender), "recv N" (N datagrams),
                                     each answered "ok"; closes at EOF or "close"
    udp-many FAMILY PORT N SIZE      N sockets, one datagram of SIZE bytes each to PORT;
                                     prints "done" when all are closed
"""

import functools
import http.server
import socket
import ssl
import struct
import sys
import threading


def loopback(family):
    return ("::1", socket.AF_INET6) if family == "6" else ("127.0.0.1", socket.AF_INET)


def say(line):
    print(line, flush=True)


def read_exactly(conn, n):
    got = 0
    while got < n:
        chunk = conn.recv(min(65536, n - got))
        if not chunk:
            raise SystemExit(f"peer closed after {got} of {n} bytes")
        got += len(chunk)


def listener(family):
    host, fam = loopback(family)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.bind((host, 0))
    s.listen(4)
    say(s.getsockname()[1])
    return s


def tcp_server(family, send, recv):
    conn, _ = listener(family).accept()
    read_exactly(conn, int(recv))
    conn.sendall(b"s" * int(send))
    while conn.recv(65536):
        pass
    conn.close()


def tcp_client(family, port, send, recv):
    host, fam = loopback(family)
    c = socket.socket(fam, socket.SOCK_STREAM)
    c.connect((host, int(port)))
    say(c.getsockname()[1])
    c.sendall(b"c" * int(send))
    read_exactly(c, int(recv))
    c.close()


def hold_server(family):
    conn, _ = listener(family).accept()
    while conn.recv(65536):
        pass


def hold_client(family, port):
    host, fam = loopback(family)
    c = socket.socket(fam, socket.SOCK_STREAM)
    c.connect((host, int(port)))
    say(c.getsockname()[1])
    for _ in sys.stdin:
        c.sendall(b"r" * 1000)


def hold_many(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(int(n))
    port = s.getsockname()[1]
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(int(n))]
    servers = [s.accept()[0] for _ in clients]
    say(" ".join(str(p) for p in [port] + [c.getsockname()[1] for c in clients]))
    sys.stdin.readline()
    for c in clients + servers:
        c.close()
    say("closed")


def linger_server(family):
    conn, _ = listener(family).accept()
    sys.stdin.readline()
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
    say("reset")
    sys.stdin.readline()


def eof_server():
    conn, _ = listener("4").accept()
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = conn.recv(4096)
        if not chunk:
            raise SystemExit("no request")
        request += chunk
    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end\n")
    conn.close()


def prefork_server():
    import os

    s = listener("4")
    worker = os.fork()
    if worker:
        say(worker)
        os.waitpid(worker, 0)
        return
    conn, _ = s.accept()
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = conn.recv(4096)
        if not chunk:
            os._exit(1)
        request += chunk
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nworker\n")
    conn.close()
    os._exit(0)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass


def http_server(directory, cert=None, key=None):
    handler = functools.partial(QuietHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    say(server.server_address[1])
    server.serve_forever()


def grpc_server(cert=None, key=None):
    from concurrent import futures

    import grpc

    def echo(request, context):
        if request == b"fail":
            context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
        return b"hello " + request

    handler = grpc.method_handlers_generic_handler(
        "tapio.test.Echo", {"Say": grpc.unary_unary_rpc_method_handler(echo)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    if cert:
        with open(cert, "rb") as c, open(key, "rb") as k:
            creds = grpc.ssl_server_credentials([(k.read(), c.read())])
        port = server.add_secure_port("127.0.0.1:0", creds)
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    say(port)
    threading.Event().wait()


def grpc_channel(port, ca):
    import grpc

    if not ca:
        return grpc.insecure_channel(f"127.0.0.1:{port}")
    with open(ca, "rb") as f:
        return grpc.secure_channel(f"127.0.0.1:{port}", grpc.ssl_channel_credentials(f.read()))


def grpc_client(port, ca=None):
    import grpc

    with grpc_channel(port, ca) as ch:
        call = ch.unary_unary("/tapio.test.Echo/Say")
        assert call(b"bob", timeout=10) == b"hello bob"
        try:
            call(b"fail", timeout=10)
            raise SystemExit("the failing call succeeded")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.NOT_FOUND, e.code()
    say("done")


def udp_socket(family):
    host, fam = loopback(family)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((host, 0))
    return s, host


def udp_peer(family, port=None):
    s, host = udp_socket(family)
    peer = (host, int(port)) if port else None
    say(s.getsockname()[1])
    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "send":
            for _ in range(int(cmd[1])):
                s.sendto(b"u" * int(cmd[2]), peer)
        elif cmd[0] == "recv":
            for _ in range(int(cmd[1])):
                _, peer = s.recvfrom(65536)
        else:
            break
        say("ok")
    s.close()


def udp_many(family, port, n, size):
    socks = [udp_socket(family) for _ in range(int(n))]
    for s, host in socks:
        s.sendto(b"m" * int(size), (host, int(port)))
    for s, _ in socks:
        s.close()
    say("done")


ROLES = {
    "tcp-server": tcp_server,
    "tcp-client": tcp_client,
    "hold-server": hold_server,
    "hold-client": hold_client,
    "hold-many": hold_many,
    "linger-server": linger_server,
    "eof-server": eof_server,
    "prefork-server": prefork_server,
    "http-server": http_server,
    "https-server": http_server,
    "grpc-server": grpc_server,
    "grpc-client": grpc_client,
    "udp-peer": udp_peer,
    "udp-many": udp_many,
}

if __name__ == "__main__":
    ROLES[sys.argv[1]](*sys.argv[2:])
