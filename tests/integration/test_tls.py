"""Security of the listeners: TLS and mutual TLS with certificates made by openssl here,
and plaintext refused on addresses that leave the machine unless --insecure."""

import os
import subprocess
import tempfile

import grpc
import pytest

from clients import PROTO_PYTHON, pb  # noqa: F401  (imports the generated modules)
from sensor_fixture import Sensor, free_port, sensor_binary


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=d)


def make_cert(d, name, ca, san):
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout",
            f"{name}.key", "-out", f"{name}.csr", cwd=d)
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(f"subjectAltName={san}\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem",
            cwd=d)


@pytest.fixture(scope="module")
def pki():
    with tempfile.TemporaryDirectory() as d:
        make_ca(d, "ca")
        make_ca(d, "other-ca")
        make_cert(d, "server", "ca", "IP:127.0.0.1,DNS:localhost")
        make_cert(d, "client", "ca", "DNS:backend")
        make_cert(d, "stranger", "other-ca", "DNS:stranger")
        yield d


def read(d, name):
    with open(os.path.join(d, name), "rb") as f:
        return f.read()


def status_over(channel):
    call = channel.unary_unary("/tapio.sensor.v1.Sensor/GetStatus",
                               request_serializer=pb.GetStatusRequest.SerializeToString,
                               response_deserializer=pb.GetStatusResponse.FromString)
    return call(pb.GetStatusRequest(), timeout=5)


def test_tls_accepted_with_the_right_ca_refused_in_plaintext(pki):
    with Sensor("--tls-cert", f"{pki}/server.pem", "--tls-key", f"{pki}/server.key") as s:
        assert "(TLS)" in s.log
        creds = grpc.ssl_channel_credentials(root_certificates=read(pki, "ca.pem"))
        with grpc.secure_channel(s.address, creds) as ch:
            assert status_over(ch).version
        wrong = grpc.ssl_channel_credentials(root_certificates=read(pki, "other-ca.pem"))
        with grpc.secure_channel(s.address, wrong) as ch, pytest.raises(grpc.RpcError) as e:
            status_over(ch)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        with grpc.insecure_channel(s.address) as ch, pytest.raises(grpc.RpcError) as e:
            status_over(ch)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        with grpc.insecure_channel(s.unix) as ch:  # the local socket stays plaintext
            assert status_over(ch).version
        assert s.stop() == 0, s.log


def test_mutual_tls_needs_a_client_certificate_of_the_ca(pki):
    with Sensor("--tls-cert", f"{pki}/server.pem", "--tls-key", f"{pki}/server.key",
                "--tls-client-ca", f"{pki}/ca.pem") as s:
        assert "(TLS, client certificates required)" in s.log
        ca = read(pki, "ca.pem")
        good = grpc.ssl_channel_credentials(ca, read(pki, "client.key"), read(pki, "client.pem"))
        with grpc.secure_channel(s.address, good) as ch:
            assert status_over(ch).version
        for creds in (grpc.ssl_channel_credentials(ca),
                      grpc.ssl_channel_credentials(ca, read(pki, "stranger.key"),
                                                   read(pki, "stranger.pem"))):
            with grpc.secure_channel(s.address, creds) as ch, \
                    pytest.raises(grpc.RpcError) as e:
                status_over(ch)
            assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        assert s.stop() == 0, s.log


def test_plaintext_on_a_non_loopback_address_needs_insecure():
    addr = f"0.0.0.0:{free_port()}"
    r = subprocess.run([sensor_binary(), "--listen", addr], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2
    assert r.stderr.strip() == (f"tapio-sensor: error: --listen {addr}: plaintext on a "
                                "non-loopback address; give --tls-cert and --tls-key, or "
                                "--insecure")
    with Sensor("--listen", f"0.0.0.0:{free_port()}", "--insecure") as s:
        assert "(plaintext)" in s.log
        assert s.stop() == 0, s.log


def test_tls_settings_are_checked(pki):
    for args, msg in [
        (["--tls-cert", f"{pki}/server.pem"], "--tls-cert and --tls-key go together"),
        (["--tls-client-ca", f"{pki}/ca.pem"], "--tls-client-ca needs --tls-cert and --tls-key"),
        (["--tls-cert", "/nonexistent.pem", "--tls-key", f"{pki}/server.key"],
         "--tls-cert /nonexistent.pem: No such file or directory"),
        (["--socket-group", "no-such-group-xyz"],
         "--socket-group no-such-group-xyz: no such group"),
    ]:
        r = subprocess.run([sensor_binary(), *args], capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, args
        assert r.stderr.strip() == f"tapio-sensor: error: {msg}"
