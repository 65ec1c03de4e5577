"""The command line, run as a real subprocess."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from tests.helpers import REPLAY_DIR, run_cli, write_config


def sim_config(
    tmp_path: Path,
    *,
    coin: str,
    price: str,
    spot: str,
    ratio: str,
    size: str,
    margin: str = "0",
    leverage: str = "1",
) -> Path:
    return write_config(
        tmp_path,
        f"""
        exchange:
          id: sim
          sim:
            prices: {{{coin}: {price}}}
            contract_size_usd: {{{coin}: {size}}}
            balances:
              spot: {{{coin}: {spot}}}
              margin: {{{coin}: {margin}}}
        rules:
          - asset: {coin}
            ratio: {ratio}
        hedge:
          leverage: {leverage}
        database:
          url: sqlite+aiosqlite:///{tmp_path}/db.sqlite
        """,
    )


def test_plan_json_direct_btc_hedge(tmp_path: Path) -> None:
    # 5 BTC @ 50,000: 3 in spot and 2 as margin, which carry the 2,500-contract short at 5x
    # with liquidation more than 50 % away (1.70 BTC needed).
    config = sim_config(
        tmp_path,
        coin="BTC",
        price="50000",
        spot="3",
        margin="2",
        leverage="5",
        ratio="1",
        size="100",
    )
    result = run_cli("plan", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    (hedge,) = report["hedges"]
    assert hedge["instrument"] == "BTC/USD:BTC"
    assert Decimal(hedge["target_short_usd"]) == Decimal(250000)
    assert Decimal(hedge["target_contracts"]) == Decimal(2500)
    assert Decimal(hedge["current_contracts"]) == 0
    (exposure,) = report["exposures"]
    assert Decimal(exposure["exposure_usd"]) == Decimal(250000)
    assert Decimal(exposure["spot"]) == 3
    assert Decimal(exposure["collateral"]) == 2
    orders = report["orders"]
    assert sum(Decimal(o["contracts"]) for o in orders) == Decimal(2500)
    assert {o["side"] for o in orders} == {"sell"}
    assert all(not o["reduce_only"] for o in orders)
    assert len({o["client_order_id"] for o in orders}) == len(orders)
    # plan never records anything
    assert not (tmp_path / "db.sqlite").exists()


def test_plan_json_sizes_the_hedge_to_its_margin_and_reports_the_shortfall(
    tmp_path: Path,
) -> None:
    # 5 BTC in spot and none as margin: nothing can carry the short, so no order is planned
    # (the exchange would refuse it) and the whole target is a shortfall.
    config = sim_config(tmp_path, coin="BTC", price="50000", spot="5", ratio="1", size="100")
    result = run_cli("plan", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["orders"] == []
    (shortfall,) = report["shortfalls"]
    assert shortfall["instrument"] == "BTC/USD:BTC"
    assert Decimal(shortfall["target_usd"]) == Decimal(250000)
    assert Decimal(shortfall["carried_usd"]) == 0
    # at 1x the initial margin is the whole 5 BTC, plus the 0.1 % fee reserved
    assert Decimal(shortfall["coins_missing"]) == Decimal("5.005")
    assert report["collateral_actions"] == []


def test_plan_json_small_coin_own_perp(tmp_path: Path) -> None:
    config = sim_config(tmp_path, coin="NVC", price="1.00", spot="10000", ratio="0.7", size="10")
    result = run_cli("plan", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    (hedge,) = json.loads(result.stdout)["hedges"]
    assert hedge["instrument"] == "NVC/USD:NVC"
    assert Decimal(hedge["target_short_usd"]) == Decimal(7000)
    assert Decimal(hedge["target_contracts"]) == Decimal(700)


def test_plan_table_output(tmp_path: Path) -> None:
    config = sim_config(tmp_path, coin="BTC", price="50000", spot="5", ratio="1", size="100")
    result = run_cli("plan", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "BTC/USD:BTC" in result.stdout
    assert "2500" in result.stdout


BAD_CONFIGS = {
    "unknown key": (
        """
        exchange:
          id: sim
          sim: {prices: {BTC: 50000}}
        rules:
          - {asset: BTC, ratio: 1}
        hedge:
          bandd: 0.1
        """,
        "hedge.bandd (line 7)",
    ),
    "ratio above one": (
        """
        exchange:
          id: sim
          sim: {prices: {BTC: 50000}}
        rules:
          - asset: BTC
            ratio: 1.5
        """,
        "rules.0.ratio (line 6)",
    ),
    "negative cap": (
        """
        exchange:
          id: sim
          sim: {prices: {BTC: 50000}}
        rules:
          - {asset: BTC, ratio: 1}
        limits:
          max_order_usd: -5
        """,
        "limits.max_order_usd (line 7)",
    ),
}


@pytest.mark.parametrize("command", ["check-config", "run", "plan"])
@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_exits_2_naming_field_and_line(tmp_path: Path, case: str, command: str) -> None:
    body, expected = BAD_CONFIGS[case]
    body = textwrap.dedent(body) + f"database:\n  url: sqlite+aiosqlite:///{tmp_path}/x.db\n"
    config = write_config(tmp_path, body)
    args = (
        ["check-config", str(config)]
        if command == "check-config"
        else [command, "--config", str(config)]
    )
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr
    assert not (tmp_path / "x.db").exists()
    assert not (tmp_path / "hedgebot.sqlite").exists()


def test_mainnet_needs_explicit_opt_in(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        f"""
        exchange:
          id: bybit
          testnet: false
        rules:
          - {{asset: BTC, ratio: 1}}
        database:
          url: sqlite+aiosqlite:///{tmp_path}/x.db
        """,
    )
    result = run_cli("run", "--config", str(config), "--ticks", "1")
    assert result.returncode == 2
    assert "HEDGEBOT_LIVE=1" in result.stderr
    assert not (tmp_path / "x.db").exists()


def test_check_config_accepts_the_shipped_examples() -> None:
    for path in sorted((REPLAY_DIR.parents[1] / "config").glob("*.yaml")):
        result = run_cli("check-config", str(path))
        assert result.returncode == 0, f"{path}: {result.stderr}"
        assert "OK" in result.stdout


def test_demo_runs_and_leaves_rows(tmp_path: Path) -> None:
    demo = (REPLAY_DIR.parents[1] / "config" / "demo.yaml").read_text()
    demo = demo.replace("path: ../data/replay", f"path: {REPLAY_DIR}")
    demo = demo.replace(
        "sqlite+aiosqlite:///var/demo.sqlite", f"sqlite+aiosqlite:///{tmp_path}/demo.sqlite"
    )
    config = write_config(tmp_path, demo)
    result = run_cli("run", "--config", str(config), "--ticks", "10", timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("tick ") == 10
    assert "exposure BTC" in result.stdout
    assert "hedge BTC/USD:BTC" in result.stdout
    assert "order sell" in result.stdout
    with sqlite3.connect(tmp_path / "demo.sqlite") as db:
        statuses = [row[0] for row in db.execute("select status from ticks")]
        assert statuses == ["ok"] * 10
        filled = db.execute("select count(*) from orders where state = 'FILLED'").fetchone()[0]
        assert filled >= 3  # one opening order per instrument at least
        assert db.execute("select count(*) from fills").fetchone()[0] >= filled
        assert db.execute("select count(*) from snapshots").fetchone()[0] == 10
        # 10 hourly ticks cross at least one 8-hour funding boundary
        assert db.execute("select count(*) from funding_payments").fetchone()[0] >= 1
