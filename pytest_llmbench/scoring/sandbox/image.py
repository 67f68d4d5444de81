"""Build the Docker sandbox image from the host's own Python, with no registry.

The image is a root file system holding only this interpreter, its standard
library (no site-packages, tests, tkinter or idle), the shared libraries they
link and a ``sandbox`` user, streamed as a tar into ``docker import``. It
takes seconds, needs no network, and the code runs on the same Python
version as the harness. ``llmbench sandbox-image`` (and CI) calls
:func:`build_image`; the docker backend calls :func:`ensure_image` for the
default tag. Any image with ``python3`` on its PATH works too (``image:``).
"""

from __future__ import annotations

import io
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from pytest_llmbench.scoring.sandbox.rootfs import Rootfs, host_python, linked_libraries

DEFAULT_IMAGE = f"llmbench-sandbox:py{sys.version_info[0]}.{sys.version_info[1]}"
_SKIP_DIRS = {"site-packages", "test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip",
              "lib2to3", "__pycache__", "pydoc_data"}
_PASSWD = "root:x:0:0:root:/root:/bin/false\nsandbox:x:65534:65534:sandbox:/sandbox:/bin/false\n"
_GROUP = "root:x:0:\nsandbox:x:65534:\n"


def rootfs_files() -> list[Path]:
    """The files the image needs: interpreter, stdlib, extension modules, their libraries."""
    python = host_python()
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    files = [python]
    for path in sorted(stdlib.rglob("*")):
        parts = set(path.relative_to(stdlib).parts)
        if (path.is_file() and not parts & _SKIP_DIRS and not path.name.startswith("_tkinter")
                and not any(part.startswith("config-") for part in parts)):
            files.append(path)
    libs = linked_libraries([python] + [f for f in files if f.suffix == ".so"])
    libgcc = [p for p in Path("/lib").glob("*/libgcc_s.so.1")]  # dlopen'd by thread exit
    return files + sorted(libs | set(libgcc))


def python_links() -> dict[str, str]:
    """``python3`` and ``python`` on the image's PATH."""
    python = str(host_python())
    return {"usr/bin/python3": python, "usr/bin/python": python}


def write_rootfs(out: io.BufferedIOBase) -> None:
    Rootfs(host_files=rootfs_files(),
           dirs=[("tmp", 0o1777, 0), ("sandbox", 0o1777, 0), ("etc", 0o755, 0),
                 ("usr/bin", 0o755, 0), ("dev", 0o755, 0), ("proc", 0o755, 0)],
           links=python_links(),
           texts={"etc/passwd": _PASSWD, "etc/group": _GROUP}).write(out)


def build_image(tag: str = DEFAULT_IMAGE) -> str:
    """``docker import`` the root file system as ``tag``; returns the tag."""
    changes = ["ENV PATH=/usr/bin:/bin", "ENV LANG=C.UTF-8", "USER 65534:65534",
               "WORKDIR /sandbox", 'CMD ["python3"]']
    with tempfile.TemporaryDirectory(prefix="llmbench-image-") as folder:
        tar_path = Path(folder) / "rootfs.tar"
        with tar_path.open("wb") as handle:
            write_rootfs(handle)
        cmd = ["docker", "import", *[a for c in changes for a in ("--change", c)],
               str(tar_path), tag]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"docker import {tag} failed: {done.stderr.strip()}")
    return tag

