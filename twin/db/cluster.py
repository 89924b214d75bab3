"""The private PostgreSQL + PostGIS cluster under `var/pg`, run from the Debian packages' binaries."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from twin.services import ServiceError, give_to, port_open, require_binary, run_as, wait_for_port

PG_BASE = Path("/usr/lib/postgresql")
SERVICE_USER = "postgres"


def pg_bin_dir() -> Path:
    """The newest installed server version's bin directory (Debian layout)."""
    versions = sorted((p for p in PG_BASE.glob("*/bin/initdb")), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise ServiceError("PostgreSQL server binaries not found: install postgresql-15-postgis-3")
    return versions[-1].parent


@dataclass(frozen=True)
class Cluster:
    """A private cluster: data directory and port. Trust auth, listening on loopback only."""

    data_dir: Path
    port: int

    @property
    def user(self) -> str | None:
        return SERVICE_USER if shutil.which("runuser") else None

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / "postgres.log"

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        if self.initialised():
            return
        initdb = require_binary(pg_bin_dir() / "initdb", "postgresql-15")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        give_to(self.user, self.data_dir.parent)
        run_as(
            self.user,
            [
                str(initdb),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
        )
        conf = self.data_dir / "postgresql.auto.conf"
        with conf.open("a") as fh:
            fh.write(
                f"port = {self.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.data_dir}'\n"
                "shared_buffers = '512MB'\n"
                "max_connections = 200\n"
                "wal_level = 'minimal'\n"
                "max_wal_senders = 0\n"
            )
        give_to(self.user, self.data_dir)

    def running(self) -> bool:
        return self.initialised() and port_open(self.port)

    def start(self) -> None:
        self.init()
        if self.running():
            return
        if port_open(self.port):
            raise ServiceError(f"port {self.port} is taken by another program; set TWIN_DB_PRIVATE_PORT")
        give_to(self.user, self.log_file.parent)
        pg_ctl = pg_bin_dir() / "pg_ctl"
        run_as(
            self.user,
            [str(pg_ctl), "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60", "start"],
        )
        wait_for_port(self.port, 30, what="PostgreSQL")

    def stop(self) -> None:
        if not self.initialised():
            return
        pg_ctl = pg_bin_dir() / "pg_ctl"
        status = run_as(self.user, [str(pg_ctl), "-D", str(self.data_dir), "status"], check=False)
        if status.returncode == 0:
            run_as(self.user, [str(pg_ctl), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])

    def status(self) -> str:
        if not self.initialised():
            return "not initialised"
        return f"running on 127.0.0.1:{self.port}" if self.running() else "stopped"
