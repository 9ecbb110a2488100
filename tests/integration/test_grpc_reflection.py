"""Server reflection and the health service, used the way grpcurl uses them: no .proto
file and no generated module, only what the running sensor describes about itself
(reflection_client.py)."""

import json
import os
import subprocess
import sys
import threading
import time
import uuid

import grpc
import pytest
from google.protobuf import descriptor_pb2, json_format

import reflection_client
from reflection_client import ReflectionClient, ReflectionError
from sensor_fixture import Sensor

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICES = {
    "tapio.sensor.v1.Sensor",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
}


@pytest.fixture(scope="module")
def sensor():
    # No rate limit, so the exec events the tests cause are never dropped.
    s = Sensor("--observers", "process", "--rate", "process=0")
    yield s
    assert s.stop() == 0, s.log


@pytest.fixture
def channel(sensor):
    ch = grpc.insecure_channel(sensor.address)
    yield ch
    ch.close()


@pytest.fixture
def client(channel):
    with ReflectionClient(channel) as c:
        yield c


def cli(sensor, *args):
    """Runs reflection_client.py as a command, like grpcurl; returns its stdout."""
    p = subprocess.run([sys.executable, os.path.join(HERE, "reflection_client.py"),
                        "--timeout", "30", *args], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def health(client, service):
    (resp,) = client.call("grpc.health.v1.Health/Check", json.dumps({"service": service}),
                          timeout=10)
    return json_format.MessageToDict(resp)["status"]


# ---- list and describe ------------------------------------------------------------------


def test_list_shows_exactly_the_four_services(sensor):
    assert sorted(cli(sensor, sensor.address, "list").split()) == sorted(SERVICES)


def test_list_over_the_unix_socket(sensor):
    assert set(cli(sensor, sensor.unix, "list").split()) == SERVICES


def test_list_methods_of_a_service(sensor):
    out = cli(sensor, sensor.address, "list", "tapio.sensor.v1.Sensor").split()
    assert out == ["tapio.sensor.v1.Sensor.GetEvents", "tapio.sensor.v1.Sensor.GetStatus"]


def test_describe_service_shows_its_methods(sensor):
    out = cli(sensor, sensor.address, "describe", "tapio.sensor.v1.Sensor")
    assert "tapio.sensor.v1.Sensor is a service:" in out
    assert ("rpc GetEvents ( .tapio.sensor.v1.GetEventsRequest ) returns "
            "( stream .tapio.sensor.v1.GetEventsResponse );") in out
    assert ("rpc GetStatus ( .tapio.sensor.v1.GetStatusRequest ) returns "
            "( .tapio.sensor.v1.GetStatusResponse );") in out


def test_describe_message_shows_its_fields(sensor):
    out = cli(sensor, sensor.address, "describe", "tapio.sensor.v1.Event")
    assert "tapio.sensor.v1.Event is a message:" in out
    for field in ("uint64 seq = 1;", "string boot_id = 2;",
                  ".google.protobuf.Timestamp time = 3;",
                  ".tapio.sensor.v1.Observer observer = 5;",
                  ".tapio.sensor.v1.Process process = 7;",
                  "oneof payload {", ".tapio.sensor.v1.ProcessExec exec = 16;"):
        assert field in out, out


def test_describe_method_nested_enum_and_field(client):
    status = client.find("tapio.sensor.v1.Sensor.GetStatus")
    assert status.input_type.full_name == "tapio.sensor.v1.GetStatusRequest"
    nested = client.find("grpc.health.v1.HealthCheckResponse.ServingStatus")
    assert "SERVICE_UNKNOWN = 3;" in reflection_client.describe(nested)
    field = client.find("tapio.sensor.v1.ProcessExec.args")
    assert reflection_client.describe(field).endswith("repeated string args = 2;")


# ---- the reflection protocol itself ------------------------------------------------------


def files_of(resp):
    return [descriptor_pb2.FileDescriptorProto.FromString(raw).name
            for raw in resp.file_descriptor_response.file_descriptor_proto]


def test_file_by_filename_sends_the_file_then_its_imports(client):
    resp = client.ask(file_by_filename="tapio/sensor/v1/sensor.proto")
    assert files_of(resp) == ["tapio/sensor/v1/sensor.proto",
                              "google/protobuf/field_mask.proto",
                              "google/protobuf/timestamp.proto"]
    assert resp.original_request.file_by_filename == "tapio/sensor/v1/sensor.proto"


@pytest.mark.parametrize("symbol,file", [
    ("tapio.sensor.v1.Sensor", "tapio/sensor/v1/sensor.proto"),
    ("tapio.sensor.v1.Sensor.GetEvents", "tapio/sensor/v1/sensor.proto"),
    ("tapio.sensor.v1.GetEventsRequest", "tapio/sensor/v1/sensor.proto"),
    ("tapio.sensor.v1.EventFilter.event_types", "tapio/sensor/v1/sensor.proto"),
    ("tapio.sensor.v1.LossSource", "tapio/sensor/v1/sensor.proto"),
    ("tapio.sensor.v1.OBSERVER_PROCESS", "tapio/sensor/v1/sensor.proto"),
    ("google.protobuf.Timestamp", "google/protobuf/timestamp.proto"),
    ("grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"),
    ("grpc.health.v1.HealthCheckResponse.SERVING", "grpc/health/v1/health.proto"),
    ("grpc.reflection.v1alpha.ServerReflection", "grpc/reflection/v1alpha/reflection.proto"),
    ("google.protobuf.FieldDescriptorProto.Type", "google/protobuf/descriptor.proto"),
])
def test_file_containing_symbol(client, symbol, file):
    assert files_of(client.ask(file_containing_symbol=symbol))[0] == file


def test_errors_are_answered_and_the_stream_goes_on(client):
    with pytest.raises(ReflectionError) as e:
        client.ask(file_by_filename="nope.proto")
    assert e.value.code == grpc.StatusCode.NOT_FOUND.value[0] and "nope.proto" in e.value.message
    with pytest.raises(ReflectionError) as e:
        client.ask(file_containing_symbol="tapio.sensor.v1.Nope")
    assert e.value.code == grpc.StatusCode.NOT_FOUND.value[0]
    assert "tapio.sensor.v1.Nope" in e.value.message
    with pytest.raises(ReflectionError) as e:
        client.ask(file_containing_extension={"containing_type": "tapio.sensor.v1.Event",
                                              "extension_number": 100})
    assert e.value.code == grpc.StatusCode.NOT_FOUND.value[0]
    with pytest.raises(ReflectionError) as e:
        client.ask(all_extension_numbers_of_type="tapio.sensor.v1.Nope")
    assert e.value.code == grpc.StatusCode.NOT_FOUND.value[0]
    with pytest.raises(ReflectionError) as e:
        client.ask()  # no message_request at all
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "message_request" in e.value.message
    assert set(client.list_services()) == SERVICES


def test_a_known_type_has_no_extensions(client):
    resp = client.ask(all_extension_numbers_of_type="tapio.sensor.v1.Event")
    assert resp.all_extension_numbers_response.base_type_name == "tapio.sensor.v1.Event"
    assert list(resp.all_extension_numbers_response.extension_number) == []


def test_a_malformed_request_gets_an_error_response(channel):
    # Raw bytes out, so the request can be something no client library would send.
    rpc = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", request_serializer=None,
        response_deserializer=reflection_client.ServerReflectionResponse.FromString)
    list_services = reflection_client.ServerReflectionRequest(list_services="").SerializeToString()
    responses = list(rpc(iter([b"\xff\xff\xff\xff", list_services]), timeout=10))
    assert responses[0].error_response.error_code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "ServerReflectionRequest" in responses[0].error_response.error_message
    assert len(responses[1].list_services_response.service) == 4


