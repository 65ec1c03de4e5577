from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from tests.pg import DATABASE_PREFIX, admin_url, connect, drop_pg_database, fresh_pg_url


async def _database_exists(name: str) -> bool:
    connection = await connect(admin_url())
    try:
        found = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    finally:
        await connection.close()
    return bool(found == 1)


async def test_fresh_pg_url_creates_and_drops_a_database() -> None:
    async with fresh_pg_url() as url:
        parsed = make_url(url)
        assert parsed.drivername == "postgresql+asyncpg"
        assert parsed.database is not None
        assert parsed.database.startswith(DATABASE_PREFIX)
        assert await _database_exists(parsed.database)
    assert not await _database_exists(parsed.database)


async def test_drop_refuses_non_test_databases() -> None:
    with pytest.raises(ValueError, match="not a test database"):
        await drop_pg_database("postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
