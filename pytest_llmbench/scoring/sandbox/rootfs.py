"""One root file system tar writer for the images built from the host with no registry.

The code sandbox's image (``image.py``) and the agent image (``agents/image.py``) are both
the host's own files laid out at their real paths, the symlinks needed to reach them by
the paths asked for, a few folders and small text files (``/etc/passwd``), streamed as one
tar into ``docker import``. They differ only in what goes in, so they share this writer.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_LDD = re.compile(r"^\s+(?:\S+ => )?(/\S+) \(0x", re.MULTILINE)


def host_python() -> Path:
    """The real interpreter (not a virtual environment's link to it)."""
    return Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))


def linked_libraries(binaries: Sequence[Path]) -> set[Path]:
    """The shared libraries ``ldd`` says these binaries link."""
    libs: set[Path] = set()
    for chunk in range(0, len(binaries), 64):
        out = subprocess.run(["ldd", *map(str, binaries[chunk:chunk + 64])],
                             capture_output=True, text=True, check=False).stdout
        libs.update(Path(m) for m in _LDD.findall(out))
    return libs


def layout(paths: Iterable[Path]) -> tuple[dict[str, Path], dict[str, str]]:
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


@dataclass
class Rootfs:
    """What one image holds; :meth:`write` streams it as a tar.

    ``dirs``: (name, mode, owner uid) made first; ``host_files``: host files laid out by
    :func:`layout` (owned by root, world-readable); ``links``: extra symlinks (name ->
    target), a host file at the same name wins; ``copies``: (name in the image, host file)
    added after the links; ``texts``: small files written as given.
    """

    host_files: list[Path]
    dirs: Sequence[tuple[str, int, int]] = ()
    links: Mapping[str, str] = field(default_factory=dict)
    copies: Sequence[tuple[str, Path]] = ()
    texts: Mapping[str, str] = field(default_factory=dict)

    def write(self, out: io.BufferedIOBase) -> None:
        files, host_links = layout(self.host_files)
        file_names = {name.lstrip("/") for name in files}
        with tarfile.open(fileobj=out, mode="w|") as tar:
            made: set[str] = set()

            def add_dir(name: str, mode: int = 0o755, uid: int = 0) -> None:
                if name and name not in made:
                    add_dir(os.path.dirname(name))
                    made.add(name)
                    info = tarfile.TarInfo(name)
                    info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, mode, uid, uid
                    tar.addfile(info)

            def add_file(arcname: str, path: Path) -> None:
                add_dir(os.path.dirname(arcname))
                info = tar.gettarinfo(str(path), arcname=arcname)
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                info.mode |= 0o444
                with path.open("rb") as handle:
                    tar.addfile(info, handle)

            for name, mode, uid in self.dirs:
                add_dir(name, mode, uid)
            for name, path in sorted(files.items()):
                add_file(name.lstrip("/"), path)
            for name, target in sorted({**{k.lstrip("/"): v for k, v in host_links.items()},
                                        **self.links}.items()):
                if name in file_names:
                    continue
                add_dir(os.path.dirname(name))
                info = tarfile.TarInfo(name)
                info.type, info.linkname = tarfile.SYMTYPE, target
                tar.addfile(info)
            for arcname, path in self.copies:
                add_file(arcname, path)
            for name, text in self.texts.items():
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
