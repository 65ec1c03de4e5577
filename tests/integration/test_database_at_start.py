"""A database that cannot be used when the daemon starts (a server restarting, a compose stack
coming up, SQLite held by another writer past its busy timeout) is waited for, for up to
``database.startup_wait_seconds``, then refused with one line and exit 1; never a traceback.

Found by the chaos suite (seed 1, cycle 561 of the 1,000): a daemon restarted while the
database was held exited 1 with a traceback from ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.app import DatabaseUnavailableError, with_database_wait
from bot.store.db import upgrade
from tests.integration.conftest import Bot, DaemonProcess, Venue, eventually


@contextlib.contextmanager
def held(db: Path, at_most_s: float = 60.0) -> Iterator[threading.Event]:
    """Another writer holds the SQLite file (WAL: writers wait, then fail) until the event
    yielded is set, or ``at_most_s`` passed."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
            conn.execute("BEGIN EXCLUSIVE")
            taken.set()
            release.wait(at_most_s)
            conn.execute("COMMIT")

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert taken.wait(5)
    try:
        yield release
    finally:
        release.set()
        thread.join()


async def test_the_daemon_waits_for_a_database_held_past_its_busy_timeout(
    bot: Bot, venue: Venue, processes: list[DaemonProcess]
) -> None:
    await upgrade(f"sqlite+aiosqlite:///{bot.db}")
    config = bot.write()
    target = venue.target()  # what the first plan aims at (its fee then moves it a little)
    with held(bot.db) as release:
        daemon = await DaemonProcess.start(config, "--ticks", "2")
        processes.append(daemon)

        async def waiting() -> bool:
            return '"event": "database_unavailable_at_start"' in daemon.err

        await eventually(waiting, "the daemon waiting for its database", within_s=60)
        release.set()
    code = await daemon.wait(within_s=90)
    assert code == 0, daemon.err[-3000:]
    assert '"event": "database_unavailable_at_start"' in daemon.err
    assert "database is locked" in daemon.err
    assert not [line for line in daemon.err.splitlines() if line.startswith("Traceback")]
    assert abs(venue.short() - target) <= 1  # then it hedged


async def test_a_database_unavailable_past_the_wait_is_one_line_and_exit_1(
    bot: Bot, venue: Venue, processes: list[DaemonProcess]
) -> None:
    await upgrade(f"sqlite+aiosqlite:///{bot.db}")
    config = bot.write(database={"startup_wait_seconds": 1})
    with held(bot.db):
        daemon = await DaemonProcess.start(config, "--ticks", "2")
        processes.append(daemon)
        code = await daemon.wait(within_s=60)
    assert code == 1
    said = " ".join(daemon.err.split())  # the message is wrapped to 80 columns
    assert (
        "hedgebot could not start: the database is unavailable (database is locked); waited "
        "1 s (database.startup_wait_seconds)"
    ) in said
    assert "Traceback" not in daemon.err
    assert await venue.orders() == []  # nothing traded


async def test_the_wait_retries_unavailability_only_and_gives_up_at_its_deadline() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked"))
        return "open"

    assert await with_database_wait(flaky, wait_s=60, sleep=sleep, clock=lambda: now[0]) == "open"
    assert slept == [1.0, 2.0, 4.0]  # a growing pause

    async def refused() -> str:
        raise ConnectionRefusedError("connect call failed")

    now[0], slept[:] = 0.0, []
    with pytest.raises(DatabaseUnavailableError, match=r"\(connect call failed\); waited 20 s"):
        await with_database_wait(refused, wait_s=20, sleep=sleep, clock=lambda: now[0])
    assert sum(slept) == 20  # capped pauses (10 s) that end at the deadline

    async def broken() -> str:
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))

    slept[:] = []
    with pytest.raises(IntegrityError):  # an error of the data is not waited on
        await with_database_wait(broken, wait_s=60, sleep=sleep, clock=lambda: now[0])
    assert slept == []


def test_asyncio_is_the_default_sleep() -> None:
    assert with_database_wait.__kwdefaults__["sleep"] is asyncio.sleep
