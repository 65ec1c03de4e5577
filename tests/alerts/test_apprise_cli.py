"""The Apprise channel (to a real HTTP endpoint on 127.0.0.1 through Apprise's ``json://``) and
the ``hedgebot alerts test|list`` commands, run as a user would."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.alerts import Severity, make_alert
from bot.alerts.service import AlertService
from bot.config.models import AlertsConfig
from bot.store.db import create_engine, upgrade
from bot.store.outbox import Outbox, OutboxPolicy
from tests.alerts.mqtt_helpers import HOST, Subscriber, clear_retained, free_port, unique_prefix
from tests.helpers import REPO


@dataclass
class Hook:
    """An HTTP endpoint that records Apprise's JSON posts; ``status`` is what it answers."""

    port: int
    status: int = 200
    posts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"json://{HOST}:{self.port}/hook"

    async def handle(self, request: web.Request) -> web.Response:
        document = await request.json()
        if self.status == 200:
            self.posts.append(document)
        return web.Response(status=self.status)


@pytest.fixture
async def hooks() -> AsyncIterator[Callable[[], Awaitable[Hook]]]:
    """Starts HTTP endpoints on free ports; all stopped at teardown."""
    runners: list[web.AppRunner] = []

    async def start() -> Hook:
        hook = Hook(free_port())
        app = web.Application()
        app.router.add_post("/hook", hook.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, HOST, hook.port).start()
        return hook

    try:
        yield start
    finally:
        for runner in runners:
            await runner.cleanup()


