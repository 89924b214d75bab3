"""Private services under the data directory: helpers shared by the PostGIS cluster and the broker.

A fresh machine has no database or broker of ours, so the `twin` command can run its own, each as an
unprivileged system user when invoked as root (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


class ServiceError(RuntimeError):
    """A private service could not be set up or started; the message says what to do."""


def is_root() -> bool:
    return os.geteuid() == 0


def run_as(user: str | None, argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command, as `user` through runuser when we are root, else as ourselves."""
    cmd = list(argv)
    if user and is_root():
        cmd = ["runuser", "-u", user, "--", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise ServiceError(
            f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout}"
        )
    return proc


def give_to(user: str | None, path: Path) -> None:
    """Make `path` (and its contents) owned by `user` when we are root, so the service can write it."""
    if not (user and is_root()):
        return
    entry = pwd.getpwnam(user)
    for p in [path, *path.rglob("*")]:
        os.chown(p, entry.pw_uid, entry.pw_gid)
    # The service user must be able to reach the directory through its parents.
    for parent in path.parents:
        if parent == Path("/"):
            break
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o001)


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(port: int, seconds: float, *, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.1)
    raise ServiceError(f"{what} did not accept connections on 127.0.0.1:{port} within {seconds:.0f} s")


def require_binary(path: str | Path, package: str) -> Path:
    found = Path(path) if Path(path).is_absolute() else shutil.which(str(path))
    if not found or not Path(found).exists():
        raise ServiceError(f"{path} not found: install the Debian package {package} (make setup does)")
    return Path(found)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
