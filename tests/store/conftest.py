"""Store fixtures, each run on SQLite (a fresh file) and PostgreSQL (a fresh schema).

PostgreSQL: one database per test session (created by ``tests.pg``, dropped at the end).
``db_url`` empties it completely (for migration tests); ``store`` truncates the tables when the
schema is already at head. An unreachable server fails the tests; they are never skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.store.db import create_engine, current_revision, head_revision, upgrade
from bot.store.models import Base
from bot.store.repo import Store
from tests.pg import (
    PostgresUnavailableError,
    create_pg_database,
    drop_pg_database,
    reset_pg_database,
)

BACKENDS = ("sqlite", "postgresql")
T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


class StepClock:
    """A clock that advances one second per reading."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pg_session_url() -> AsyncIterator[str]:
    try:
        url = await create_pg_database()
    except PostgresUnavailableError as exc:
        problem = str(exc)
    else:
        try:
            yield url
        finally:
            await drop_pg_database(url)
        return
    pytest.fail(problem, pytrace=False)  # outside `except`: one clear message, no chain


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "not-yet-created" / "hedgebot.sqlite"


@pytest.fixture
def _backend_url(backend: str, sqlite_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{sqlite_path}"
    # Looked up lazily so that SQLite-only selections do not need the server.
    return str(request.getfixturevalue("pg_session_url"))


@pytest.fixture
async def db_url(backend: str, _backend_url: str) -> str:
    """The URL of an empty database (no tables, no alembic_version)."""
    if backend == "postgresql":
        await reset_pg_database(_backend_url)
    return _backend_url


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


async def _migrated_and_empty(url: str) -> None:
    """Bring a PostgreSQL test database to head with empty tables, cheaply.

    Migrating costs ~0.5 s of PostgreSQL DDL, so a database already at head is emptied instead
    (sequences restarted, so ids are deterministic).
    """
    engine = create_engine(url)
    try:
        at_head = await current_revision(engine) == head_revision()
        if at_head:
            # DELETE, not TRUNCATE: on tiny tables it avoids creating new files (~10x faster).
            async with engine.begin() as connection:
                for table in reversed(Base.metadata.sorted_tables):
                    await connection.execute(table.delete())
                    await connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), 1, false)"
                    )
    finally:
        await engine.dispose()
    if not at_head:
        await reset_pg_database(url)
        await upgrade(url)


@pytest.fixture
async def store(backend: str, _backend_url: str, clock: StepClock) -> AsyncIterator[Store]:
    """A store on a database at head with empty tables."""
    if backend == "postgresql":
        await _migrated_and_empty(_backend_url)
    else:
        await upgrade(_backend_url)
    store = Store.from_url(_backend_url, clock=clock)
    try:
        yield store
    finally:
        await store.close()
