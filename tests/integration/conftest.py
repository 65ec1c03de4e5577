"""Acceptance fixtures: the Bybit emulator served on 127.0.0.1 from the test's own event loop,
and hedgebot pointed at it through the real ccxt client (``exchange.id: bybit``,
``exchange.url``: the emulator), either in-process (``open_runtime``, ``Hedger.tick``) or as the
``hedgebot run`` subprocess.

The world (``SIM``): BTC at 50,000 USD, Bybit's 1-USD inverse contracts, 1 BTC spot and 0.5 BTC
margin, Bybit's taker fee. The one rule hedges all BTC, so the target short is
floor((spot + margin) × price) contracts (``Venue.target``). The emulator's market clock is
manual: it moves only when a test moves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Runtime, open_runtime
from bot.config.loader import parse_config
from bot.config.models import Config, SimConfig
from bot.emulator import RunningEmulator, start_emulator
from bot.exchange.ccxt_port import CcxtPort
from tests.helpers import REPO

D = Decimal
BTC = "BTC/USD:BTC"
PRICE = D(50_000)
# Distinctive credentials, so that a leak is found by a plain substring search.
KEY = "hb-acceptance-key-5c1d"
SECRET = "hb-acceptance-secret-9e72b04a"
ENV = {"HEDGEBOT_API_KEY": KEY, "HEDGEBOT_API_SECRET": SECRET}

SIM: dict[str, Any] = {
    "prices": {"BTC": "50000"},
    "contract_size_usd": {"BTC": "1"},  # Bybit's inverse perpetuals: 1 USD a contract
    # 1.5 BTC hedged at 5x, backed by 1 BTC of margin: liquidation at 149,250 (+198 %), past the
    # default 50 % distance (0.5 BTC of margin would carry only ~98 % of the hedge).
    "balances": {"spot": {"BTC": "0.5"}, "margin": {"BTC": "1"}},
    "fee_rate": "0.00055",
    "funding_rate": {"BTC": "0.0001"},
    "funding_interval_hours": 8,
    "api_key": KEY,
    "secret": SECRET,
}

UNRESOLVED = ("PENDING", "UNKNOWN", "OPEN", "PARTIALLY_FILLED")


def merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` applied; nested mappings are merged, not replaced."""
    result = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def settings(url: str, db: Path, **overrides: Any) -> dict[str, Any]:
    """The config document (as plain data) for hedgebot against the emulator at ``url``."""
    base: dict[str, Any] = {
        "exchange": {
            "id": "bybit",
            "url": url,
            "timeout_ms": 1500,
            "pause_on_unavailable_seconds": 0.3,
            "sim": SIM,
        },
        "rules": [{"asset": "BTC", "ratio": 1}],
        "hedge": {"band": "0.02", "min_order_usd": 10, "leverage": 5, "margin_mode": "cross"},
        "limits": {"max_order_usd": 100_000, "max_total_short_usd": 200_000},
        "schedule": {"interval_seconds": 0.2, "misfire_grace_seconds": 5},
        "database": {"url": f"sqlite+aiosqlite:///{db}"},
        "logging": {"level": "INFO", "format": "json"},
    }
    return merged(base, overrides)


class Venue:
    """The running emulator and its /admin API (JSON over HTTP, as an operator would)."""

    def __init__(self, running: RunningEmulator, session: aiohttp.ClientSession) -> None:
        self.running = running
        self.session = session

    @property
    def url(self) -> str:
        return self.running.url

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        async with self.session.request(method, self.url + path, json=body) as response:
            data = await response.json()
            assert response.status == 200, data
            return data

    async def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return await self.call("POST", path, dict(body))

    async def fault(self, kind: str, **fields: Any) -> None:
        await self.post("/admin/faults", {"kind": kind, **fields})

    async def clear_faults(self) -> None:
        await self.call("DELETE", "/admin/faults")

    async def pending_faults(self) -> list[dict[str, Any]]:
        faults: list[dict[str, Any]] = (await self.call("GET", "/admin/faults"))["faults"]
        return faults

    async def orders(self) -> list[dict[str, Any]]:
        """Every order the emulator received, refused ones included, oldest first."""
        orders: list[dict[str, Any]] = (await self.call("GET", "/admin/orders?all=1"))["orders"]
        return orders

    async def move(self, action: str, coin: str, amount: str, wallet: str = "spot") -> None:
        """``action`` is deposit or withdraw."""
        await self.post(f"/admin/{action}", {"coin": coin, "amount": amount, "wallet": wallet})

    def short(self) -> Decimal:
        """Short BTC contracts held on the emulator (positive for a short)."""
        position = self.running.engine.positions([BTC]).get(BTC)
        return D(0) if position is None else -position.contracts

    def target(self) -> Decimal:
        """The hedge the account's BTC calls for now: floor((spot + margin) × price) contracts."""
        engine = self.running.engine
        coins = engine.spot_balances().get("BTC", D(0)) + engine.margin_wallets()["BTC"].balance
        return (coins * PRICE).quantize(D(1), rounding=ROUND_FLOOR)

    def fault_requests(self) -> list[tuple[str, str]]:
        """(path, fault kind) of every request a fault answered, or held, so far."""
        return [(r.path, r.fault) for r in self.running.state.requests if r.fault]


