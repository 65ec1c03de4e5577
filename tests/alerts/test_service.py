"""AlertService, the daemon's entry point: never raises into the tick, remembers its conditions
across restarts, and is a no-op when disabled. No broker is reachable in these tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.alerts import TickObservation
from bot.alerts.service import AlertService
from bot.config.models import AlertsConfig
from bot.store.db import create_engine, upgrade
from tests.alerts.mqtt_helpers import free_port

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def enabled() -> AlertsConfig:
    return AlertsConfig(enabled=True, port=free_port(), reconnect_min_seconds=0.05)


async def test_database_trouble_never_reaches_the_tick(
    tmp_path: Path, stop_later: list[AlertService]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'late.sqlite'}"  # not migrated yet
    engine = create_engine(url)
    try:
        service = AlertService(enabled(), engine, clock=lambda: T0)
        stop_later.append(service)
        await service.start()  # no tables: logged, not raised
        [alert] = await service.observe(TickObservation(T0, kill_switch=True))
        assert alert.kind == "kill_switch"
        await upgrade(url)
        assert (
            await service.observe(TickObservation(T0 + timedelta(minutes=1), kill_switch=True))
            == []
        )
        kinds = [entry.alert.kind for entry in await service.outbox.recent()]
        assert kinds == ["kill_switch", "daemon_started"]  # kept in memory, written later
        assert set(await service.outbox.load_conditions()) == {
            "kill_switch.engaged",
            "daemon.running",
        }
        await service.stop(drain_s=0.2)
    finally:
        await engine.dispose()


async def test_conditions_survive_a_restart(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        first = AlertService(enabled(), engine)
        await first.start()
        assert len(await first.observe(TickObservation(T0, kill_switch=True))) == 1
        await first.stop(drain_s=0.2)

        second = AlertService(enabled(), engine)
        started = await second.start()
        assert [alert.kind for alert in started] == ["daemon_started"]  # the stop was clean
        later = T0 + timedelta(minutes=5)
        assert await second.observe(TickObservation(later, kill_switch=True)) == []  # still known
        [cleared] = await second.observe(TickObservation(later, kill_switch=False))
        assert (cleared.kind, cleared.status.value) == ("kill_switch", "cleared")
        await second.stop(drain_s=0.2)
    finally:
        await engine.dispose()


async def test_disabled_alerts_touch_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'none.sqlite'}"  # no tables at all
    engine = create_engine(url)
    try:
        service = AlertService(AlertsConfig(), engine)
        assert await service.start() == []
        assert await service.observe(TickObservation(T0, kill_switch=True)) == []
        service.publish_state({"x": 1})
        service.notify()
        await service.stop()
        assert service.publisher is None
    finally:
        await engine.dispose()
