"""The release sensor under valgrind through a real session: start, probe, attach, stream
events to a client, answer status and reflection, stop on SIGTERM. Any memory error or
leak (definite or indirect) makes valgrind exit 99. Run by scripts/run-tests.sh with
TAPIO_BUILD_DIR pointing at the release build."""

import os
import subprocess
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from clients import EventClient, status, wait_subscribers  # noqa: E402
from sensor_fixture import Sensor  # noqa: E402

VALGRIND = ("valgrind", "--quiet", "--leak-check=full", "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
            f"--suppressions={os.path.join(HERE, 'sensor.supp')}")


def test_session_under_valgrind():
    tag = "tapio-" + uuid.uuid4().hex
    s = Sensor("--rate", "process=0", wrapper=VALGRIND, start_timeout=180)
    try:
        with EventClient.c(s.address, "--type", "process_exec") as c:
            wait_subscribers(s.address, 1, timeout=60)
            subprocess.run(["/bin/sh", "-c", "exit 0", "sh", tag], check=True)
            c.wait_for(lambda e: tag in e["exec"].get("args", []), timeout=60)
        st = status(s.address, timeout=60)
        assert st.observers[0].decoded > 0
        r = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "..", "integration",
                                                               "reflection_client.py"),
                            s.address, "list"], capture_output=True, text=True, timeout=60)
        assert "tapio.sensor.v1.Sensor" in r.stdout, r.stderr
    finally:
        code = s.stop(timeout=120)
    assert code == 0, s.log
