"""One owner per account: two daemons must never hedge the same account.

PostgreSQL: a session-level advisory lock on a dedicated connection; the server releases it the
moment that connection drops (a crashed or killed replica included), so a standby replica takes
the account over at its next attempt. SQLite: an OS file lock beside the database file, released
by the kernel when the process dies.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

import asyncpg
import structlog
from filelock import FileLock, Timeout
from sqlalchemy.engine import make_url

log = structlog.get_logger(__name__)


class AccountLock(Protocol):
    async def try_acquire(self) -> bool:
        """Take the lock if it is free; True while we hold it. Never blocks for long."""
        ...

    async def release(self) -> None: ...


def advisory_key(account: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock`` (same on every replica)."""
    digest = hashlib.sha256(f"hedgebot:account:{account}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresAccountLock:
    """``pg_try_advisory_lock`` held on its own connection for as long as we own the account."""

    def __init__(self, database_url: str, account: str) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self.account = account
        self._connection: asyncpg.Connection | None = None
        self._held = False

    async def try_acquire(self) -> bool:
        if self._held and self._connection is not None and not self._connection.is_closed():
            return True
        self._held = False
        if self._connection is None or self._connection.is_closed():
            self._connection = await asyncpg.connect(self._dsn, timeout=5)
        got = await self._connection.fetchval(
            "SELECT pg_try_advisory_lock($1)", advisory_key(self.account)
        )
        self._held = bool(got)
        return self._held

    async def release(self) -> None:
        if self._connection is not None and not self._connection.is_closed():
            if self._held:
                await self._connection.execute(
                    "SELECT pg_advisory_unlock($1)", advisory_key(self.account)
                )
            await self._connection.close()
        self._connection = None
        self._held = False


class FileAccountLock:
    """An exclusive OS lock on ``<database file>.<account>.lock``."""

    def __init__(self, database_url: str, account: str) -> None:
        database = make_url(database_url).database or "hedgebot.sqlite"
        path = Path(database).expanduser()
        if database == ":memory:":
            path = Path("hedgebot-memory")
        self.path = path.with_name(f"{path.name}.{account}.lock")
        self._lock = FileLock(str(self.path))

    async def try_acquire(self) -> bool:
        if self._lock.is_locked:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        return True

    async def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)


def account_lock(database_url: str, account: str) -> AccountLock:
    """The lock that fits the database: advisory for PostgreSQL, a file for SQLite."""
    if database_url.startswith("postgresql"):
        return PostgresAccountLock(database_url, account)
    return FileAccountLock(database_url, account)
