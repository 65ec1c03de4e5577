"""``check-config`` refuses what ``run`` would only find out later, and ``run`` refuses it the same
way (exit 2, ``path (line N): message``) before it creates the database.

Each once passed check-config: a misfire grace of 1e14 s (then APScheduler's OverflowError on
every tick), exchange ``kraken`` (then a traceback, exit 1, and a new SQLite file) and a rule
market the simulated exchange does not list (exit 3 after the database was created).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_cli, write_config


def flat(text: str) -> str:
    """Console output with its line wrapping undone."""
    return " ".join(text.split())


def config(tmp_path: Path, body: str) -> Path:
    return write_config(tmp_path, body + f"database:\n  url: sqlite+aiosqlite:///{tmp_path}/x.db\n")


def command(name: str, path: Path) -> list[str]:
    if name == "check-config":
        return ["check-config", str(path)]
    return [name, "--config", str(path), "--ticks", "1"]


def assert_refused_before_the_database(tmp_path: Path, args: list[str], message: str) -> None:
    """``hedgebot *args`` exits 2 printing ``message``, without a traceback or a database."""
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in flat(result.stderr)
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.db").exists()
    assert not (tmp_path / "hedgebot.sqlite").exists()


MISFIRE = """\
exchange:
  id: sim
  sim: {{prices: {{BTC: 50000}}}}
rules:
  - {{asset: BTC, ratio: 1}}
schedule:
  misfire_grace_seconds: {grace}
"""


@pytest.mark.parametrize("name", ["check-config", "run"])
def test_a_misfire_grace_beyond_a_day_is_refused(tmp_path: Path, name: str) -> None:
    path = config(tmp_path, MISFIRE.format(grace=100000000000000))
    assert_refused_before_the_database(
        tmp_path,
        command(name, path),
        "schedule.misfire_grace_seconds (line 7): 100000000000000 is not valid: "
        "Input should be less than or equal to 86400",
    )


def test_a_misfire_grace_of_a_day_is_accepted(tmp_path: Path) -> None:
    result = run_cli("check-config", str(config(tmp_path, MISFIRE.format(grace=86400))))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


@pytest.mark.parametrize("name", ["check-config", "run"])
def test_an_unsupported_exchange_is_refused_before_the_database(tmp_path: Path, name: str) -> None:
    path = config(tmp_path, "exchange:\n  id: kraken\nrules:\n  - {asset: BTC, ratio: 1}\n")
    assert_refused_before_the_database(
        tmp_path,
        command(name, path),
        "exchange.id (line 2): exchange 'kraken' is not supported (supported: binancecoinm, "
        "bingx, bybit, deribit, mexc, okx, weex, sim; see `hedgebot exchanges`)",
    )


@pytest.mark.parametrize("name", ["check-config", "run"])
def test_a_market_the_simulator_does_not_list_is_refused_before_the_database(
    tmp_path: Path, name: str
) -> None:
    body = (
        "exchange:\n"
        "  id: sim\n"
        "  sim: {prices: {BTC: 50000}, balances: {spot: {BTC: 1}, margin: {BTC: 1}}}\n"
        "rules:\n"
        "  - {asset: BTC, ratio: 1, instrument: ETH/USD:ETH}\n"
    )
    result = run_cli(*command(name, config(tmp_path, body)), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        "rules.0.instrument (line 5): the simulated exchange lists no market ETH/USD:ETH "
        "(it lists BTC/USD:BTC:"
    ) in flat(result.stderr)
    assert not (tmp_path / "x.db").exists()


def test_a_symbol_no_exchange_lists_is_refused(tmp_path: Path) -> None:
    body = "exchange:\n  id: bybit\nrules:\n  - {asset: BTC, ratio: 1, instrument: BTCUSD}\n"
    result = run_cli("check-config", str(config(tmp_path, body)))
    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        "rules.0.instrument (line 4): 'BTCUSD' is not valid: expected a contract's market "
        "symbol BASE/QUOTE:SETTLE"
    ) in flat(result.stderr)