def test_v1alpha(sensor, channel):
    assert set(cli(sensor, "--v1alpha", sensor.address, "list").split()) == SERVICES
    with ReflectionClient(channel, version="v1alpha") as c:
        event = c.find("tapio.sensor.v1.Event")
        assert "seq" in event.fields_by_name
        (resp,) = c.call("tapio.sensor.v1.Sensor/GetStatus", "{}", timeout=10)
        assert json_format.MessageToDict(resp)["version"]


# ---- calls with JSON ---------------------------------------------------------------------


def test_get_status_with_json(sensor):
    status = json.loads(cli(sensor, sensor.address, "tapio.sensor.v1.Sensor/GetStatus", "-d", "{}"))
    assert status["version"]
    assert any(o["name"] == "process" and o["state"] == "running" for o in status["observers"])


def run_until(stop, argv):
    """Runs argv every 0.2 s until stop is set: the stream may not be subscribed yet
    when the first one runs."""
    while not stop.is_set():
        subprocess.run(argv, check=True)
        stop.wait(0.2)


def test_get_events_with_a_json_filter_receives_an_exec(client):
    mark = f"tapio-reflection-{uuid.uuid4()}"
    argv = ["/bin/sh", "-c", "exit 0", mark]
    flt = {"allow": [{"observers": ["process"], "eventTypes": ["process_exec"]}]}
    stream = client.call("tapio.sensor.v1.Sensor/GetEvents", json.dumps(flt), timeout=60)
    stop = threading.Event()
    runner = threading.Thread(target=run_until, args=(stop, argv))
    runner.start()
    found = None
    try:
        for resp in stream:
            for event in json_format.MessageToDict(resp)["events"]:
                assert event["type"] == "EVENT_TYPE_PROCESS_EXEC", event
                if event.get("exec", {}).get("args") == argv:
                    found = event
            if found:
                break
    finally:
        stop.set()
        runner.join()
        stream.cancel()
    assert found["observer"] == "OBSERVER_PROCESS"
    assert found["exec"]["filename"] == "/bin/sh"
    assert found["process"]["args"] == argv


