"""What ``hedgebot`` imports to start: the heavy libraries only in the commands that use them.

Not a timing test (bench/startup_bench.py times it): each case runs the command in a fresh
interpreter and lists ``sys.modules`` at exit, so it fails as soon as a heavy import comes back
at module level anywhere on the start-up path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

# Imported by some commands, never by starting the CLI (``--help``, parsing the arguments).
HEAVY = (
    "aiohttp",
    "aiomqtt",
    "alembic",
    "apprise",
    "ccxt",
    "matplotlib",
    "numpy",
    "prometheus_client",
    "sqlalchemy",
    "bot.app",
    "bot.backtest",
    "bot.daemon",
    "bot.emulator",
    "bot.store",
)

# Runs the CLI as the ``hedgebot`` entry point does, then writes the loaded modules to a file.
PROBE = """
import atexit, json, os, sys
out = os.environ["STARTUP_MODULES_OUT"]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
from bot.cli.main import app
app(prog_name="hedgebot")
"""


def modules_after(tmp_path: Path, *args: str) -> set[str]:
    """The modules loaded by ``hedgebot ARGS`` by the time it exits (it must exit 0)."""
    out = tmp_path / "modules.json"
    env = {**os.environ, "STARTUP_MODULES_OUT": str(out)}
    env.pop("HEDGEBOT_LIVE", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(out.read_text()))


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` (packages: any of their submodules) are among ``modules``."""
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in modules))


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        # --help: typer and rich only, not even the config models.
        (("--help",), ()),
        (("run", "--help"), ()),
        (("backtest", "--help"), ()),
        (("alerts", "--help"), ()),
        (("config", "--help"), ()),
        # check-config: the config models and the YAML loader, nothing of the daemon,
        # exchanges, store or backtest (the database URL is checked with the standard library).
        (("check-config", "config/demo.yaml"), ()),
    ],
    ids=["help", "run-help", "backtest-help", "alerts-help", "config-help", "check-config"],
)
def test_start_up_imports_no_heavy_library(
    tmp_path: Path, args: tuple[str, ...], allowed: tuple[str, ...]
) -> None:
    modules = modules_after(tmp_path, *args)
    assert loaded(modules, tuple(n for n in HEAVY if n not in allowed)) == []


def test_help_does_not_load_the_config_models(tmp_path: Path) -> None:
    modules = modules_after(tmp_path, "--help")
    assert loaded(modules, ("bot.config", "structlog", "ruamel")) == []


def test_the_probe_sees_what_a_command_imports(tmp_path: Path) -> None:
    """The check above can fail: ``config reference`` does load the config models."""
    modules = modules_after(tmp_path, "config", "reference")
    assert loaded(modules, ("bot.config",)) == ["bot.config"]
