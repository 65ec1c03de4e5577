from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.store.db import (
    MIGRATIONS_DIR,
    SQLITE_BUSY_TIMEOUT_MS,
    create_engine,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from bot.store.models import Base

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_TABLES = {
    "ticks",
    "snapshots",
    "exposures",
    "targets",
    "instrument_hedges",
    "orders",
    "fills",
    "funding_payments",
    "alert_outbox",
    "alert_conditions",
    "beta_estimates",
    "position_risk",
    "controls",
    "collateral_actions",
    "margin_state",
    "position_adoptions",
}


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def _state(url: str) -> tuple[str | None, set[str]]:
    engine = create_engine(url)
    try:
        revision = await current_revision(engine)
        async with engine.connect() as connection:
            tables = await connection.run_sync(_table_names)
    finally:
        await engine.dispose()
    return revision, tables


def test_migrations_dir_is_the_repo_one() -> None:
    assert MIGRATIONS_DIR == REPO_ROOT / "migrations"
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert head_revision() == "0008"


async def test_fresh_database_has_no_revision(db_url: str) -> None:
    assert await _state(db_url) == (None, set())


async def test_upgrade_to_head_creates_every_table(db_url: str) -> None:
    await upgrade(db_url)
    revision, tables = await _state(db_url)
    assert revision == head_revision()
    assert tables == APP_TABLES | {"alembic_version"}


async def test_upgrade_twice_is_a_no_op(db_url: str) -> None:
    await upgrade(db_url)
    await upgrade(db_url)
    assert (await _state(db_url))[0] == head_revision()


async def test_downgrade_to_base_and_up_again(db_url: str) -> None:
    await upgrade(db_url)
    await downgrade(db_url, "base")
    revision, tables = await _state(db_url)
    assert revision is None
    assert tables & APP_TABLES == set()
    await upgrade(db_url)
    assert await _state(db_url) == (head_revision(), APP_TABLES | {"alembic_version"})


async def test_migrated_schema_matches_the_models(db_url: str) -> None:
    await upgrade(db_url)
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_schema_diff) == []
    finally:
        await engine.dispose()


async def test_foreign_keys_are_enforced(db_url: str) -> None:
    await upgrade(db_url)
    engine = create_engine(db_url)
    try:
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "INSERT INTO exposures (tick_id, asset, spot, collateral, price,"
                        " exposure_usd) VALUES (999, 'BTC', '1', '0', '1', '1')"
                    )
                )
    finally:
        await engine.dispose()


async def test_sqlite_connection_settings(sqlite_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{sqlite_path}"
    assert not sqlite_path.parent.exists()
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            journal = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
            busy = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
            foreign_keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
    finally:
        await engine.dispose()
    assert (journal, busy, foreign_keys) == ("wal", SQLITE_BUSY_TIMEOUT_MS, 1)
    # WAL is a property of the file: any later connection, even a plain one, sees it.
    with sqlite3.connect(sqlite_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    raw.close()


_ALEMBIC_SESSION = """
import sys
from alembic.config import main

url = sys.argv[1]
for command in (["upgrade", "head"], ["check"], ["current"], ["downgrade", "base"]):
    print("$ alembic", *command, flush=True)
    main(argv=["-x", f"url={url}", *command])
"""


def test_alembic_command_line(db_url: str) -> None:
    """The developer path: alembic.ini + env.py building its own engine from ``-x url=``."""
    done = subprocess.run(
        [sys.executable, "-c", _ALEMBIC_SESSION, db_url],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "No new upgrade operations detected" in output
    assert "0008 (head)" in output
    assert "Running downgrade 0001 -> , initial schema" in output
