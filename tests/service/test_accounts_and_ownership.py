"""Several accounts in one daemon, and one owner per account across daemons."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from bot.app import open_service
from bot.config.loader import parse_config
from bot.config.models import SimBalances, SimConfig
from bot.daemon.runner import Daemon
from bot.emulator import RunningEmulator, start_emulator
from bot.emulator.faults import Fault, FaultKind
from tests.helpers import REPO
from tests.pg import fresh_pg_url

ENV = {"HEDGEBOT_API_KEY": "test-key", "HEDGEBOT_API_SECRET": "test-secret"}
BTC = "BTC/USD:BTC"


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    sim = SimConfig(
        prices={"BTC": Decimal(50_000)},
        balances=SimBalances(spot={"BTC": Decimal("0.5")}, margin={"BTC": Decimal("1.5")}),
    )
    emu = await start_emulator(sim)
    yield emu
    await emu.stop()


def sim_account(name: str, coin_price: int) -> str:
    return f"""
  - name: {name}
    exchange:
      id: sim
      sim:
        prices: {{BTC: {coin_price}}}
        balances: {{spot: {{BTC: 0.5}}, margin: {{BTC: 1.5}}}}
    rules:
      - {{asset: BTC, ratio: 1}}
"""


async def test_one_slow_account_never_stalls_the_others(
    tmp_path: Path, emulator: RunningEmulator
) -> None:
    # every request to the "slow" account's exchange hangs past the client timeout
    emulator.faults.add(Fault(kind=FaultKind("timeout"), path="*", count=10_000, delay_s=30))
    text = (
        textwrap.dedent(f"""
        exchange:
          id: sim
          sim:
            prices: {{BTC: 50000}}
            balances: {{spot: {{BTC: 0.5}}, margin: {{BTC: 1.5}}}}
        rules:
          - {{asset: BTC, ratio: 1}}
        hedge: {{leverage: 2}}
        schedule: {{interval_seconds: 0.25, misfire_grace_seconds: 5}}
        database: {{url: "sqlite+aiosqlite:///{tmp_path}/db.sqlite"}}
        accounts:
        """)
        + sim_account("second", 50_000)
        + f"""
  - name: slow
    exchange:
      id: bybit
      url: {emulator.url}
      timeout_ms: 3000
    rules:
      - {{asset: BTC, ratio: 1}}
