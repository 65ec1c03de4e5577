"""The README's demo output is a real run's: the command in its block, run on a terminal in a
copy of the repository's layout, prints exactly the rest of the block. And every demo run starts
a fresh record, since its embedded exchange starts afresh too."""

from __future__ import annotations

import re
import shlex
import sqlite3
from pathlib import Path

from filelock import FileLock

from bot.app import start_fresh_record
from bot.config.loader import load_config
from tests.cli.terminal import demo_checkout, run_on_terminal
from tests.helpers import REPO, run_cli

PROMPT = "$ hedgebot run --config config/demo.yaml"


def readme_demo_block() -> tuple[list[str], str]:
    """The arguments of the README's demo command and the output printed under it."""
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"^```text\n(.*?)^```$", readme, re.S | re.M)
    (block,) = [b for b in blocks if b.startswith(PROMPT)]
    command, _, output = block.partition("\n")
    return shlex.split(command.removeprefix("$ "))[1:], output


def test_readme_demo_output_is_what_the_demo_prints(tmp_path: Path) -> None:
    args, expected = readme_demo_block()
    checkout = demo_checkout(tmp_path)
    result = run_on_terminal(*args, cwd=checkout)
    assert result.returncode == 0, result.output[-3000:]
    assert result.output == expected


def test_readme_top_command_leaves_hedgebot_on_the_path() -> None:
    readme = (REPO / "README.md").read_text()
    command = next(line for line in readme.splitlines() if line.startswith("python3 -m venv"))
    assert " . .venv/bin/activate && " in command, command
    assert command.endswith("hedgebot run --config config/demo.yaml --ticks 12")
    # the commands after it are written for the activated venv
    assert "\n.venv/bin/hedgebot" not in readme
    assert "`.venv/bin/hedgebot" not in readme


def ticks(db: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(db) as connection:
        found = list(connection.execute("select id, status from ticks order by id"))
    connection.close()
    return found


def test_a_second_demo_run_starts_a_fresh_record(tmp_path: Path) -> None:
    checkout = demo_checkout(tmp_path)
    db = checkout / "var" / "demo.sqlite"
    args = ("run", "--config", "config/demo.yaml", "--ticks", "2")
    first = run_cli(*args, cwd=checkout, timeout=120)
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.splitlines()[0] == (
        "record: var/demo.sqlite, new (the embedded exchange starts afresh every run)"
    )
    second = run_cli(*args, cwd=checkout, timeout=120)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stdout.splitlines()[0] == (
        "record: var/demo.sqlite, new; the previous run's is now var/demo.sqlite.previous"
    )
    # the same exchange, the same ticks: not tick ids 3 and 4 over a fresh exchange
    assert first.stdout.splitlines()[1:] == second.stdout.splitlines()[1:]
    assert ticks(db) == [(1, "ok"), (2, "ok")]
    assert ticks(db.with_name("demo.sqlite.previous")) == [(1, "ok"), (2, "ok")]
    status = run_cli("status", "--config", "config/demo.yaml", "--json", cwd=checkout)
    assert status.returncode == 0, status.stderr


async def test_a_record_in_use_is_continued_and_said_so(tmp_path: Path) -> None:
    checkout = demo_checkout(tmp_path)
    db = checkout / "var" / "demo.sqlite"
    db.parent.mkdir()
    db.write_bytes(b"")
    config = load_config(checkout / "config" / "demo.yaml")
    # the daemon's own account lock (bot.daemon.ownership), as a running hedgebot holds it
    held = FileLock(str(db.with_name("demo.sqlite.default.lock")))
    held.acquire()
    try:
        # the URL is relative to the working directory: give it the checkout's
        url = f"sqlite+aiosqlite:///{db}"
        config = config.model_copy(
            update={"database": config.database.model_copy(update={"url": url})}
        )
        line = await start_fresh_record(config)
    finally:
        held.release()
    assert line == f"record: continues {db}: another hedgebot is running on it"
    assert db.exists()
    assert not db.with_name("demo.sqlite.previous").exists()


async def test_a_config_without_an_embedded_emulator_keeps_its_record(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    db.write_bytes(b"")
    config = load_config(REPO / "config" / "demo.yaml")
    exchange = config.exchange.model_copy(update={"embedded_emulator": False, "id": "sim"})
    database = config.database.model_copy(update={"url": f"sqlite+aiosqlite:///{db}"})
    config = config.model_copy(update={"exchange": exchange, "database": database})
    assert await start_fresh_record(config) is None
    assert db.exists()
