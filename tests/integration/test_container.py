"""A process in a real container (podman with runc, cgroupfs manager, on this hybrid
cgroup host): its exec event names the container, read from the kernel's cgroup."""

import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

from clients import EventClient, wait_subscribers
from sensor_fixture import Sensor

IMAGE = "localhost/tapio-test-busybox:latest"


@pytest.fixture(scope="module")
def image():
    """A busybox-static image made by `podman import` (no registry is reachable)."""
    root = tempfile.mkdtemp()
    try:
        os.makedirs(f"{root}/bin")
        shutil.copy("/bin/busybox", f"{root}/bin/busybox")
        for applet in ("sh", "sleep", "true"):
            os.symlink("busybox", f"{root}/bin/{applet}")
        tar = f"{root}.tar"
        subprocess.run(["tar", "-C", root, "-cf", tar, "."], check=True)
        subprocess.run(["podman", "import", "-q", tar, IMAGE], check=True,
                       stdout=subprocess.DEVNULL)
        os.unlink(tar)
        yield IMAGE
    finally:
        shutil.rmtree(root)
        subprocess.run(["podman", "rmi", "-f", IMAGE], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def test_exec_in_container_carries_container_id(image):
    tag = "tapio-" + uuid.uuid4().hex
    with tempfile.TemporaryDirectory() as d, Sensor("--rate", "process=0") as s:
        cidfile = os.path.join(d, "cid")
        with EventClient.python(s.address, "--type", "process_exec") as c:
            wait_subscribers(s.address, 1)
            r = subprocess.run(["podman", "--runtime", "runc", "run", "--rm",
                                "--cgroup-manager=cgroupfs", "--ulimit", "nofile=1024:1024",
                                "--ulimit", "nproc=1024:1024", "--cidfile", cidfile, image,
                                "/bin/sh", "-c", "exit 6", "sh", tag],
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 6, r.stderr
            cid = open(cidfile).read().strip()
            # (podman itself has the tag in its argv too: wait for the container's sh)
            ev = c.wait_for(lambda e: e["exec"]["filename"] == "/bin/sh"
                            and tag in e["exec"].get("args", []))
        assert len(cid) == 64
        assert ev["container"]["id"] == cid
        assert ev["container"]["runtime"] == "podman"
        assert ev["container"]["cgroupPath"].endswith("libpod-" + cid)
        assert ev["process"]["binary"] == "/bin/sh"
        assert ev["process"]["comm"] == "sh"
        assert ev["process"]["cgroupId"] != "1"
        assert s.stop() == 0, s.log