"""
    )
    config = parse_config(text, base_dir=REPO)
    service = await open_service(config, dry_run=False, environ=ENV)
    daemon = Daemon(service.hedgers, interval_s=0.25, misfire_grace_s=5)
    starts: dict[str, list[float]] = {"default": [], "second": []}

    def stamp(name: str) -> None:
        starts[name].append(time.monotonic())

    for account in service.accounts:
        if account.name in starts:
            account.hedger.listeners.append(lambda _o, n=account.name: stamp(n))  # type: ignore[misc]
    try:
        runner = asyncio.create_task(daemon.run())
        await asyncio.sleep(5)
        daemon.request_stop("test over")
        stats = await asyncio.wait_for(runner, 60)
    finally:
        await service.close()
    fast = {name: stats.by_account[name] for name in ("default", "second")}
    for name, account_stats in fast.items():
        assert account_stats.failures == 0, name
        # 5 s at 0.25 s is 20 periods; a slow call (3 s timeout, retried) that stalled the
        # others would leave them a handful of ticks and gaps of 9 s or more
        assert len(starts[name]) >= 10, (name, len(starts[name]))
        gaps = sorted(b - a for a, b in zip(starts[name], starts[name][1:], strict=False))
        assert gaps[len(gaps) // 2] < 0.6, (name, gaps)  # the median gap is the period
        assert gaps[-1] < 4.0, (name, gaps[-1])
    slow = stats.by_account["slow"]
    assert slow.last_ok_at is None  # it never managed a tick
    assert slow.failures >= 1


async def _read_until(stream: asyncio.StreamReader, marker: str, within_s: float) -> float:
    """Seconds until a line containing ``marker`` appears on ``stream``."""
    started = time.monotonic()
    while True:
        line = await asyncio.wait_for(stream.readline(), within_s)
        if not line:
            raise AssertionError(f"stream ended before {marker!r}")
        if marker in line.decode():
            return time.monotonic() - started


async def test_two_daemons_one_owner_and_takeover_within_two_ticks(
    tmp_path: Path, emulator: RunningEmulator
) -> None:
    interval = 1.0
    async with fresh_pg_url() as url:
        config = tmp_path / "config.yaml"
        config.write_text(
            textwrap.dedent(f"""
            exchange:
              id: bybit
              url: {emulator.url}
              timeout_ms: 3000
              order_lookup_grace_seconds: 0
            rules:
              - {{asset: BTC, ratio: 1}}
            hedge: {{leverage: 2}}
            schedule: {{interval_seconds: {interval}}}
            logging: {{format: json}}
            database: {{url: "{url}"}}
            """)
        )
        env = {**os.environ, **ENV}

        async def spawn() -> asyncio.subprocess.Process:
            return await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                "--config",
                str(config),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                cwd=REPO,
                env=env,
            )

        first = await spawn()
        second: asyncio.subprocess.Process | None = None
        try:
            assert first.stderr is not None
            await _read_until(first.stderr, '"account_acquired"', 60)
            await _read_until(first.stderr, '"order_sent"', 30)
            second = await spawn()
            assert second.stderr is not None
            await _read_until(second.stderr, '"account_owned_elsewhere"', 60)
            # the standby replica sends nothing while the first one owns the account
            orders_before = len(emulator.engine.order_history())
            await asyncio.sleep(3 * interval)
            assert len(emulator.engine.order_history()) == orders_before
            first.send_signal(signal.SIGKILL)
            await first.wait()
            took = await _read_until(second.stderr, '"account_acquired"', 30)
            assert took <= 2 * interval + 0.5, took
            await asyncio.sleep(3 * interval)
        finally:
            for proc in (first, second):
                if proc is not None and proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
                    await asyncio.wait_for(proc.wait(), 30)
    ids = [o.status.client_order_id for o in emulator.engine.order_history()]
    assert len(ids) == len(set(ids))  # no duplicate order in the emulator's log
    position = emulator.engine.positions([BTC])[BTC]
    exposure_usd = Decimal(2) * Decimal(50_000)  # 0.5 spot + 1.5 margin, before fees
    assert exposure_usd * Decimal("0.97") <= -position.contracts <= exposure_usd


async def _first_of(
    streams: list[asyncio.StreamReader], markers: tuple[str, ...], within_s: float
) -> dict[int, str]:
    """For each stream, the first of ``markers`` to appear on it."""

    async def one(stream: asyncio.StreamReader) -> str:
        while True:
            line = (await stream.readline()).decode()
            if not line:
                raise AssertionError(f"stream ended before any of {markers}")
            for marker in markers:
                if marker in line:
                    return marker

    found = await asyncio.wait_for(asyncio.gather(*(one(s) for s in streams)), within_s)
    return dict(enumerate(found))


async def test_two_daemons_started_at_once_on_a_fresh_database_one_owns_the_other_takes_over(
    tmp_path: Path, emulator: RunningEmulator
) -> None:
    """Issue 15, defect 6: both raced on the migrations and one exited 1 with an IntegrityError
    on ``alembic_version``; when the survivor was killed, nobody took over."""
    async with fresh_pg_url() as url:
        config = tmp_path / "config.yaml"
        config.write_text(
            textwrap.dedent(f"""
            exchange: {{id: bybit, url: {emulator.url}, timeout_ms: 3000}}
            rules:
              - {{asset: BTC, ratio: 1}}
            hedge: {{leverage: 2}}
            schedule: {{interval_seconds: 1}}
            logging: {{format: json}}
            database: {{url: "{url}"}}
            """)
        )
        env = {**os.environ, **ENV}
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "bot.cli", "run", "--config", str(config)),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                cwd=REPO,
                env=env,
            )
            for _ in range(2)
        ]
        try:
            streams = [p.stderr for p in procs if p.stderr is not None]
            markers = ('"account_acquired"', '"account_owned_elsewhere"')
            roles = await _first_of(streams, markers, 90)
            assert sorted(roles.values()) == ['"account_acquired"', '"account_owned_elsewhere"']
            assert all(p.returncode is None for p in procs)  # neither died on the migrations
            owner = next(i for i, role in roles.items() if role == '"account_acquired"')
            procs[owner].send_signal(signal.SIGKILL)
            await procs[owner].wait()
            await _read_until(streams[1 - owner], '"account_acquired"', 30)
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
                    await asyncio.wait_for(proc.wait(), 30)
