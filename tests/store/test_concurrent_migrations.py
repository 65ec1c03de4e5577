"""Issue 15, defect 6: daemons started at once on a fresh PostgreSQL database.

Without a lock, four processes migrating one fresh database together failed three times out of
four with an IntegrityError on ``alembic_version`` (each created the table); the migration now
takes a transaction-level advisory lock first, so the others wait and find the database at head.
"""

from __future__ import annotations

import asyncio
import sys

from bot.store.db import create_engine, current_revision, head_revision
from tests.helpers import REPO
from tests.pg import fresh_pg_url

MIGRATE = "import asyncio, sys; from bot.store.db import upgrade; asyncio.run(upgrade(sys.argv[1]))"


async def test_four_processes_migrating_one_fresh_database_all_succeed() -> None:
    async with fresh_pg_url() as url:
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                MIGRATE,
                url,
                cwd=REPO,
                stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(4)
        ]
        outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 120)
        failures = [
            err.decode()[-400:]
            for (_, err), proc in zip(outputs, procs, strict=True)
            if proc.returncode
        ]
        assert not failures, failures
        engine = create_engine(url)
        try:
            assert await current_revision(engine) == head_revision()
        finally:
            await engine.dispose()
