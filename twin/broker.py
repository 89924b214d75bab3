"""The private Mosquitto broker under `var/mosquitto`, and parsing of broker URLs."""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from twin.services import ServiceError, give_to, is_root, port_open, require_binary, run_as, wait_for_port

SERVICE_USER = "mosquitto"


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None


def parse_mqtt_url(url: str) -> BrokerAddress:
    """mqtt://[user[:password]@]host[:port] -> address; only plain TCP MQTT is supported for now."""
    parsed = urlparse(url)
    if parsed.scheme not in {"mqtt", "tcp"}:
        raise ValueError(f"MQTT_URL must start with mqtt://, got {url!r}")
    return BrokerAddress(
        parsed.hostname or "127.0.0.1", parsed.port or 1883, parsed.username, parsed.password
    )


@dataclass(frozen=True)
class PrivateBroker:
    """A Mosquitto on loopback with persistence saved every second, so a crash loses little."""

    base_dir: Path
    port: int

    @property
    def conf(self) -> Path:
        return self.base_dir / "mosquitto.conf"

    @property
    def pid_file(self) -> Path:
        return self.base_dir / "mosquitto.pid"

    @property
    def user(self) -> str | None:
        return SERVICE_USER if is_root() else None

    def write_config(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "data").mkdir(exist_ok=True)
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {self.base_dir / 'data'}/",
            "autosave_interval 1",
            f"pid_file {self.pid_file}",
            f"log_dest file {self.base_dir / 'mosquitto.log'}",
            "max_queued_messages 100000",
            # The ingest acknowledges a batch after its commit: with Mosquitto's default of 20 messages in
            # flight per client, the broker would wait on every commit for the next 20 (about 300 msg/s).
            "max_inflight_messages 1000",
            "persistent_client_expiration 14d",
        ]
        if self.user:
            lines.append(f"user {self.user}")
        self.conf.write_text("\n".join(lines) + "\n")
        give_to(self.user, self.base_dir)

    def running(self) -> bool:
        return port_open(self.port) and self.pid_file.exists()

    def start(self) -> None:
        if self.running():
            return
        if port_open(self.port):
            raise ServiceError(f"port {self.port} is taken by another program; set TWIN_MQTT_PRIVATE_PORT")
        binary = require_binary("/usr/sbin/mosquitto", "mosquitto")
        self.write_config()
        # Started as root, mosquitto drops to the `user` of its config itself.
        run_as(None, [str(binary), "-c", str(self.conf), "-d"])
        wait_for_port(self.port, 15, what="Mosquitto")

    def stop(self) -> None:
        if not self.pid_file.exists():
            return
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(self.pid_file.read_text().strip()), signal.SIGTERM)
        self.pid_file.unlink(missing_ok=True)

    def status(self) -> str:
        return f"running on 127.0.0.1:{self.port}" if self.running() else "stopped"


def ping(address: BrokerAddress, timeout: float = 2.0) -> bool:
    """True when the broker accepts an MQTT CONNECT within `timeout` seconds."""
    import threading

    import paho.mqtt.client as mqtt

    connected = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    if address.username:
        client.username_pw_set(address.username, address.password)

    def on_connect(_c: object, _u: object, _f: object, reason: object, _p: object = None) -> None:
        if not getattr(reason, "is_failure", False):
            connected.set()

    client.on_connect = on_connect
    try:
        client.connect(address.host, address.port, keepalive=5)
        client.loop_start()
        return connected.wait(timeout)
    except OSError:
        return False
    finally:
        client.loop_stop()
        client.disconnect()
