"""Engines and schema migrations.

Supported URLs: ``sqlite+aiosqlite:///path/to/file.sqlite`` and
``postgresql+asyncpg://user@host:port/db`` (see ``bot.config.models.DatabaseConfig``).

SQLite connections get, on connect: WAL journal mode, ``busy_timeout`` of
:data:`SQLITE_BUSY_TIMEOUT_MS` and ``foreign_keys=ON``. SQLAlchemy (not the ``sqlite3`` driver)
emits ``BEGIN``, so SELECTs and DDL are transactional too; a connection with the execution option
``{SQLITE_BEGIN_OPTION: "IMMEDIATE"}`` takes the write lock at ``BEGIN``, which avoids
"database is locked" when a read-then-write transaction races another writer.

Migrations are Alembic scripts in the repository's top-level ``migrations/`` directory, which
is also the package ``migrations`` of the wheel (``pyproject.toml``): :data:`MIGRATIONS_DIR` is
found with ``importlib.resources``, so a source checkout, an editable install and ``pip install .``
(the Docker image, pipx) all have it. The environment variable ``HEDGEBOT_MIGRATIONS``
(:data:`MIGRATIONS_ENV`), when set, names another script directory to use instead
(:func:`migrations_dir`); it must contain ``env.py``. :func:`upgrade` and
:func:`downgrade` run Alembic in-process on a connection of our own engine
(``connection.run_sync(...)``; ``migrations/env.py`` picks it up from ``config.attributes``), so
they are safe to await inside the daemon's event loop. During migrations SQLite foreign keys are
off (table rebuilds in batch mode would trip them) and ``PRAGMA foreign_key_check`` runs before
commit instead.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS_PACKAGE = "migrations"
MIGRATIONS_ENV = "HEDGEBOT_MIGRATIONS"  # a directory of Alembic scripts overriding the packaged one
SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_BEGIN_OPTION = "hedgebot_sqlite_begin"  # execution option: "DEFERRED" or "IMMEDIATE"

_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})


class MigrationError(RuntimeError):
    """The schema could not be migrated."""


def _packaged_migrations_dir() -> Path:
    root = resources.files(MIGRATIONS_PACKAGE)
    if not isinstance(root, Path):  # e.g. imported from a zip: Alembic needs a real directory
        raise MigrationError(f"the {MIGRATIONS_PACKAGE} package is not a directory: {root}")
    return root.resolve()


MIGRATIONS_DIR = _packaged_migrations_dir()  # the scripts shipped with this installation


def migrations_dir() -> Path:
    """The Alembic scripts to run: ``$HEDGEBOT_MIGRATIONS`` if set, else :data:`MIGRATIONS_DIR`."""
    override = os.environ.get(MIGRATIONS_ENV, "").strip()
    directory = Path(override).expanduser().resolve() if override else MIGRATIONS_DIR
    if not (directory / "env.py").is_file():
        source = f" ({MIGRATIONS_ENV})" if override else ""
        raise MigrationError(f"{directory}{source} is not an Alembic script directory: no env.py")
    return directory


def create_engine(url: str) -> AsyncEngine:
    """An engine for the daemon; for a SQLite file, its parent directory is created."""
    return _create_engine(url, foreign_keys=True)


def _create_engine(url: str, *, foreign_keys: bool) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(parsed, pool_pre_ping=True)
    ensure_sqlite_parent_dir(parsed)
    engine = create_async_engine(parsed)
    install_sqlite_hooks(engine.sync_engine, foreign_keys=foreign_keys)
    return engine


def ensure_sqlite_parent_dir(url: str | URL) -> None:
    """Create the directory a SQLite file database will live in (not for ``:memory:``/URIs)."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def install_sqlite_hooks(engine: Engine, *, foreign_keys: bool = True) -> None:
    """Pragmas on connect and SQLAlchemy-controlled ``BEGIN`` (also used by ``env.py``)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop the driver from issuing its own (legacy, DML-only) BEGIN; _on_begin does it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS:d}")
            cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = str(connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED"))
        if mode not in _BEGIN_MODES:
            raise ValueError(f"{SQLITE_BEGIN_OPTION} must be one of {sorted(_BEGIN_MODES)}")
        connection.exec_driver_sql(f"BEGIN {mode}")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at :func:`migrations_dir`; ``sqlalchemy.url`` set when given."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ConfigParser escape
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision`` (default: the newest)."""
    await _migrate(url, "upgrade", revision)


async def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision`` (``"base"`` drops every table)."""
    await _migrate(url, "downgrade", revision)


async def _migrate(url: str, direction: Literal["upgrade", "downgrade"], revision: str) -> None:
    engine = _create_engine(url, foreign_keys=False)
    try:
        writer = engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        async with writer.begin() as connection:
            await connection.run_sync(_run_alembic, url, direction, revision)
    finally:
        await engine.dispose()


# Key of the PostgreSQL advisory lock that serialises migrations (any stable 64-bit number).
MIGRATION_LOCK_KEY = 0x6865646765626F74  # "hedgebot"


def _run_alembic(
    connection: Connection, url: str, direction: Literal["upgrade", "downgrade"], revision: str
) -> None:
    if connection.dialect.name == "postgresql":
        # Two daemons starting at once on a fresh database would both create alembic_version
        # and one would die on its primary key. The transaction-level lock makes the second
        # wait until the first commits; it then finds the database at head and does nothing.
        # (SQLite needs none: the migration runs in a BEGIN IMMEDIATE transaction.)
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY:d})")
    config = alembic_config(url)
    config.attributes["connection"] = connection
    if direction == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)
    if connection.dialect.name == "sqlite":
        problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise MigrationError(f"foreign key violations after {direction}: {problems[:10]}")


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision in ``migrations/versions`` (the one :func:`upgrade` goes to)."""
    config = alembic_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:
        raise MigrationError(f"no migrations found in {config.get_main_option('script_location')}")
    return head
