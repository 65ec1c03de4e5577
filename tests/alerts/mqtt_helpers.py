"""Real MQTT for the alert tests: our own Mosquitto processes and a collecting subscriber.

The shared broker is ``mosquitto`` on 127.0.0.1:1883 (started by ``.ci/run``). Tests that stop
and start a broker run their own :class:`Mosquitto` on a free port with a temporary config.
Every test uses its own topic prefix, and clears the retained messages it left.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiomqtt

HOST = "127.0.0.1"
SHARED_PORT = 1883


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0


def unique_prefix() -> str:
    return f"hbtest-{uuid.uuid4().hex[:10]}"


class Mosquitto:
    """A Mosquitto process of our own on 127.0.0.1:``port`` (persistent sessions kept on disk)."""

    def __init__(
        self, workdir: Path, *, users: dict[str, str] | None = None, port: int | None = None
    ) -> None:
        if shutil.which("mosquitto") is None:
            raise RuntimeError("mosquitto is required by these tests (apt-get install mosquitto)")
        self.port = port or free_port()
        self.dir = workdir / f"mosquitto-{self.port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} {HOST}",
            # Started as root it would switch to the user "mosquitto", who cannot write here.
            f"user {getpass.getuser()}",
            "persistence true",
            f"persistence_location {self.dir}/",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        if users:
            password_file = self.dir / "passwords"
            for index, (user, password) in enumerate(users.items()):
                create = ["-c"] if index == 0 else []
                subprocess.run(
                    ["mosquitto_passwd", *create, "-b", str(password_file), user, password],
                    check=True,
                    capture_output=True,
                )
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines.append("allow_anonymous true")
        self.config = self.dir / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            ["mosquitto", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while not port_open(self.port):
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"mosquitto exited: {error}")
            if time.monotonic() > deadline:
                raise RuntimeError("mosquitto did not start listening")
            time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM (Mosquitto saves its sessions and queued messages) and wait."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
        deadline = time.monotonic() + 5
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.02)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


class Subscriber:
    """Subscribes to ``{prefix}/#`` with QoS 1 and collects everything in ``messages``.

    With ``client_id`` and ``clean_session=False`` the session (subscription and queued QoS 1
    messages) outlives a disconnection or a broker restart.
    """

    def __init__(
        self,
        prefix: str,
        *,
        port: int = SHARED_PORT,
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        clean_session: bool = True,
    ) -> None:
        self.topic_filter = f"{prefix}/#"
        self.messages: list[Received] = []
        self._client = aiomqtt.Client(
            HOST,
            port,
            username=username,
            password=password,
            identifier=client_id,
            clean_session=clean_session,
            timeout=5,
        )
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        await self._client.subscribe(self.topic_filter, qos=1)
        self._task = asyncio.create_task(self._collect())
        return self

    async def _collect(self) -> None:
        async for message in self._client.messages:
            payload = message.payload
            data = payload if isinstance(payload, bytes) else str(payload).encode()
            self.messages.append(Received(str(message.topic), data, message.retain))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._task
        with contextlib.suppress(aiomqtt.MqttError):
            await self._client.__aexit__(exc_type, exc, tb)

    def on(self, suffix: str) -> list[Received]:
        return [message for message in self.messages if message.topic.endswith(suffix)]

    def alerts(self) -> list[dict[str, Any]]:
        return [message.json() for message in self.messages if "/alerts/" in message.topic]

    async def wait_for(self, predicate: Callable[[Subscriber], bool], within: float = 10) -> None:
        deadline = time.monotonic() + within
        while not predicate(self):
            if time.monotonic() > deadline:
                shown = [(m.topic, m.payload[:80]) for m in self.messages[-10:]]
                raise AssertionError(f"timed out; last messages: {shown}")
            await asyncio.sleep(0.02)


async def retained(prefix: str, suffix: str, *, port: int = SHARED_PORT, **auth: Any) -> bytes:
    """The retained message of ``{prefix}/.../{suffix}`` as a new subscriber sees it."""
    async with Subscriber(prefix, port=port, **auth) as late:
        await late.wait_for(lambda sub: any(m.retain for m in sub.on(suffix)), within=5)
        return next(m.payload for m in late.on(suffix) if m.retain)


async def clear_retained(prefix: str, instance: str, *, port: int = SHARED_PORT) -> None:
    """Remove what a test left retained on the shared broker."""
    async with aiomqtt.Client(HOST, port, timeout=5) as client:
        for suffix in ("status", "state"):
            await client.publish(f"{prefix}/{instance}/{suffix}", b"", qos=1, retain=True)
