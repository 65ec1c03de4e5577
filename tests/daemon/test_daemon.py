"""The daemon end to end on the simulated exchange: ticks, stop, failures, both databases."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.app import open_runtime
from bot.config.loader import parse_config
from bot.config.models import Config
from bot.core.types import OrderState
from bot.daemon.runner import Daemon
from bot.exchange.errors import TemporaryExchangeError
from tests.helpers import REPO, write_config
from tests.pg import fresh_pg_url

CONFIG = """
exchange:
  id: sim
  sim:
    prices: {BTC: 50000}
    contract_size_usd: {BTC: 100}
    balances:
      spot: {BTC: 0.5}
      margin: {BTC: 1.5}
hedge: {band: 0.02, min_order_usd: 10, leverage: 2, margin_mode: cross}
rules:
  - {asset: BTC, ratio: 1}
schedule: {interval_seconds: 0.05}
database:
  url: DB_URL
"""


def make_config(db_url: str) -> Config:
    return parse_config(CONFIG.replace("DB_URL", db_url), base_dir=REPO)


async def run_ticks(config: Config, ticks: int, *, dry_run: bool = False) -> Any:
    runtime = await open_runtime(config, dry_run=dry_run, environ={})
    daemon = Daemon(runtime.hedger, interval_s=0.05, misfire_grace_s=5, max_ticks=ticks)
    try:
        stats = await daemon.run()
        positions = await runtime.port.fetch_positions(["BTC/USD:BTC"])
        ticks_rows = await runtime.store.recent_ticks("default", limit=50)
        orders = await runtime.store.orders_in_states("default", list(OrderState))
    finally:
        await runtime.close()
    return stats, positions, ticks_rows, orders


async def test_reaches_target_then_holds(tmp_path: Path) -> None:
    config = make_config(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite")
    stats, positions, ticks, orders = await run_ticks(config, 3)
    assert (stats.ticks, stats.failures) == (3, 0)
    # exposure 0.5 spot + 1.5 margin (less fees) BTC at 50,000 ≈ 100,000 USD ≈ 1000 contracts
    short = -positions["BTC/USD:BTC"].contracts
    assert Decimal(990) <= short <= Decimal(1000)
    assert [t.status for t in ticks] == ["ok", "ok", "ok"]
    # the first tick trades, later ticks are within the band: every order is from tick 1
    first_tick = min(t.id for t in ticks)
    assert orders
    assert {o.tick_id for o in orders} == {first_tick}
    assert all(o.state == OrderState.FILLED for o in orders)


async def test_dry_run_records_but_sends_nothing(tmp_path: Path) -> None:
    config = make_config(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite")
    stats, positions, _ticks, orders = await run_ticks(config, 2, dry_run=True)
    assert stats.failures == 0
    assert positions["BTC/USD:BTC"].contracts == 0
    assert orders
    assert all(o.state == OrderState.DRY_RUN for o in orders)


async def test_full_tick_on_postgresql() -> None:
    async with fresh_pg_url() as url:
        config = make_config(url)
        stats, positions, ticks, orders = await run_ticks(config, 2)
    assert stats.failures == 0
    assert [t.status for t in ticks] == ["ok", "ok"]
    assert -positions["BTC/USD:BTC"].contracts >= Decimal(990)
    assert all(o.state == OrderState.FILLED for o in orders)


class FlakyPort:
    """Wraps a port; ``fetch_time`` fails on the listed calls (1-based)."""

    def __init__(self, inner: Any, fail_on: Sequence[int]) -> None:
        self._inner = inner
        self._fail_on = set(fail_on)
        self._calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def fetch_time(self) -> Any:
        self._calls += 1
        if self._calls in self._fail_on:
            raise TemporaryExchangeError("simulated outage")
        return await self._inner.fetch_time()


async def test_a_failed_tick_never_stops_the_daemon(tmp_path: Path) -> None:
    config = make_config(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite")
    runtime = await open_runtime(config, dry_run=False, environ={})
    runtime.hedger.port = FlakyPort(runtime.port, fail_on=[2, 3])  # type: ignore[assignment]
    daemon = Daemon(runtime.hedger, interval_s=0.05, misfire_grace_s=5, max_ticks=5)
    try:
        stats = await daemon.run()
        ticks = await runtime.store.recent_ticks("default", limit=10)
    finally:
        await runtime.close()
    assert (stats.ticks, stats.failures) == (5, 2)
    statuses = [t.status for t in sorted(ticks, key=lambda t: t.id)]
    assert statuses == ["ok", "failed", "failed", "ok", "ok"]
    failed = [t for t in ticks if t.status == "failed"]
    assert all("simulated outage" in (t.error or "") for t in failed)


def test_sigterm_finishes_the_tick_and_exits_cleanly(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    config = write_config(
        tmp_path,
        CONFIG.replace("DB_URL", f"sqlite+aiosqlite:///{db}").replace(
            "interval_seconds: 0.05", "interval_seconds: 0.2"
        ),
    )
    env = {k: v for k, v in os.environ.items() if k != "HEDGEBOT_LIVE"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 60
        seen = ""
        assert proc.stdout is not None
        while time.monotonic() < deadline and seen.count("tick ") < 3:
            line = proc.stdout.readline()
            if not line:
                break
            seen += line
        assert seen.count("tick ") >= 3, seen
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert "daemon_stopped" in err
    with sqlite3.connect(db) as conn:
        statuses = {row[0] for row in conn.execute("select status from ticks")}
        pending = conn.execute(
            "select count(*) from orders where state in ('PENDING', 'UNKNOWN')"
        ).fetchone()[0]
    assert statuses == {"ok"}  # nothing left half-written as "running"
    assert pending == 0


def test_logs_are_json_outside_a_terminal(tmp_path: Path) -> None:
    import json

    db = tmp_path / "db.sqlite"
    config = write_config(tmp_path, CONFIG.replace("DB_URL", f"sqlite+aiosqlite:///{db}"))
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config), "--ticks", "1"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    events: list[Mapping[str, Any]] = [
        json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")
    ]
    names = {e["event"] for e in events}
    assert {"exposure", "target", "hedge", "order_planned", "order_sent"} <= names
    planned = next(e for e in events if e["event"] == "order_planned")
    assert {"symbol", "side", "contracts", "reduce_only", "client_order_id", "tick_id"} <= set(
        planned
    )


@pytest.mark.parametrize("signal_name", ["SIGINT"])
def test_sigint_also_stops(tmp_path: Path, signal_name: str) -> None:
    db = tmp_path / "db.sqlite"
    config = write_config(tmp_path, CONFIG.replace("DB_URL", f"sqlite+aiosqlite:///{db}"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        while "tick " not in proc.stdout.readline():
            pass
        proc.send_signal(getattr(signal, signal_name))
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
