"""The real clients the integration tests drive, and small helpers around them.

    with EventClient.c(sensor.address, "--type", "process_exec") as c:
        ... cause something ...
        ev = c.wait_for(lambda e: e["process"]["pid"] == pid)

EventClient runs client_examples' C client (tapio-events) or Python client
(tapio_events.py) as a subprocess and collects the JSON lines it prints, one event each,
in the proto3 JSON mapping (lowerCamelCase names, enums by name, 64-bit numbers as
strings). status() reads GetStatus through Debian's python3-grpcio with the generated
modules of this build.
"""

import json
import os
import subprocess
import sys
import threading
import time

BUILD = os.environ.get("TAPIO_BUILD_DIR", "")
SOURCE = os.environ.get("TAPIO_SOURCE_DIR",
                        os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
PROTO_PYTHON = os.path.join(BUILD, "proto", "python")
C_CLIENT = os.path.join(BUILD, "client_examples", "tapio-events")
PY_CLIENT = os.path.join(SOURCE, "client_examples", "python", "tapio_events.py")

sys.path.insert(0, PROTO_PYTHON)
import grpc  # noqa: E402
from tapio.sensor.v1 import sensor_pb2 as pb  # noqa: E402


def status(address, timeout=10):
    """GetStatus, as a sensor_pb2.GetStatusResponse."""
    with grpc.insecure_channel(address) as ch:
        call = ch.unary_unary("/tapio.sensor.v1.Sensor/GetStatus",
                              request_serializer=pb.GetStatusRequest.SerializeToString,
                              response_deserializer=pb.GetStatusResponse.FromString)
        return call(pb.GetStatusRequest(), timeout=timeout)


def observer_status(address, name):
    for o in status(address).observers:
        if o.name == name:
            return o
    raise AssertionError(f"no observer {name} in status")


def wait_until(predicate, timeout=15, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def wait_subscribers(address, n, timeout=15):
    """Waits until the sensor counts n event streams (a client is subscribed)."""
    wait_until(lambda: status(address).subscribers == n, timeout, f"{n} subscribers")


class EventClient:
    """One example client process streaming events."""

    def __init__(self, cmd):
        self.cmd = cmd
        self.events = []
        self.lines = []
        self._stderr = None
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def c(cls, target, *args):
        return cls([C_CLIENT, "--target", target, *args])

    @classmethod
    def python(cls, target, *args):
        return cls(["/usr/bin/python3", PY_CLIENT, "--proto-python", PROTO_PYTHON,
                    "--target", target, *args])

    def _read(self):
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line)
                self.events.append(json.loads(line))
                self._cond.notify_all()

    def wait_for(self, predicate, timeout=15):
        """The first event (already received or arriving within timeout) that matches."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ev in self.events:
                    if predicate(ev):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(
                        f"no matching event from {self.cmd[0]} within {timeout} s; "
                        f"got {len(self.events)} events; stderr: {self.stderr_so_far()}")
                self._cond.wait(min(left, 0.2))

    def stderr_so_far(self):
        if self.proc.poll() is None:
            return "(still running)"
        if self._stderr is None:
            self._stderr = self.proc.stderr.read()
        return self._stderr

    def stop(self):
        """SIGINT (a clean cancel), then the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def own_cgroup_id():
    """The cgroup v2 id of this process: the inode of its unified-hierarchy cgroup."""
    path = None
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                path = line[3:].strip()
    mount = None
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[2] == "cgroup2":
                mount = fields[1]
    return os.stat(mount + path).st_ino


def events_call(channel):
    return channel.unary_stream("/tapio.sensor.v1.Sensor/GetEvents",
                                request_serializer=pb.GetEventsRequest.SerializeToString,
                                response_deserializer=pb.GetEventsResponse.FromString)


class Stream:
    """One GetEvents stream through python3-grpcio, read on a thread into .events (every
    Event of every response, loss notices included, as sensor_pb2 messages)."""

    def __init__(self, address, request, read=True, channel=None):
        self.channel = channel or grpc.insecure_channel(address)
        self.own_channel = channel is None
        self.call = events_call(self.channel)(request)
        self.events = []
        self.messages = 0
        self.error = None
        self._cond = threading.Condition()
        self._thread = None
        if read:
            self.start_reading()

    def start_reading(self):
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        try:
            for resp in self.call:
                with self._cond:
                    self.messages += 1
                    self.events.extend(resp.events)
                    self._cond.notify_all()
        except grpc.RpcError as e:
            with self._cond:
                self.error = e
                self._cond.notify_all()

    def wait(self, predicate, timeout=15, what="events"):
        """Waits until predicate(self.events) is true."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.events):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}: have "
                                         f"{len(self.events)} events, error {self.error}")
                if self.error is not None and self.error.code() != grpc.StatusCode.CANCELLED:
                    raise AssertionError(f"stream failed: {self.error}")
                self._cond.wait(min(left, 0.2))
            return list(self.events)

    def close(self):
        self.call.cancel()
        if self._thread:
            self._thread.join(10)
        if self.own_channel:
            self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def lost(events, source=None):
    """Sum of LostEvents counts (of one LossSource name, or all) among events."""
    return sum(e.lost.count for e in events if e.HasField("lost") and
               (source is None or pb.LossSource.Name(e.lost.source) == source))


def real(events):
    """The events that are not loss notices."""
    return [e for e in events if not e.HasField("lost")]
