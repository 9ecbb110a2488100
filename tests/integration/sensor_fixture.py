"""Starts and stops the real sensor for integration tests.

    from sensor_fixture import Sensor

    with Sensor("--observers", "process") as sensor:
        channel = grpc.insecure_channel(sensor.address)  # or sensor.unix
        ...
        assert sensor.stop() == 0, sensor.log

Each Sensor listens on a free loopback port and on its own unix socket, never on the
defaults (127.0.0.1:50051, /run/tapio/sensor.sock), so tests do not collide with a
sensor that already runs. The binary is $TAPIO_BUILD_DIR/sensor/tapio-sensor (ctest sets
TAPIO_BUILD_DIR); it needs root, as it loads and attaches real BPF programs.
"""

import os
import re
import signal
import socket
import subprocess
import tempfile
import time

READY = re.compile(r"^tapio-sensor: info: ready$", re.MULTILINE)


def sensor_binary():
    build = os.environ.get("TAPIO_BUILD_DIR")
    if not build:
        raise RuntimeError("TAPIO_BUILD_DIR is not set (ctest sets it to the build directory)")
    return os.path.join(build, "sensor", "tapio-sensor")


def free_port():
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sensor:
    """A running tapio-sensor. `args` are extra flags; the log level must stay info or
    debug, since readiness is its "ready" log line (logged once the server serves and
    SIGTERM is handled)."""

    def __init__(self, *args, start_timeout=60, wrapper=()):
        self.address = f"127.0.0.1:{free_port()}"
        self.unix_path = os.path.join(tempfile.gettempdir(),
                                      f"tapio-test-{os.getpid()}-{time.monotonic_ns()}.sock")
        self.unix = "unix:" + self.unix_path
        self.exit_code = None
        self._log = tempfile.TemporaryFile(mode="w+")
        # wrapper: a command the sensor runs under, e.g. ("valgrind", "--leak-check=full")
        cmd = [*wrapper, sensor_binary(), "--listen", self.address, "--listen", self.unix, *args]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self._wait_ready(start_timeout)

    @property
    def log(self):
        """Everything the sensor wrote so far (stdout and stderr)."""
        self._log.seek(0)
        return self._log.read()

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while not READY.search(self.log):
            if self.proc.poll() is not None:
                raise RuntimeError(f"sensor exited with {self.proc.returncode} before it was "
                                   f"ready:\n{self.log}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sensor not ready after {timeout} s:\n{self.log}")
            time.sleep(0.05)

    def stop(self, timeout=30):
        """SIGTERM, then waits; returns the exit code (the same on every later call). A
        sensor that does not stop in time is killed and reported."""
        if self.exit_code is not None:
            return self.exit_code
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.exit_code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"sensor did not stop within {timeout} s of SIGTERM:\n{self.log}")
        finally:
            if os.path.exists(self.unix_path):
                os.unlink(self.unix_path)
        return self.exit_code

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
