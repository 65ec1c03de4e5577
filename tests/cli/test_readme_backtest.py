"""The README's backtest examples run as written, from a fresh directory, on the data bundled in
the repository (data/backtest), and print the figures the README quotes for them."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from tests.helpers import REPO

BIN = Path(sys.executable).parent / "hedgebot"


def readme_section(title: str) -> str:
    readme = (REPO / "README.md").read_text()
    start = readme.index(f"\n## {title}\n")
    end = readme.find("\n## ", start + 1)
    return readme[start:end]


def readme_commands() -> list[list[str]]:
    """The commands of the Backtest section's bash block, continuation lines joined."""
    section = readme_section("Backtest")
    (block,) = re.findall(r"^```bash\n(.*?)^```$", section, re.S | re.M)
    joined = block.replace("\\\n", " ")
    return [shlex.split(line) for line in joined.splitlines() if line.strip()]


def readme_figures() -> dict[str, list[str]]:
    """config name -> [effectiveness, ceiling, fees, funding, orders] as the README prints them."""
    section = readme_section("Backtest")
    table = section.split("<!-- backtest-figures:start -->")[1].split("<!-- backtest-figures")[0]
    figures: dict[str, list[str]] = {}
    for line in table.strip().splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        name = re.match(r"`([a-z0-9-]+)`", cells[0])
        assert name, line
        figures[f"backtest-{name.group(1)}"] = cells[1:]
    return figures


def run_as_written(argv: list[str], cwd: Path) -> str:
    assert argv[:2] == ["hedgebot", "backtest"], argv
    done = subprocess.run(
        [str(BIN), *argv[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "160"},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def fresh_directory(tmp_path: Path) -> Path:
    """A directory holding only what a user of the repository has: config/ and data/."""
    for name in ("config", "data"):
        (tmp_path / name).symlink_to(REPO / name)
    return tmp_path


def test_the_readme_has_three_examples_on_the_bundled_data() -> None:
    commands = readme_commands()
    assert len(commands) == 3
    for argv in commands:
        assert argv[argv.index("--data") + 1] == "data/backtest"


def test_every_readme_example_runs_and_prints_its_figures(fresh_directory: Path) -> None:
    figures = readme_figures()
    seen: set[str] = set()
    for argv in readme_commands():
        out = run_as_written(argv, fresh_directory)
        if "--json" in argv:
            report = json.loads(out)
            effectiveness, ceiling, fees, funding, orders = figures[report["name"]]
            assert f"{report['effectiveness']:.4f}" == effectiveness
            assert f"{report['ceiling']:.4f}" == ceiling
            assert f"{report['fees_usd']:,.2f}" == fees
            assert f"{report['funding_usd']:,.2f}" == funding
            assert f"{report['orders']:,}" == orders
            seen.add(report["name"])
            plot = argv[argv.index("--plot") + 1]
            assert (fresh_directory / plot).stat().st_size > 10_000
            continue
        configs = [
            value for flag, value in pairwise(argv) if flag in ("-c", "--config", "--compare")
        ]
        for config in configs:
            name = Path(config).stem
            effectiveness, ceiling, fees, funding, orders = figures[name]
            assert name in out
            for figure in (effectiveness, ceiling, fees, funding):
                assert figure in out, (name, figure)
            assert f"{orders} / {orders}" in out, (name, orders)
            seen.add(name)
    assert seen == set(figures)