# ---- health ------------------------------------------------------------------------------


def test_health_check(client):
    assert health(client, "") == "SERVING"
    assert health(client, "tapio.sensor.v1.Sensor") == "SERVING"
    with pytest.raises(grpc.RpcError) as e:
        health(client, "nope")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert "nope" in e.value.details()


def test_health_watch_sends_serving_first_and_stays_open(client):
    watch = client.call("grpc.health.v1.Health/Watch", '{"service": ""}', timeout=2)
    assert json_format.MessageToDict(next(watch)) == {"status": "SERVING"}
    with pytest.raises(grpc.RpcError) as e:  # nothing more until the deadline
        next(watch)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_health_watch_of_an_unknown_service_stays_open(client):
    watch = client.call("grpc.health.v1.Health/Watch", '{"service": "nope"}', timeout=2)
    assert json_format.MessageToDict(next(watch)) == {"status": "SERVICE_UNKNOWN"}
    with pytest.raises(grpc.RpcError) as e:
        next(watch)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


# ---- shutdown ----------------------------------------------------------------------------


def drain(stream, into):
    """Collects a stream's messages, then its final status, as ("msg", ...) and
    ("status", code, details)."""
    try:
        for resp in stream:
            into.append(("msg", json_format.MessageToDict(resp)))
        into.append(("status", grpc.StatusCode.OK, ""))
    except grpc.RpcError as e:
        into.append(("status", e.code(), e.details()))


def test_shutdown_tells_watchers_and_ends_streams():
    with Sensor("--observers", "process") as sensor:
        channel = grpc.insecure_channel(sensor.address)
        client = ReflectionClient(channel)
        watch = client.call("grpc.health.v1.Health/Watch", '{"service": ""}', timeout=60)
        assert json_format.MessageToDict(next(watch)) == {"status": "SERVING"}
        seen = []
        reader = threading.Thread(target=drain, args=(watch, seen))
        reader.start()
        time.sleep(0.2)  # the reflection stream is idle, waiting for its next request
        assert sensor.stop() == 0, sensor.log
        reader.join(10)
        assert seen == [("msg", {"status": "NOT_SERVING"}),
                        ("status", grpc.StatusCode.UNAVAILABLE, "sensor is shutting down")]
        with pytest.raises(grpc.RpcError) as e:
            client.list_services()  # its idle reflection stream was ended too
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        assert e.value.details() == "sensor is shutting down"
        channel.close()
