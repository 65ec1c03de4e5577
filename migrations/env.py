"""Alembic environment (async template).

Two ways in:

* ``bot.store.db.upgrade()`` / ``downgrade()`` pass an open connection in
  ``config.attributes["connection"]``; migrations run on it (the caller commits).
* The ``alembic`` command line builds an async engine from ``sqlalchemy.url``, which
  ``alembic.ini`` leaves empty: give it with ``alembic -x url=sqlite+aiosqlite:///x.sqlite ...``.

SQLite needs ``render_as_batch=True`` so that ALTERs become table rebuilds.
"""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config

from bot.store.db import ensure_sqlite_parent_dir, install_sqlite_hooks
from bot.store.models import Base

config = context.config

if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

_x_url = context.get_x_argument(as_dictionary=True).get("url")
if _x_url:
    config.set_main_option("sqlalchemy.url", _x_url.replace("%", "%%"))


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: use bot.store.db.upgrade() or `alembic -x url=...`")
    return url


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (``alembic upgrade head --sql``)."""
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        # install_sqlite_hooks makes SQLAlchemy emit BEGIN, so SQLite DDL is transactional too.
        transactional_ddl=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    if _url().startswith("sqlite"):
        ensure_sqlite_parent_dir(_url())
    connectable = async_engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    if connectable.dialect.name == "sqlite":
        install_sqlite_hooks(connectable.sync_engine, foreign_keys=False)
    try:
        async with connectable.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await connectable.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        asyncio.run(run_async_migrations())
    else:
        do_run_migrations(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
