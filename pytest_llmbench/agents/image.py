"""The agent sandbox image, built from the host with no registry.

The code sandbox's image (``scoring/sandbox/image.py``) holds only Python; an agent also
needs a shell and the everyday tools (ls, cat, grep, sed, diff, find...). This image is
that root file system plus those host binaries and the libraries they link, imported
with ``docker import``; a task's own ``Dockerfile`` may start ``FROM`` it
(``FROM llmbench-agent:py3.11``) and still build offline.
"""

from __future__ import annotations

import functools
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from filelock import FileLock

from pytest_llmbench.agents.sandbox import AGENT_UID
from pytest_llmbench.scoring.sandbox.image import python_links, rootfs_files
from pytest_llmbench.scoring.sandbox.rootfs import Rootfs, linked_libraries

IMAGE_VERSION = 2  # bump when the image's contents change
AGENT_IMAGE = f"llmbench-agent:py{sys.version_info[0]}.{sys.version_info[1]}-{IMAGE_VERSION}"
TOOLS = ("bash", "sh", "dash", "ls", "cat", "grep", "egrep", "sed", "awk", "mawk", "head",
         "tail", "wc", "cp", "mv", "rm", "mkdir", "rmdir", "touch", "echo", "printf", "env",
         "find", "xargs", "sort", "uniq", "diff", "cmp", "cut", "tr", "chmod", "sleep",
         "true", "false", "test", "tee", "dirname", "basename", "pwd", "seq", "timeout", "id",
         "date", "ln", "readlink", "realpath", "stat", "du", "nl", "rev", "expr", "yes",
         "md5sum", "sha256sum", "tar", "gzip", "patch", "kill", "ps", "which", "whoami")
PY_PACKAGES = ("pytest", "_pytest", "pluggy", "iniconfig", "packaging", "py", "pygments")
"""Pure-Python packages copied in so checks can run pytest (Terminal-Bench and SWE-bench
tasks grade by pytest's per-test results)."""
_PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
           "agent:x:65534:65534:agent:/workspace:/bin/bash\n")
_GROUP = "root:x:0:\nagent:x:65534:\n"


def tool_binaries() -> list[Path]:
    found = []
    for name in TOOLS:
        where = shutil.which(name, path="/usr/bin:/bin")
        if where:
            found.append(Path(where))
    return found


def write_agent_rootfs(out: io.BufferedIOBase) -> None:
    """Python (as the code sandbox has it) + shell tools, tools linked at /usr/bin."""
    tools = tool_binaries()
    links = python_links()
    for tool in tools:
        real = os.path.realpath(tool)
        links.setdefault(f"usr/bin/{tool.name}", real)
        links.setdefault(f"bin/{tool.name}", real)
    Rootfs(host_files=rootfs_files() + tools + sorted(linked_libraries(tools)),
           dirs=[("tmp", 0o1777, 0), ("etc", 0o755, 0), ("usr/bin", 0o755, 0),
                 ("dev", 0o755, 0), ("proc", 0o755, 0), ("workspace", 0o755, AGENT_UID)],
           links=links, copies=_packages(),
           texts={"etc/passwd": _PASSWD, "etc/group": _GROUP}).write(out)


def _packages() -> list[tuple[str, Path]]:
    """(path in the image, host file) of :data:`PY_PACKAGES`, under the image Python's
    own site-packages."""
    import importlib.util  # noqa: PLC0415
    import sysconfig  # noqa: PLC0415

    site = sysconfig.get_paths(vars={"base": sys.base_prefix,
                                     "platbase": sys.base_prefix})["purelib"].lstrip("/")
    out: list[tuple[str, Path]] = []
    for name in PY_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            for path in sorted(origin.parent.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    out.append((f"{site}/{name}/{path.relative_to(origin.parent)}", path))
        else:
            out.append((f"{site}/{origin.name}", origin))
    from importlib.metadata import PackageNotFoundError, distribution  # noqa: PLC0415

    for name in ("pytest", "pluggy", "iniconfig", "packaging", "pygments"):
        try:
            folder = Path(str(distribution(name)._path))  # type: ignore[attr-defined]
        except (PackageNotFoundError, AttributeError):
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                out.append((f"{site}/{folder.name}/{path.relative_to(folder)}", path))
    return out


def build_agent_image(tag: str = AGENT_IMAGE) -> str:
    changes = ["ENV PATH=/usr/bin:/bin", "ENV LANG=C.UTF-8", "ENV HOME=/workspace",
               "USER 65534:65534", "WORKDIR /workspace", 'CMD ["bash"]']
    with tempfile.TemporaryDirectory(prefix="llmbench-agent-image-") as folder:
        tar_path = Path(folder) / "rootfs.tar"
        with tar_path.open("wb") as handle:
            write_agent_rootfs(handle)
        done = subprocess.run(["docker", "import", *[a for c in changes for a in ("--change", c)],
                               str(tar_path), tag], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"docker import {tag} failed: {done.stderr.strip()}")
    return tag


def image_exists(image: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True,
                          check=False).returncode == 0


@functools.cache
def ensure_agent_image(tag: str = AGENT_IMAGE) -> str:
    """The default agent image, built once (under a file lock, for xdist workers)."""
    if image_exists(tag):
        return tag
    lock = Path(tempfile.gettempdir()) / "llmbench-agent-image.lock"
    with FileLock(str(lock)):
        if not image_exists(tag):
            build_agent_image(tag)
    return tag


def build_dockerfile(dockerfile: Path, tag: str) -> str:
    """A task's own image from its Dockerfile (context: its folder), built once per tag;
    ``FROM`` must name an image already here (no registry is reached)."""
    ensure_agent_image()
    if image_exists(tag):
        return tag
    lock = Path(tempfile.gettempdir()) / f"llmbench-task-image-{tag.replace(':', '_').replace('/', '_')}.lock"
    with FileLock(str(lock)):
        if image_exists(tag):
            return tag
        done = subprocess.run(["docker", "build", "--pull=false", "-q", "-t", tag, "--build-arg",
                               f"BASE_IMAGE={AGENT_IMAGE}", "-f",
                               str(dockerfile), str(dockerfile.parent)],
                              capture_output=True, text=True, check=False, timeout=900)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            raise RuntimeError(f"docker build {dockerfile} failed: {lines[-1] if lines else ''}")
    return tag
