"""Throwaway PostgreSQL databases for tests.

The server defaults to ``postgresql://postgres@127.0.0.1:5432/postgres`` (trust auth); set
``HEDGEBOT_TEST_PG_ADMIN_DSN`` to use another one (its user must be allowed to CREATE DATABASE).
An unreachable server raises :class:`PostgresUnavailableError`: callers must let the test fail,
never skip it.

    async with fresh_pg_url() as url:  # "postgresql+asyncpg://postgres@127.0.0.1:5432/hedgebot_test_…"
        await bot.store.db.upgrade(url)
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.engine import URL, make_url

ADMIN_DSN_ENV = "HEDGEBOT_TEST_PG_ADMIN_DSN"
DEFAULT_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE_PREFIX = "hedgebot_test_"
CONNECT_TIMEOUT_S = 5.0


class PostgresUnavailableError(RuntimeError):
    pass


def admin_dsn() -> str:
    return os.environ.get(ADMIN_DSN_ENV, DEFAULT_ADMIN_DSN)


def _libpq_dsn(url: URL) -> str:
    """asyncpg wants a plain ``postgresql://`` DSN."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _connect(dsn: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        shown = make_url(dsn).render_as_string(hide_password=True)
        raise PostgresUnavailableError(
            f"PostgreSQL is required by these tests but {shown} is not usable: {exc!r}. "
            f"Start the server or set {ADMIN_DSN_ENV} to a DSN whose user may CREATE DATABASE."
        ) from exc


async def create_pg_database() -> str:
    """Create an empty database with a random name; returns its ``postgresql+asyncpg`` URL."""
    name = f"{DATABASE_PREFIX}{secrets.token_hex(6)}"
    admin = await _connect(admin_dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(admin_dsn()).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


async def drop_pg_database(url: str) -> None:
    """Drop the database named in ``url``, disconnecting anyone still using it."""
    name = make_url(url).database
    if not name or not name.startswith(DATABASE_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a test database")
    admin = await _connect(admin_dsn())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def reset_pg_database(url: str) -> None:
    """Empty a test database (drop and recreate schema ``public``) so the next test starts clean."""
    if not (make_url(url).database or "").startswith(DATABASE_PREFIX):
        raise ValueError(f"refusing to reset {url!r}: not a test database")
    connection = await _connect(_libpq_dsn(make_url(url)))
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()


@asynccontextmanager
async def fresh_pg_url() -> AsyncIterator[str]:
    """A new empty database for the duration of the block; dropped afterwards."""
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)
