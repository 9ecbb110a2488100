"""A process in a real container (podman with runc, cgroupfs manager, on this hybrid
cgroup host): its exec event names the container, read from the kernel's cgroup."""

import os
import subprocess
import tempfile
import uuid

import pytest

from busybox_image import busybox_image
from clients import EventClient, wait_subscribers
from sensor_fixture import Sensor

IMAGE = "localhost/tapio-test-busybox:latest"


@pytest.fixture(scope="module")
def image():
    with busybox_image(IMAGE, ("sh", "sleep", "true")) as name:
        yield name


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


def test_pod_names_from_the_bundle_and_pod_filters(image):
    """What a cgroup path cannot tell (pod name and namespace, container name, image) comes
    from the OCI bundle's annotations, as CRI-O and podman write them; the server-side
    filter selects by them."""
    from clients import Stream, pb

    tag = "tapio-" + uuid.uuid4().hex
    with Sensor("--rate", "process=0") as s:
        shop = pb.GetEventsRequest(allow=[pb.EventFilter(
            event_types=["process_exec"], pod_namespaces=["shop"],
            pod_names=[pb.StringMatch(prefix="web-")])])
        other = pb.GetEventsRequest(allow=[pb.EventFilter(pod_namespaces=["kube-system"])])
        with Stream(s.address, shop) as a, Stream(s.address, other) as b:
            wait_subscribers(s.address, 2)
            r = subprocess.run(["podman", "--runtime", "runc", "run", "--rm",
                                "--cgroup-manager=cgroupfs", "--ulimit", "nofile=1024:1024",
                                "--ulimit", "nproc=1024:1024",
                                "--annotation", "io.kubernetes.pod.name=web-1",
                                "--annotation", "io.kubernetes.pod.namespace=shop",
                                "--annotation", "io.kubernetes.container.name=app",
                                image, "/bin/sh", "-c", "exit 0", "sh", tag],
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stderr
            ev = a.wait(lambda ev: any(tag in e.exec.args for e in ev))
            ev = [e for e in ev if tag in e.exec.args][0]
            assert ev.pod.name == "web-1" and ev.pod.namespace == "shop"
            assert ev.container.name == "app"
            assert ev.container.image == IMAGE
            assert ev.container.runtime == "podman"
            assert all(e.pod.namespace == "shop" for e in a.events)
            assert not b.events
        assert s.stop() == 0, s.log
