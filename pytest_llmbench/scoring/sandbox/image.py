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
import os
import re
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from pathlib import Path

DEFAULT_IMAGE = f"llmbench-sandbox:py{sys.version_info[0]}.{sys.version_info[1]}"
_SKIP_DIRS = {"site-packages", "test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip",
              "lib2to3", "__pycache__", "pydoc_data"}
_LDD = re.compile(r"^\s+(?:\S+ => )?(/\S+) \(0x", re.MULTILINE)
_PASSWD = "root:x:0:0:root:/root:/bin/false\nsandbox:x:65534:65534:sandbox:/sandbox:/bin/false\n"
_GROUP = "root:x:0:\nsandbox:x:65534:\n"


def _python() -> Path:
    return Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))


def rootfs_files() -> list[Path]:
    """The files the image needs: interpreter, stdlib, extension modules, their libraries."""
    python = _python()
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    files = [python]
    for path in sorted(stdlib.rglob("*")):
        parts = set(path.relative_to(stdlib).parts)
        if (path.is_file() and not parts & _SKIP_DIRS and not path.name.startswith("_tkinter")
                and not any(part.startswith("config-") for part in parts)):
            files.append(path)
    binaries = [python] + [f for f in files if f.suffix == ".so"]
    libs: set[Path] = set()
    for chunk in range(0, len(binaries), 64):
        out = subprocess.run(["ldd", *map(str, binaries[chunk:chunk + 64])],
                             capture_output=True, text=True, check=False).stdout
        libs.update(Path(m) for m in _LDD.findall(out))
    libgcc = [p for p in Path("/lib").glob("*/libgcc_s.so.1")]  # dlopen'd by thread exit
    return files + sorted(libs | set(libgcc))


def _layout(paths: list[Path]) -> tuple[dict[str, Path], dict[str, str]]:
    """Regular files by their real path, and the symlinks (a library's soname link,
    a merged-/usr ``/lib -> usr/lib``) needed to reach them by the path asked for."""
    files: dict[str, Path] = {}
    links: dict[str, str] = {}
    todo = list(paths)
    while todo:
        path = todo.pop()
        for ancestor in reversed(path.parents):
            if ancestor.is_symlink():
                links[str(ancestor)] = os.readlink(ancestor)
        name = str(Path(os.path.realpath(path.parent)) / path.name)
        if path.is_symlink():
            if name not in links:
                links[name] = os.readlink(path)
                todo.append(Path(os.path.realpath(path)))
        else:
            files[name] = path
    return files, links


def write_rootfs(out: io.BufferedIOBase) -> None:
    python = _python()
    files, links = _layout(rootfs_files())
    with tarfile.open(fileobj=out, mode="w|") as tar:
        dirs: set[str] = set()

        def add_dir(name: str, mode: int = 0o755) -> None:
            if name and name not in dirs:
                add_dir(os.path.dirname(name))
                dirs.add(name)
                info = tarfile.TarInfo(name)
                info.type, info.mode = tarfile.DIRTYPE, mode
                tar.addfile(info)

        for directory, mode in (("tmp", 0o1777), ("sandbox", 0o1777), ("etc", 0o755),
                                ("usr/bin", 0o755), ("dev", 0o755), ("proc", 0o755)):
            add_dir(directory, mode)
        for name, path in sorted(files.items()):
            arcname = name.lstrip("/")
            add_dir(os.path.dirname(arcname))
            info = tar.gettarinfo(str(path), arcname=arcname)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mode |= 0o444
            with path.open("rb") as handle:
                tar.addfile(info, handle)
        extra = {"usr/bin/python3": str(python), "usr/bin/python": str(python)}
        for name, target in sorted({**{k.lstrip("/"): v for k, v in links.items()},
                                    **extra}.items()):
            add_dir(os.path.dirname(name))
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
        for name, text in (("etc/passwd", _PASSWD), ("etc/group", _GROUP)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))


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

