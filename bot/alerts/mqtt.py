"""MQTT delivery: one background task that publishes the outbox with QoS 1 and never gives up.

The loop follows aiomqtt's reconnection pattern (``docs/reconnection.md``, v2.5.1): one
:class:`aiomqtt.Client`, reusable but not reentrant, entered again after every failure, with a
capped, jittered exponential backoff in between (:func:`backoff_delay`). Per connection:

1. publish ``online`` to ``{prefix}/{instance}/status`` (retained, QoS 1); the client's Last Will
   is ``offline`` on the same topic (retained, QoS 1), so a killed daemon shows ``offline``;
2. drain the outbox in ``id`` order: each alert is published with QoS 1 and aiomqtt's
   ``publish`` returns only once the broker's PUBACK arrived; only then is the row marked
   delivered. A failure stops the batch: the rest stays pending for the next connection, so the
   backlog goes out in order with the original ``raised_at``;
3. publish the newest state summary (retained), then wait for :meth:`MqttPublisher.wake`, the
   poll interval (rows staged in other transactions) or a lost connection.

On :meth:`MqttPublisher.request_stop` the task drains what is pending, publishes ``offline``
(retained) and disconnects cleanly; if the broker is unreachable it makes one last attempt and
returns. Nothing here is awaited by the daemon's tick: enqueueing is a database write only.

Delivery is at-least-once (a PUBACK lost with the connection means a resend); payloads carry
``alert_id`` for subscribers to drop duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import structlog
from pydantic import SecretStr

from bot.alerts.model import OFFLINE, ONLINE, Topics, alert_payload
from bot.config.loader import ConfigError, ConfigProblem
from bot.config.models import AlertsConfig
from bot.logs import register_secret, scrub_text
from bot.store.outbox import Outbox

log = structlog.get_logger(__name__)
# paho's protocol log (CONNECT, PUBLISH, PUBACK: never payloads or passwords), through the root
# logger's level and handlers; aiomqtt's own default logger is pinned at WARNING.
PROTOCOL_LOG = logging.getLogger("bot.alerts.mqtt.protocol")


def utc_now() -> datetime:
    return datetime.now(UTC)


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Seconds before reconnect attempt ``attempt`` (0-based): uniform in [d/2, d] with
    d = min(cap, base × 2^attempt). The jitter keeps many clients from reconnecting in step."""
    ceiling = min(cap, base * 2 ** min(attempt, 32))
    return rng.uniform(ceiling / 2, ceiling)


def resolve_password(config: AlertsConfig, environ: Mapping[str, str]) -> SecretStr | None:
    """The broker password from ``alerts.password_env`` (registered for log redaction).

    Raises ``ConfigError`` naming the variable (never its content) when it is missing or empty.
    """
    name = config.password_env
    if name is None:
        return None
    value = environ.get(name, "")
    if not value:
        state = "is empty" if name in environ else "is not set"
        raise ConfigError(
            [
                ConfigProblem(
                    "alerts.password_env",
                    None,
                    f"environment variable {name} {state}: it should hold the MQTT broker password",
                )
            ]
        )
    register_secret(value)
    return SecretStr(value)


