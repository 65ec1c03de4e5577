"""Fixtures of the alert tests: databases at head (SQLite and PostgreSQL), the shared broker.

The database fixtures are the store tests' own (``tests/store/conftest.py``), imported here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.alerts.service import AlertService
from bot.store.db import create_engine, upgrade
from tests.alerts.mqtt_helpers import SHARED_PORT, port_open
from tests.store.conftest import (  # noqa: F401 (fixtures)
    _backend_url,
    _migrated_and_empty,
    backend,
    db_url,
    pg_session_url,
    sqlite_path,
)


@pytest.fixture
async def engine(backend: str, _backend_url: str) -> AsyncIterator[AsyncEngine]:  # noqa: F811
    """An engine on a database at head with empty tables (SQLite and PostgreSQL)."""
    if backend == "postgresql":
        await _migrated_and_empty(_backend_url)
    else:
        await upgrade(_backend_url)
    engine = create_engine(_backend_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite file (for tests where the backend is not the point)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'alerts.sqlite'}"
    await upgrade(url)
    return url


@pytest.fixture
async def sqlite_engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def shared_broker() -> int:
    """The Mosquitto on 127.0.0.1:1883; a test that needs it fails (never skips) without it."""
    if not port_open(SHARED_PORT):
        pytest.fail(
            "Mosquitto is required on 127.0.0.1:1883: start it with "
            "`mosquitto -d -c /etc/mosquitto/mosquitto.conf` (.ci/run does)",
            pytrace=False,
        )
    return SHARED_PORT


@pytest.fixture
async def stop_later() -> AsyncIterator[list[AlertService]]:
    """Services appended here are stopped at teardown, even when the test failed."""
    services: list[AlertService] = []
    yield services
    for service in services:
        await service.stop(drain_s=0.5)
