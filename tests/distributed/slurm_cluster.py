"""A one-node Slurm cluster for tests: munged, slurmctld and slurmd from Debian's packages,
on private ports, sockets and folders under one temp directory, stopped at the end.

munged runs as the ``munge`` user and slurmctld as ``slurm`` (both made by the packages);
slurmd runs as root, as Slurm's node daemon must to start jobs as their user. Needs root
(CI runs as root); ``.ci/run`` installs the packages.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "munged", "sbatch")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def available() -> str | None:
    """Why a cluster cannot start here, or None."""
    missing = [p for p in PACKAGES if shutil.which(p) is None]
    if missing:
        return f"Slurm/munge not installed ({', '.join(missing)}): apt-get install slurm-wlm munge"
    if os.geteuid() != 0:
        return "a Slurm cluster's slurmd needs root"
    for user in ("slurm", "munge"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"user {user!r} is missing (made by the slurm-wlm / munge packages)"
    return None


class SlurmCluster:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="llmbench-slurm-"))
        self.dir.chmod(0o755)
        self.conf = self.dir / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.host = socket.gethostname().split(".")[0]

    def _own(self, path: Path, user: str, mode: int) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
        path.chmod(mode)
        return path

    def start(self, timeout: float = 60.0) -> SlurmCluster:
        munge = self._own(self.dir / "munge", "munge", 0o755)  # the socket's folder: open
        key = self._own(munge / "private", "munge", 0o700) / "munge.key"
        key.write_bytes(os.urandom(1024))
        entry = pwd.getpwnam("munge")
        os.chown(key, entry.pw_uid, entry.pw_gid)
        key.chmod(0o400)
        self.socket = munge / "munge.sock"
        subprocess.run(["runuser", "-u", "munge", "--", "munged", f"--socket={self.socket}",
                        f"--key-file={key}", f"--pid-file={munge / 'munged.pid'}",
                        f"--log-file={munge / 'munged.log'}", f"--seed-file={key.parent / 'seed'}"],
                       check=True, capture_output=True)
        state = self._own(self.dir / "state", "slurm", 0o755)
        logs = self._own(self.dir / "log", "slurm", 0o777)
        spool = self.dir / "spool"
        spool.mkdir()
        cpus = os.cpu_count() or 1
        self.conf.write_text("\n".join([
            "ClusterName=llmbench",
            f"SlurmctldHost={self.host}(127.0.0.1)",
            f"SlurmctldPort={free_port()}",
            f"SlurmdPort={free_port()}",
            "SlurmUser=slurm",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            f"AuthInfo=socket={self.socket}",
            "CredType=cred/munge",
            f"StateSaveLocation={state}",
            f"SlurmdSpoolDir={spool}",
            f"SlurmctldPidFile={logs / 'slurmctld.pid'}",
            f"SlurmdPidFile={self.dir / 'slurmd.pid'}",
            f"SlurmctldLogFile={logs / 'slurmctld.log'}",
            f"SlurmdLogFile={self.dir / 'slurmd.log'}",
            "ProctrackType=proctrack/pgid",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "SchedulerType=sched/backfill",
            "ReturnToService=2",
            "MpiDefault=none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "SlurmctldTimeout=30", "SlurmdTimeout=30", "MinJobAge=300",
            f"NodeName={self.host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=1000 State=UNKNOWN",
            "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP "
            "OverSubscribe=FORCE:4",
            ""]))
        self.procs.append(subprocess.Popen(["slurmctld", "-D", "-i", "-f", str(self.conf)],
                                           env=self.env, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))
        self.procs.append(subprocess.Popen(["slurmd", "-D", "-f", str(self.conf)], env=self.env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state_line = subprocess.run(["sinfo", "-h", "-o", "%t"], env=self.env,
                                        capture_output=True, text=True).stdout.strip()
            if state_line in ("idle", "mix", "alloc"):
                return self
            time.sleep(0.5)
        raise RuntimeError(f"slurm did not come up: sinfo says {state_line!r}\n{self.logs()}")

    def logs(self) -> str:
        parts = []
        for name in ("log/slurmctld.log", "slurmd.log", "munge/munged.log"):
            path = self.dir / name
            if path.exists():
                parts.append(f"--- {name}\n" + "\n".join(path.read_text().splitlines()[-20:]))
        return "\n".join(parts)

    def sbatch(self, *args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["sbatch", *args], cwd=cwd, env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def stop(self) -> None:
        subprocess.run(["scancel", "--full", "--user=root"], env=self.env, capture_output=True)
        for proc in reversed(self.procs):
            proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        subprocess.run(["runuser", "-u", "munge", "--", "munged", f"--socket={self.socket}",
                        "--stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
