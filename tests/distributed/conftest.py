"""Real services for the distributed tests: a Redis server and a one-node Slurm cluster.

CI installs them (`.ci/run`) and sets LLMBENCH_REQUIRE_SERVICES=1, so there they never skip.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.distributed.slurm_cluster import SlurmCluster, available, free_port


def _unavailable(reason: str) -> None:
    if os.environ.get("LLMBENCH_REQUIRE_SERVICES"):
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A private redis-server on a free loopback port (as the `redis` user when root)."""
    binary = shutil.which("redis-server")
    if binary is None:
        _unavailable("redis-server not installed (apt-get install redis-server)")
    folder = Path(tempfile.mkdtemp(prefix="llmbench-redis-"))
    port = free_port()
    command = [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(folder)]
    if os.geteuid() == 0:
        entry = pwd.getpwnam("redis") if _has_user("redis") else pwd.getpwnam("nobody")
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        command = ["runuser", "-u", entry.pw_name, "--", *command]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not answer")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(folder, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture(scope="session")
def slurm() -> Iterator[SlurmCluster]:
    reason = available()
    if reason:
        _unavailable(reason)
    cluster = SlurmCluster().start()
    yield cluster
    cluster.stop()
