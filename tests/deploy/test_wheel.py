"""hedgebot installed from its wheel, as ``pip install .`` or pipx leave it (no checkout around).

The wheel is built from a copy of the sources and installed, non-editable and offline, into a fresh
virtualenv whose dependencies are what ``pip install`` would add for the wheel's own
``Requires-Dist`` (taken from ``.venv``, see ``tests/deploy/venvs.py``). Every command runs from an
unrelated temporary directory, against SQLite and a fresh PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy import venvs
from tests.helpers import REPO, write_config
from tests.pg import PostgresUnavailableError, connect, create_pg_database, drop_pg_database

HEAD = sorted(p.name.split("_", 1)[0] for p in (REPO / "migrations" / "versions").glob("*.py"))[-1]


class Installed:
    def __init__(self, venv: Path, wheel: Path) -> None:
        self.venv = venv
        self.wheel = wheel
        self.hedgebot = venv / "bin" / "hedgebot"
        self.python = venv / "bin" / "python"

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        """A clean environment: nothing of the checkout or of .venv leaks in."""
        return {"PATH": f"{self.venv / 'bin'}:/usr/bin:/bin", "HOME": str(home), **extra}

    def hedgebot_in(
        self, cwd: Path, *args: str, **extra_env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.hedgebot), *args],
            cwd=cwd,
            env=self.env(cwd, **extra_env),
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    source = venvs.source_tree(root / "src")
    venvs.pip_wheel(["--no-deps", "--wheel-dir", str(root / "dist"), "."], cwd=source)
    (wheel,) = (root / "dist").glob("hedgebot-*.whl")
    venv = venvs.make_venv(root / "venv", venvs.base_python())
    needed = venvs.requirement_closure(venvs.wheel_requirements(wheel)) | {"pip"}
    venvs.link_distributions(venv, needed)
    venvs.venv_pip(venv, ["install", "--no-deps", str(wheel)])
    venvs.venv_pip(venv, ["check"])  # the wheel's dependencies are all there
    return Installed(venv, wheel)


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """An unrelated working directory (no migrations/, no alembic.ini, no bot/)."""
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    return directory


@pytest.fixture
def pg_url() -> Iterator[str]:
    try:
        url = asyncio.run(create_pg_database())
    except PostgresUnavailableError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield url
    finally:
        asyncio.run(drop_pg_database(url))


def sim_config(directory: Path, database_url: str) -> Path:
    return write_config(
        directory,
        f"""
        exchange:
          id: sim
          sim:
            prices: {{BTC: 60000, ETH: 3000}}
            contract_size_usd: {{BTC: 100, ETH: 10}}
            balances:
              spot: {{BTC: 0.5, ETH: 4}}
              margin: {{BTC: 0.1, ETH: 1}}
        rules:
          - {{asset: BTC, ratio: 1}}
          - {{asset: ETH, ratio: 0.5}}
        schedule: {{interval_seconds: 0.2}}
        database: {{url: "{database_url}"}}
        logging: {{format: json}}
        """,
        name="hedgebot.yaml",
    )


def sqlite_state(path: Path) -> tuple[str, int]:
    with sqlite3.connect(path) as db:
        (revision,) = db.execute("select version_num from alembic_version").fetchone()
        (ticks,) = db.execute("select count(*) from ticks").fetchone()
    return revision, ticks


async def pg_state(url: str) -> tuple[str, int]:
    connection = await connect(url)
    try:
        revision = await connection.fetchval("select version_num from alembic_version")
        ticks = await connection.fetchval("select count(*) from ticks")
    finally:
        await connection.close()
    return revision, ticks


def test_the_wheel_ships_the_migrations_and_runs_from_the_install(
    installed: Installed, elsewhere: Path
) -> None:
    shipped = {
        "migrations/__init__.py",
        "migrations/env.py",
        "migrations/script.py.mako",
        *(f"migrations/versions/{p.name}" for p in (REPO / "migrations" / "versions").glob("*.py")),
    }
    with zipfile.ZipFile(installed.wheel) as archive:
        listing = set(archive.namelist())
    assert shipped <= listing, shipped - listing
    probe = subprocess.run(
        [
            str(installed.python),
            "-c",
            "import bot, migrations, bot.store.db as db; "
            "print(bot.__file__); print(migrations.__file__); print(db.migrations_dir())",
        ],
        cwd=elsewhere,
        env=installed.env(elsewhere),
        capture_output=True,
        text=True,
        check=True,
    )
    site = venvs.site_packages(installed.venv).resolve()
    for line in probe.stdout.split():
        assert Path(line).resolve().is_relative_to(site), probe.stdout  # not the checkout's


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_db_upgrade_and_run_from_an_unrelated_directory(
    installed: Installed, elsewhere: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        database = elsewhere / "var" / "hedgebot.sqlite"
        url = f"sqlite+aiosqlite:///{database}"
    else:
        url = request.getfixturevalue("pg_url")
    config = sim_config(elsewhere, url)

    upgraded = installed.hedgebot_in(elsewhere, "db", "upgrade", "--config", str(config))
    assert upgraded.returncode == 0, upgraded.stderr[-3000:]
    assert "database is at the latest revision" in upgraded.stdout

    ran = installed.hedgebot_in(elsewhere, "run", "--config", str(config), "--ticks", "2")
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "tick 2 " in ran.stdout, ran.stdout
    state = sqlite_state(database) if backend == "sqlite" else asyncio.run(pg_state(url))
    assert state == (HEAD, 2)


def test_hedgebot_migrations_overrides_the_packaged_scripts(
    installed: Installed, elsewhere: Path
) -> None:
    custom = elsewhere / "custom-migrations"
    shutil.copytree(
        venvs.site_packages(installed.venv) / "migrations",
        custom,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (newest,) = (custom / "versions").glob(f"{HEAD}_*.py")
    newest.unlink()  # the override stops one revision short of the packaged head
    database = elsewhere / "override.sqlite"
    config = sim_config(elsewhere, f"sqlite+aiosqlite:///{database}")

    upgraded = installed.hedgebot_in(
        elsewhere, "db", "upgrade", "--config", str(config), HEDGEBOT_MIGRATIONS=str(custom)
    )
    assert upgraded.returncode == 0, upgraded.stderr[-3000:]
    with sqlite3.connect(database) as db:
        (revision,) = db.execute("select version_num from alembic_version").fetchone()
    assert revision < HEAD

    missing = elsewhere / "no-such-dir"
    refused = installed.hedgebot_in(
        elsewhere,
        "db",
        "upgrade",
        "--config",
        str(config),
        HEDGEBOT_MIGRATIONS=str(missing),
        COLUMNS="1000",  # rich's traceback would wrap the message
    )
    assert refused.returncode != 0
    assert f"{missing} (HEDGEBOT_MIGRATIONS) is not an Alembic script directory" in refused.stderr