async def until(predicate: Any, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_apprise_has_its_own_marker_and_retries(
    hooks: Callable[[], Awaitable[Hook]],
    shared_broker: int,
    sqlite_engine: AsyncEngine,
    stop_later: list[AlertService],
) -> None:
    hook = await hooks()
    prefix = unique_prefix()
    config = AlertsConfig(
        enabled=True,
        port=shared_broker,
        prefix=prefix,
        instance="t",
        apprise_urls=[hook.url],
        reconnect_min_seconds=0.05,
        reconnect_max_seconds=0.2,
        poll_seconds=0.2,
    )
    hook.status = 500  # Apprise is down, MQTT is not
    service = AlertService(config, sqlite_engine)
    stop_later.append(service)
    await service.start()
    alerts = [
        make_alert("order_rejected", severity, f"n{n}", raised_at=datetime.now(UTC))
        for n, severity in enumerate([Severity.WARNING, Severity.CRITICAL, Severity.INFO])
    ]
    await service.add(alerts)
    outbox = service.outbox
    await until(lambda: _none_pending(outbox, "mqtt"))
    assert await outbox.pending_count("apprise") == 4  # daemon_started + 3
    hook.status = 200
    await until(lambda: _none_pending(outbox, "apprise"))
    assert [post["title"].split()[1] for post in hook.posts] == [
        "daemon_started",
        "order_rejected",
        "order_rejected",
        "order_rejected",
    ]
    assert [post["message"].splitlines()[0] for post in hook.posts[1:]] == ["n0", "n1", "n2"]
    assert [post["type"] for post in hook.posts[1:]] == ["warning", "failure", "info"]
    entries = await outbox.recent()
    assert all(e.mqtt.state == e.apprise.state == "delivered" for e in entries)
    await service.stop()
    await clear_retained(prefix, "t")


async def _none_pending(outbox: Outbox, channel: str) -> bool:
    return await outbox.pending_count(channel) == 0  # type: ignore[arg-type]


def write_config(tmp_path: Path, alerts: str, database: str | None = None) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    url = database or f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite'}"
    text = textwrap.dedent(
        """\
        exchange:
          id: sim
          sim: {prices: {BTC: 50000}}
        rules:
          - {asset: BTC, ratio: 1}
        database: {url: "%s"}
        """
    ) % url  # fmt: skip
    path = tmp_path / "config.yaml"
    path.write_text(text + "alerts:\n" + textwrap.indent(textwrap.dedent(alerts), "  "))
    return path


async def hedgebot(*args: str) -> tuple[int, str, str]:
    """The real CLI in a subprocess, while this event loop keeps serving (the hook, MQTT)."""
    environ = {k: v for k, v in os.environ.items() if k != "HEDGEBOT_LIVE"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args,
        cwd=REPO, env=environ,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_cli_alerts_test_reports_each_channel(
    tmp_path: Path, hooks: Callable[[], Awaitable[Hook]], shared_broker: int
) -> None:
    prefix = unique_prefix()
    hook, dead_hook = await hooks(), await hooks()
    dead_hook.status = 500
    config = write_config(
        tmp_path / "up",
        f"""\
        enabled: true
        port: {shared_broker}
        prefix: {prefix}
        apprise_urls: ["{hook.url}"]
        """,
    )
    dead = write_config(
        tmp_path / "down",
        f"""\
        enabled: true
        port: {free_port()}
        apprise_urls: ["{dead_hook.url}"]
        """,
    )
    async with Subscriber(prefix) as sub:
        (code, out, err), (dead_code, dead_out, dead_err) = await asyncio.gather(
            hedgebot("alerts", "test", "--config", str(config)),
            hedgebot("alerts", "test", "--config", str(dead)),
        )
        assert code == 0, err
        await sub.wait_for(lambda s: bool(s.alerts()))
    assert f"mqtt: OK: {prefix}/default/alerts/info/test on 127.0.0.1:{shared_broker}" in out
    assert "apprise: OK: 1 URL(s)" in out
    [alert] = sub.alerts()
    assert (alert["kind"], alert["severity"]) == ("test", "info")
    assert [post["title"] for post in hook.posts] == [f"[INFO] test ({prefix}/default)"]
    assert sub.on("/status") == []  # the test client has no Last Will and says no status

    assert dead_code == 1, dead_out + dead_err
    assert "mqtt: FAILED: broker 127.0.0.1:" in dead_out
    assert "apprise: FAILED: 1 URL(s): Apprise reported a failure" in dead_out


async def test_cli_refusals(tmp_path: Path) -> None:
    """Run together: each start-up of the CLI costs seconds."""
    disabled = write_config(tmp_path / "a", "enabled: false\n")
    no_password = write_config(
        tmp_path / "b", "enabled: true\nusername: u\npassword_env: HB_TEST_UNSET_MQTT_PASSWORD\n"
    )
    unmigrated = write_config(tmp_path / "c", "enabled: true\n")
    (code1, _, err1), (code2, _, err2), (code3, _, err3) = await asyncio.gather(
        hedgebot("alerts", "test", "--config", str(disabled)),
        hedgebot("alerts", "test", "--config", str(no_password)),
        hedgebot("alerts", "list", "--config", str(unmigrated)),
    )
    assert (code1, err1) == (1, "alerts are disabled (alerts.enabled: false): no channel to test\n")
    assert (code2, err2) == (
        2,
        "alerts.password_env: environment variable HB_TEST_UNSET_MQTT_PASSWORD is not set: it "
        "should hold the MQTT broker password\n",
    )
    assert code3 == 1
    assert "is it migrated? Run `hedgebot db upgrade --config" in err3


async def test_cli_alerts_list(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'list.sqlite'}"
    config = write_config(tmp_path, "enabled: true\n", database=url)
    await upgrade(url)
    engine = create_engine(url)
    try:
        outbox = Outbox(engine, policy=OutboxPolicy(channels=frozenset({"mqtt", "apprise"})))
        when = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
        ids = await outbox.add(
            [
                make_alert("margin_ratio", "critical", "margin 0.9", raised_at=when,
                           values={"margin_ratio": "0.9"}, instrument="BTC/USD:BTC"),
                make_alert("kill_switch", "warning", "kill switch engaged", raised_at=when),
            ]
        )  # fmt: skip
        await outbox.mark_delivered("mqtt", ids[:1], when)
    finally:
        await engine.dispose()
    (code, out, err), (code_table, table, err_table) = await asyncio.gather(
        hedgebot("alerts", "list", "--config", str(config), "--json"),
        hedgebot("alerts", "list", "--config", str(config), "--limit", "1"),
    )
    assert code == 0, err
    rows = json.loads(out)
    assert [row["kind"] for row in rows] == ["kill_switch", "margin_ratio"]  # newest first
    assert rows[1]["delivery"] == {
        "mqtt": {"state": "delivered", "delivered_at": "2026-03-01T12:00:00+00:00"},
        "apprise": {"state": "pending", "delivered_at": None},
    }
    assert rows[1]["values"] == {"margin_ratio": "0.9"}
    assert rows[1]["raised_at"] == "2026-03-01T12:00:00+00:00"
    assert code_table == 0, err_table
    assert "kill switch engaged" in table
    assert "margin 0.9" not in table
    assert "pending" in table