@dataclass(frozen=True, slots=True)
class MqttSettings:
    host: str
    port: int
    topics: Topics
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    ca_file: Path | None = None
    keepalive: int = 30
    publish_timeout: float = 10.0
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0
    poll: float = 5.0
    client_id: str = field(default_factory=lambda: f"hedgebot-{uuid.uuid4().hex[:12]}")

    @classmethod
    def from_config(cls, config: AlertsConfig, environ: Mapping[str, str]) -> MqttSettings:
        """Raises ``ConfigError`` for an unset password variable or an unusable CA file."""
        if config.tls and config.ca_file is not None:
            try:
                ssl.create_default_context(cafile=str(config.ca_file))
            except (OSError, ssl.SSLError) as exc:
                problem = f"cannot use {config.ca_file} as a CA bundle: {exc}"
                raise ConfigError([ConfigProblem("alerts.ca_file", None, problem)]) from None
        return cls(
            host=config.host,
            port=config.port,
            topics=Topics(config.prefix, config.instance),
            username=config.username,
            password=resolve_password(config, environ),
            tls=config.tls,
            ca_file=config.ca_file,
            keepalive=config.keepalive_seconds,
            publish_timeout=config.publish_timeout_seconds,
            reconnect_min=config.reconnect_min_seconds,
            reconnect_max=config.reconnect_max_seconds,
            poll=config.poll_seconds,
            client_id=f"hedgebot-{config.instance}-{uuid.uuid4().hex[:8]}",
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def build_client(settings: MqttSettings, *, last_will: bool = True) -> aiomqtt.Client:
    """A client for ``settings``; with ``last_will`` the broker publishes ``offline`` (retained)
    on the status topic if the connection dies without a clean disconnect."""
    tls_context = None
    if settings.tls:
        cafile = str(settings.ca_file) if settings.ca_file is not None else None
        tls_context = ssl.create_default_context(cafile=cafile)
    will = aiomqtt.Will(settings.topics.status, OFFLINE, qos=1, retain=True) if last_will else None
    password = settings.password.get_secret_value() if settings.password is not None else None
    return aiomqtt.Client(
        settings.host,
        settings.port,
        username=settings.username,
        password=password,
        identifier=settings.client_id,
        will=will,
        tls_context=tls_context,
        timeout=settings.publish_timeout,
        keepalive=settings.keepalive,
        logger=PROTOCOL_LOG,
    )


class ConnectionLostError(aiomqtt.MqttError):
    """The connection ended while the publisher was idle."""


class MqttPublisher:
    """Publishes the outbox's ``mqtt`` rows and the retained status and state; see the module."""

    def __init__(
        self,
        settings: MqttSettings,
        outbox: Outbox,
        *,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
        batch: int = 100,
    ) -> None:
        self.settings = settings
        self._outbox = outbox
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)
        self._batch = batch
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._state: bytes | None = None
        self._state_dirty = False
        self.connected = False
        self._healthy = False  # this connection's "online" was acknowledged
        self.published = 0  # alerts acknowledged by the broker since start
        self.connections = 0

    def wake(self) -> None:
        """New rows are in the outbox: publish them now rather than at the next poll."""
        self._wake.set()

    def set_state(self, payload: bytes) -> None:
        """The newest state document; published (retained) as soon as connected. Latest wins."""
        self._state = payload
        self._state_dirty = True
        self._wake.set()

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def run(self) -> None:
        client = build_client(self.settings)
        attempt = 0
        while True:
            last_try = self.stopping
            self._healthy = False
            try:
                async with client:
                    await self._session(client)
                return
            except aiomqtt.MqttError as exc:
                problem = scrub_text(str(exc) or type(exc).__name__)
            except Exception as exc:  # e.g. the database: keep the task alive, retry later
                problem = scrub_text(repr(exc))
                log.error("mqtt_publisher_error", error=problem)
            finally:
                self.connected = False
            if self._healthy:
                attempt = 0  # the broker took our "online": start the backoff over
            if last_try:
                log.warning("mqtt_stopped_disconnected", broker=self.settings.address)
                return
            if self.stopping:
                continue  # one last attempt right away: deliver and say offline if possible
            delay = backoff_delay(
                attempt,
                base=self.settings.reconnect_min,
                cap=self.settings.reconnect_max,
                rng=self._rng,
            )
            attempt += 1
            log.warning(
                "mqtt_unavailable",
                broker=self.settings.address,
                error=problem,
                attempt=attempt,
                retry_in_s=round(delay, 3),
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=delay)

    async def _session(self, client: aiomqtt.Client) -> None:
        topics = self.settings.topics
        watcher = asyncio.create_task(_watch(client), name="hedgebot-mqtt-watch")
        publish = _Publish(client, watcher, self.settings.publish_timeout)
        try:
            await publish(topics.status, ONLINE, retain=True)
            self.connected = self._healthy = True
            self.connections += 1
            self._state_dirty = self._state is not None  # the broker may have lost it
            log.info("mqtt_connected", broker=self.settings.address, client_id=client.identifier)
            while True:
                self._wake.clear()
                await self._drain(publish)
                await self._flush_state(publish)
                if self.stopping:
                    await publish(topics.status, OFFLINE, retain=True)
                    log.info("mqtt_offline_published", broker=self.settings.address)
                    return
                await self._idle(watcher)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await watcher

    async def _drain(self, publish: _Publish) -> None:
        topics = self.settings.topics
        while entries := await self._outbox.pending("mqtt", limit=self._batch):
            acked: list[int] = []
            try:
                for entry in entries:
                    alert = entry.alert
                    topic = topics.alert(alert.severity, alert.kind)
                    await publish(topic, alert_payload(alert, published_at=self._clock()))
                    acked.append(entry.id)
            finally:
                if acked:
                    await self._outbox.mark_delivered("mqtt", acked, self._clock())
                    self.published += len(acked)
                    log.debug("mqtt_alerts_published", count=len(acked), last_id=acked[-1])

    async def _flush_state(self, publish: _Publish) -> None:
        payload = self._state
        if payload is None or not self._state_dirty:
            return
        self._state_dirty = False  # a newer set_state() during the publish marks it again
        try:
            await publish(self.settings.topics.state, payload, retain=True)
        except BaseException:
            self._state_dirty = True
            raise

    async def _idle(self, watcher: asyncio.Task[None]) -> None:
        waiter = asyncio.create_task(self._wake.wait())
        try:
            await asyncio.wait(
                {waiter, watcher},
                timeout=self.settings.poll,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            waiter.cancel()
        if watcher.done():
            watcher.result()  # raises the MqttError that ended the connection
            raise ConnectionLostError("the connection to the broker ended")


class _Publish:
    """QoS 1 publishing that also fails as soon as the connection drops.

    aiomqtt's ``publish`` waits for the PUBACK until its timeout even when the connection is
    already gone; racing it against the connection watcher fails over at once.
    """

    def __init__(self, client: aiomqtt.Client, watcher: asyncio.Task[None], timeout: float) -> None:
        self._client = client
        self._watcher = watcher
        self._timeout = timeout

    async def __call__(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        sending = asyncio.ensure_future(
            self._client.publish(topic, payload, qos=1, retain=retain, timeout=self._timeout)
        )
        try:
            await asyncio.wait({sending, self._watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not sending.done():
                sending.cancel()
                with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                    await sending
        if sending.cancelled() or not sending.done():
            if self._watcher.done():
                self._watcher.result()  # the MqttError that ended the connection
            raise ConnectionLostError("the connection to the broker ended during a publish")
        sending.result()  # the broker acknowledged it, or this raises


async def _watch(client: aiomqtt.Client) -> None:
    """Returns (raising ``MqttError``) when the connection drops: nothing is subscribed, so
    the message iterator only ever ends with the connection."""
    async for _message in client.messages:
        pass


async def publish_once(
    settings: MqttSettings, topic: str, payload: bytes, *, retain: bool = False
) -> None:
    """Connect, publish one message with QoS 1, wait for the PUBACK, disconnect (no Last Will).

    Raises ``aiomqtt.MqttError`` on any failure. Used by ``hedgebot alerts test``.
    """
    client = build_client(settings, last_will=False)
    async with client:
        await client.publish(topic, payload, qos=1, retain=retain, timeout=settings.publish_timeout)