@dataclass
class Bot:
    """Configs and in-process runtimes of hedgebot against ``venue``; runtimes are closed at the
    end of the test."""

    venue: Venue
    tmp_path: Path
    runtimes: list[Runtime] = field(default_factory=list)

    @property
    def db(self) -> Path:
        return self.tmp_path / "hedgebot.sqlite"

    def document(self, **overrides: Any) -> dict[str, Any]:
        return settings(self.venue.url, self.db, **overrides)

    def config(self, **overrides: Any) -> Config:
        return parse_config(self.yaml(**overrides), base_dir=self.tmp_path)

    def yaml(self, **overrides: Any) -> str:
        """The config file's text: JSON, which is YAML; numbers given as Decimal go as text."""
        return json.dumps(self.document(**overrides), indent=2, default=str)

    def write(self, name: str = "hedgebot.yaml", **overrides: Any) -> Path:
        path = self.tmp_path / name
        path.write_text(self.yaml(**overrides))
        return path

    async def open(
        self,
        config: Config | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        paced: bool = False,
    ) -> Runtime:
        """``open_runtime`` (migrate, build, prepare), as ``hedgebot run`` does. Unless
        ``paced``, ccxt's client-side throttle (Bybit's request weights, ~100 ms a request) is
        off, as in tests/emulator: the emulator needs no pacing and the suite stays fast."""
        runtime = await open_runtime(
            config or self.config(), dry_run=False, environ=ENV if environ is None else environ
        )
        self.runtimes.append(runtime)
        assert isinstance(runtime.port, CcxtPort)  # the real ccxt client, not the simulator
        runtime.port.client.enableRateLimit = paced
        return runtime

    async def close(self, runtime: Runtime) -> None:
        self.runtimes.remove(runtime)
        await runtime.close()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return db_rows(self.db, sql)


def db_rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` on the SQLite file (WAL: what writers have committed); [] before the
    daemon has created the file or its tables."""
    if not db.exists():
        return []
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        try:
            return list(conn.execute(sql))
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise


def order_rows(db: Path) -> list[tuple[str, str, str, Decimal, Decimal, bool]]:
    """(client id, state, side, contracts, filled, reduce-only) of every stored order, in order."""
    return [
        (cid, state, side, D(contracts), D(filled), bool(reduce_only))
        for cid, state, side, contracts, filled, reduce_only in db_rows(
            db,
            "select client_order_id, state, side, contracts, filled_contracts, reduce_only "
            "from orders order by id",
        )
    ]


def sqlite_dump(db: Path) -> str:
    """Every table of the SQLite file as SQL text."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return "\n".join(conn.iterdump())


class DaemonProcess:
    """``python -m bot.cli run --config FILE [--ticks N]`` as an asyncio child process (so the
    emulator keeps serving from this event loop), its output drained into memory."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stdout = bytearray()
        self.stderr = bytearray()
        assert process.stdout is not None
        assert process.stderr is not None
        self._drains = [
            asyncio.ensure_future(self._drain(process.stdout, self.stdout)),
            asyncio.ensure_future(self._drain(process.stderr, self.stderr)),
        ]

    @classmethod
    async def start(
        cls, config: Path, *args: str, env: Mapping[str, str] | None = None
    ) -> DaemonProcess:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEBOT_")}
        environment.update(ENV if env is None else env)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            "--config",
            str(config),
            *args,
            cwd=REPO,
            env=environment,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    @staticmethod
    async def _drain(stream: asyncio.StreamReader, into: bytearray) -> None:
        while chunk := await stream.read(65536):
            into.extend(chunk)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def err(self) -> str:
        return self.stderr.decode(errors="replace")

    async def wait(self, within_s: float = 60) -> int:
        """The exit code, once the child has exited and its output is read."""
        code = await asyncio.wait_for(self.process.wait(), within_s)
        await asyncio.gather(*self._drains)
        return code

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.wait(within_s=10)


async def eventually(
    condition: Callable[[], Awaitable[bool]], what: str, within_s: float = 30
) -> None:
    """Await ``condition()`` every 20 ms until it holds; the event loop serves meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def venue() -> AsyncIterator[Venue]:
    # The market clock moves only through /admin/clock, so that no real funding time passes
    # during a test; signatures are still checked against the wall clock.
    running = await start_emulator(SimConfig.model_validate(SIM), follow_wall_clock=False)
    try:
        async with aiohttp.ClientSession() as session:
            yield Venue(running, session)
    finally:
        await running.stop()


@pytest.fixture
async def bot(venue: Venue, tmp_path: Path) -> AsyncIterator[Bot]:
    harness = Bot(venue, tmp_path)
    yield harness
    for runtime in harness.runtimes:
        await runtime.close()


@pytest.fixture
async def processes() -> AsyncIterator[list[DaemonProcess]]:
    """Children a test starts; any still running at the end is killed."""
    started: list[DaemonProcess] = []
    yield started
    for child in started:
        await child.kill()
