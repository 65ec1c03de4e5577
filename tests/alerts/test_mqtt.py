"""Delivery over a real Mosquitto on 127.0.0.1: alerts, retained status and state, the Last Will,
outages with backlog and the outbox bound."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.alerts import Alert, InstrumentObservation, Severity, TickObservation, make_alert
from bot.alerts.service import AlertService
from bot.config.models import AlertsConfig
from tests.alerts.mqtt_helpers import (
    Mosquitto,
    Subscriber,
    clear_retained,
    retained,
    unique_prefix,
)
from tests.helpers import REPO

FAST = {"reconnect_min_seconds": 0.05, "reconnect_max_seconds": 0.3, "poll_seconds": 0.2}


def config(prefix: str, port: int, **overrides: object) -> AlertsConfig:
    return AlertsConfig.model_validate(
        {"enabled": True, "port": port, "prefix": prefix, "instance": "t", **FAST, **overrides}
    )


async def until(predicate: object, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


@pytest.fixture
async def prefix(shared_broker: int) -> AsyncIterator[str]:
    name = unique_prefix()
    yield name
    await clear_retained(name, "t")


async def test_alerts_status_and_state_reach_a_subscriber(
    prefix: str, shared_broker: int, sqlite_engine: AsyncEngine
) -> None:
    service = AlertService(config(prefix, shared_broker), sqlite_engine)
    async with Subscriber(prefix) as sub:
        await service.start()
        observation = TickObservation(
            datetime.now(UTC),
            [InstrumentObservation("BTC/USD:BTC", asset="BTC", margin_ratio=Decimal("0.62"))],
        )
        [raised] = await service.observe(observation)
        service.publish_state({"exposures": {"BTC": Decimal("1.50")}, "hedges": []})
        await sub.wait_for(lambda s: len(s.alerts()) == 2 and bool(s.on("/state")))
        started, margin = sub.alerts()
        assert started["kind"] == "daemon_started"
        assert margin["alert_id"] == raised.alert_id
        assert margin["values"] == {"margin_ratio": "0.62", "threshold": "0.5"}
        assert margin["raised_at"] == observation.now.isoformat()
        assert margin["published_at"] >= margin["raised_at"]
        topic = next(m.topic for m in sub.messages if "/alerts/" in m.topic and "margin" in m.topic)
        assert topic == f"{prefix}/t/alerts/warning/margin_ratio"
        assert [m.payload for m in sub.on("/status")] == [b"online"]

        # Retained: what a subscriber arriving later sees first.
        assert await retained(prefix, "/status") == b"online"
        state = sub.on("/state")[-1].json()
        assert state["exposures"] == {"BTC": "1.5"}
        assert (await retained(prefix, "/state")).startswith(b'{"account":"default"')

        await service.stop(reason="test")
        await sub.wait_for(lambda s: [m.payload for m in s.on("/status")][-1:] == [b"offline"])
        assert sub.alerts()[-1]["kind"] == "daemon_stopped"
    assert await retained(prefix, "/status") == b"offline"
    entries = await service.outbox.recent()
    assert all(entry.mqtt.state == "delivered" for entry in entries)


async def test_last_will_says_offline_when_the_publisher_is_killed(
    prefix: str, shared_broker: int, sqlite_url: str, tmp_path: Path
) -> None:
    log_path = tmp_path / "publisher.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.alerts.publisher_proc", "hold", "--db", sqlite_url,
            "--port", str(shared_broker), "--prefix", prefix, "--instance", "t",
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
    try:
        async with Subscriber(prefix) as sub:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 20)
            assert line.strip() == b"ready", log_path.read_text()
            assert await retained(prefix, "/status") == b"online"
            process.send_signal(signal.SIGKILL)
            await asyncio.wait_for(process.wait(), 10)
            await sub.wait_for(
                lambda s: [m.payload for m in s.on("/status")][-1:] == [b"offline"], within=10
            )
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert await retained(prefix, "/status") == b"offline"


def mixed(count: int, start: datetime, label: str = "backlog") -> list[Alert]:
    """Per 10: 2 critical, 3 warning, 5 info; one second apart, in the past."""
    severities = [Severity.CRITICAL] * 2 + [Severity.WARNING] * 3 + [Severity.INFO] * 5
    return [
        make_alert(
            "order_rejected",
            severities[n % 10],
            f"{label} {n}",
            raised_at=start + timedelta(seconds=n),
            values={"n": n},
        )
        for n in range(count)
    ]


async def test_outage_backlog_arrives_once_in_order_with_original_times(
    tmp_path: Path, sqlite_engine: AsyncEngine
) -> None:
    """Broker down at start, then up, then down again while 200 alerts are raised, then up.

    The subscriber keeps a persistent session (the broker queues QoS 1 messages for it while it
    is away). After dedup by alert_id every critical and warning alert arrives exactly once, in
    order, with its original raised_at; info alerts beyond the bound were dropped, oldest first.
    """
    prefix = unique_prefix()
    broker = Mosquitto(tmp_path)
    subscriber = {"client_id": f"sub-{prefix}", "clean_session": False, "port": broker.port}
    with broker:  # register the persistent subscription, then go away
        async with Subscriber(prefix, **subscriber):  # type: ignore[arg-type]
            pass
    service = AlertService(config(prefix, broker.port, max_rows=150), sqlite_engine)

    # 1. Down at start: hedging (enqueueing) is not held up.
    began = time.monotonic()
    await service.start()
    early = mixed(3, datetime(2026, 1, 1, tzinfo=UTC), label="early")
    await service.add(early)
    assert time.monotonic() - began < 2.0
    assert service.publisher is not None
    assert not service.publisher.connected
    with broker:
        await until(lambda: _delivered(service))
    assert service.publisher.connections == 1

    # 2. Down again: 200 alerts raised one by one, each a quick database write.
    start = datetime(2026, 2, 1, tzinfo=UTC)
    backlog = mixed(200, start)
    slowest = 0.0
    for alert in backlog:
        began = time.monotonic()
        await service.add([alert])
        slowest = max(slowest, time.monotonic() - began)
    assert slowest < 1.0
    assert await service.outbox.pending_count("mqtt") <= 150

    # 3. Back: the backlog goes out; the subscriber comes back to its session.
    with broker:
        await until(lambda: _delivered(service), within=20)
        async with Subscriber(prefix, **subscriber) as sub:  # type: ignore[arg-type]
            await sub.wait_for(lambda s: any(a["message"] == "backlog 199" for a in s.alerts()))
        await service.stop(reason="test")

    received = [a for a in sub.alerts() if a["message"].startswith("backlog")]
    unique: dict[str, dict[str, object]] = {}
    for document in received:
        unique.setdefault(str(document["alert_id"]), document)
    got = list(unique.values())
    important = [a for a in backlog if a.severity is not Severity.INFO]
    got_important = [a for a in got if a["severity"] != "info"]
    assert [a["alert_id"] for a in got_important] == [a.alert_id for a in important]
    for sent, document in zip(important, got_important, strict=True):
        assert document["raised_at"] == sent.raised_at.isoformat()
        assert str(document["published_at"]) > str(document["raised_at"])
    # 100 warnings and criticals + 50 info fit in 150 rows: the oldest 50 info were dropped.
    infos = [a for a in backlog if a.severity is Severity.INFO]
    assert [a["alert_id"] for a in got if a["severity"] == "info"] == [
        a.alert_id for a in infos[50:]
    ]
    ids = [a.alert_id for a in backlog]
    assert [ids.index(str(a["alert_id"])) for a in got] == sorted(
        ids.index(str(a["alert_id"])) for a in got
    )  # one order overall


async def _delivered(service: AlertService) -> bool:
    return await service.outbox.pending_count("mqtt") == 0


async def test_publisher_survives_a_broker_that_is_never_there(
    sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    broker = Mosquitto(tmp_path)  # configured, never started
    service = AlertService(config(unique_prefix(), broker.port), sqlite_engine)
    await service.start()
    for n in range(20):
        await service.observe(TickObservation(datetime.now(UTC), kill_switch=n % 2 == 0))
    await asyncio.sleep(0.5)
    assert service.publisher is not None
    assert not service.publisher.connected
    began = time.monotonic()
    await service.stop(drain_s=1.0)
    assert time.monotonic() - began < 3.0
    assert await service.outbox.pending_count("mqtt") >= 2  # kept for the next start
