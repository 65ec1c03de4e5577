"""Throwaway PostgreSQL databases for tests.

The server is ``HEDGEBOT_TEST_PG_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``, trust auth); its user must be allowed
to CREATE DATABASE. New databases are made on that server, with the same credentials.
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

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import URL, make_url

ADMIN_URL_ENV = "HEDGEBOT_TEST_PG_URL"
DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DATABASE_PREFIX = "hedgebot_test_"
CONNECT_TIMEOUT_S = 5.0


class PostgresUnavailableError(RuntimeError):
    pass


def admin_url() -> URL:
    """The maintenance database's URL (SQLAlchemy form, ``postgresql+asyncpg://``)."""
    return make_url(os.environ.get(ADMIN_URL_ENV) or DEFAULT_ADMIN_URL)


def libpq_dsn(url: str | URL) -> str:
    """asyncpg itself wants a plain ``postgresql://`` DSN."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def connect(url: str | URL) -> asyncpg.Connection:
    """A raw asyncpg connection; :class:`PostgresUnavailableError` if the server is not usable."""
    try:
        return await asyncpg.connect(libpq_dsn(url), timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        raise PostgresUnavailableError(
            f"PostgreSQL is required by these tests but {shown} is not usable: {exc!r}. "
            f"Start the server or set {ADMIN_URL_ENV} to a URL whose user may CREATE DATABASE."
        ) from exc


async def create_pg_database() -> str:
    """Create an empty database with a random name; returns its ``postgresql+asyncpg`` URL."""
    name = f"{DATABASE_PREFIX}{secrets.token_hex(6)}"
    admin = await connect(admin_url())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = admin_url().set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


async def drop_pg_database(url: str) -> None:
    """Drop the database named in ``url``, disconnecting anyone still using it."""
    name = make_url(url).database
    if not name or not name.startswith(DATABASE_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a test database")
    admin = await connect(admin_url())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def reset_pg_database(url: str) -> None:
    """Empty a test database (drop and recreate schema ``public``) so the next test starts clean."""
    if not (make_url(url).database or "").startswith(DATABASE_PREFIX):
        raise ValueError(f"refusing to reset {url!r}: not a test database")
    connection = await connect(url)
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
