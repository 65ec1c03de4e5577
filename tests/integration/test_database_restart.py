"""The database restarts under a running daemon (issue 15, item 1: "broker and database restarts").

The real daemon (``hedgebot run``, a child process) hedges on the emulator, recording into a
PostgreSQL database of its own on the test server. The database then "restarts" as its clients
see a restart: every connection to it is terminated (the account's advisory lock with them) and
new ones are refused for a few seconds (``ALLOW_CONNECTIONS false``), while the market asks for a
bigger hedge. Until the database is back nothing may reach the venue (an order is recorded before
it is sent); afterwards the daemon takes its account again, explains its own short from its
ledger, and hedges the new target, each order once, without a raw traceback or exit.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import make_url

from tests.integration.conftest import Bot, DaemonProcess, Venue, eventually
from tests.pg import admin_url, connect, fresh_pg_url

D = Decimal
OUTAGE_S = 4.0


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with fresh_pg_url() as url:
        yield url


async def go_down(admin: asyncpg.Connection, name: str) -> int:
    """Refuse new connections to ``name`` and terminate the open ones; how many were open."""
    await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
    terminated: int = await admin.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        name,
    )
    return terminated


async def come_back(admin: asyncpg.Connection, name: str) -> None:
    await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


async def ticks_ok(url: str) -> int:
    connection = await connect(url)
    try:
        count: int = await connection.fetchval("SELECT count(*) FROM ticks WHERE status = 'ok'")
        return count
    finally:
        await connection.close()


async def test_a_database_restart_stops_trading_until_it_is_back_then_hedges_once(
    bot: Bot, venue: Venue, processes: list[DaemonProcess], pg_url: str
) -> None:
    name = make_url(pg_url).database
    assert name is not None
    config = bot.write(
        database={"url": pg_url},
        limits={"max_order_usd": 30_000, "max_total_short_usd": 500_000},
    )
    daemon = await DaemonProcess.start(config)
    processes.append(daemon)

    async def hedged() -> bool:
        return abs(venue.short() - venue.target()) <= venue.target() * D("0.02")

    await eventually(hedged, "the first hedge", within_s=60)
    before = venue.short()
    orders_before = len(await venue.orders())

    admin = await connect(admin_url())
    try:
        terminated = await go_down(admin, name)
        assert terminated >= 2  # the store's pool and the account lock's own connection
        await venue.move("deposit", "BTC", "1")  # the target grows by 50,000 USD meanwhile
        await asyncio.sleep(OUTAGE_S)
        # nothing reached the venue while the daemon could not record an order first
        assert len(await venue.orders()) == orders_before
        assert venue.short() == before
        assert daemon.process.returncode is None, daemon.err[-3000:]
        await come_back(admin, name)
    finally:
        await come_back(admin, name)
        await admin.close()

    ok_before = await ticks_ok(pg_url)
    await eventually(hedged, "the hedge of the new target", within_s=60)

    async def ticking() -> bool:
        return await ticks_ok(pg_url) > ok_before + 2

    await eventually(ticking, "ticks recorded again")
    assert daemon.process.returncode is None, daemon.err[-3000:]
    orders = await venue.orders()
    assert max(Counter(o["orderLinkId"] for o in orders).values()) == 1
    assert sum(D(o["filled"]) for o in orders) == venue.short()  # only the daemon moved it
    assert venue.short() > before + 40_000
    err = daemon.err
    assert not [line for line in err.splitlines() if line.startswith("Traceback")]
    assert '"database_unavailable": true' in err  # ticks failed as an outage, not a bug
    assert err.count('"event": "account_acquired"') >= 2  # the account was taken again
    assert '"event": "startup_refused"' not in err
