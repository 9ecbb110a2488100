"""A busybox-static container image made by `podman import` (no registry is reachable
from the test machines), removed again afterwards."""

import contextlib
import os
import shutil
import subprocess
import tempfile


@contextlib.contextmanager
def busybox_image(name, applets):
    """Yields the image `name` whose /bin holds busybox and a link per applet."""
    root = tempfile.mkdtemp()
    try:
        os.makedirs(f"{root}/bin")
        shutil.copy("/bin/busybox", f"{root}/bin/busybox")
        for applet in applets:
            os.symlink("busybox", f"{root}/bin/{applet}")
        tar = f"{root}.tar"
        subprocess.run(["tar", "-C", root, "-cf", tar, "."], check=True)
        subprocess.run(["podman", "import", "-q", tar, name], check=True,
                       stdout=subprocess.DEVNULL)
        os.unlink(tar)
        yield name
    finally:
        shutil.rmtree(root)
        subprocess.run(["podman", "rmi", "-f", name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
