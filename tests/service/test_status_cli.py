"""``hedgebot status`` reads the current state from the database."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from decimal import Decimal
from pathlib import Path

from rich.console import Console

from bot.cli.status import render
from tests.helpers import REPLAY_DIR, run_cli, write_config


def test_status_after_a_run(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        f"""
        exchange:
          id: sim
          sim:
            replay: {{path: {REPLAY_DIR}, start: "2024-04-10T00:00:00+00:00"}}
            inverse_perps: [BTC]
            balances: {{spot: {{SOL: 500}}, margin: {{BTC: 2}}}}
        rules:
          - {{kind: beta, asset: SOL, ratio: 0.7, estimator: {{window: 240}}}}
        hedge: {{leverage: 2}}
        schedule: {{interval_seconds: 0.2}}
        database: {{url: "sqlite+aiosqlite:///{tmp_path}/db.sqlite"}}
        """,
    )
    assert run_cli("run", "--config", str(config), "--ticks", "2").returncode == 0
    result = run_cli("status", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    (state,) = json.loads(result.stdout)["accounts"]
    assert state["account"] == "default"
    assert state["last_tick"]["status"] == "ok"
    sol = next(a for a in state["assets"] if a["asset"] == "SOL")
    assert sol["instrument"] == "BTC/USD:BTC"
    assert sol["proxy"] is True
    assert Decimal(sol["beta"]) > Decimal("0.5")
    assert Decimal(sol["rho"]) >= Decimal("0.7")
    assert sol["beta_estimated_at"] is not None
    assert abs(Decimal(sol["drift"])) < Decimal("0.02")
    assert state["margin"][0]["symbol"] == "BTC/USD:BTC"
    assert state["orders"]
    assert all(o["state"] == "FILLED" for o in state["orders"])
    table = run_cli("status", "--config", str(config))
    assert table.returncode == 0
    assert "BTC/USD:BTC" in table.stdout
    assert "Hedges" in table.stdout


def margin_config(tmp_path: Path, fund_from: str) -> Path:
    return write_config(
        tmp_path,
        f"""
        exchange:
          id: sim
          sim:
            prices: {{BTC: 50000}}
            balances: {{spot: {{BTC: 2}}, margin: {{BTC: 0.05}}}}
        rules:
          - {{asset: BTC, ratio: 1}}
        hedge: {{leverage: 2}}
        collateral: {{fund_from: {fund_from}}}
        schedule: {{interval_seconds: 0.1}}
        database: {{url: "sqlite+aiosqlite:///{tmp_path}/db.sqlite"}}
        """,
        name=f"{fund_from}.yaml",
    )


def rows(db: Path, query: str) -> list[dict[str, object]]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        found = [dict(row) for row in connection.execute(query)]
    connection.close()
    return found


def assert_fits_80_columns(text: str) -> None:
    assert text.strip()
    for line in text.splitlines():
        assert len(line) <= 80, line
    assert "…" not in text  # nothing cut


def test_status_margin_and_collateral_after_a_top_up(tmp_path: Path) -> None:
    config = margin_config(tmp_path, "spot")
    run = run_cli("run", "--config", str(config), "--ticks", "2")
    assert run.returncode == 0, run.stderr
    (moved,) = [line.strip() for line in run.stdout.splitlines() if "spot -> margin" in line]
    assert re.fullmatch(r"transfer \d+\.\d+ BTC spot -> margin: SUCCESS", moved), moved
    assert "margin shortfall" not in run.stdout

    result = run_cli("status", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    (state,) = json.loads(result.stdout)["accounts"]
    db = tmp_path / "db.sqlite"
    (stored,) = rows(
        db, "select * from margin_state where tick_id = (select max(tick_id) from margin_state)"
    )
    (risk,) = rows(db, "select * from position_risk order by id desc limit 1")
    assert risk["tick_id"] == stored["tick_id"]
    (entry,) = state["margin"]
    # exact strings, as stored (the store keeps canonical decimal text)
    assert entry == {
        "symbol": "BTC/USD:BTC",
        "coin": "BTC",
        **{
            name: stored[name]
            for name in (
                "balance",
                "equity",
                "required",
                "short_usd",
                "shortfall_usd",
                "coins_missing",
            )
        },
        "mark_price": risk["mark_price"],
        "liquidation_price": risk["exchange_liquidation_price"],
        "liquidation_source": "exchange",
        "own_liquidation_price": risk["own_liquidation_price"],
        "formula": risk["formula"],
        "distance": risk["distance"],
        "margin_ratio": risk["margin_ratio"],
    }
    (action,) = rows(db, "select * from collateral_actions")
    (shown,) = state["collateral_actions"]
    assert {k: shown[k] for k in ("action_id", "kind", "coin", "amount", "usd_value")} == {
        k: action[k] for k in ("action_id", "kind", "coin", "amount", "usd_value")
    }
    assert (shown["state"], shown["source"], shown["destination"]) == ("SUCCESS", "spot", "margin")

    table = run_cli("status", "--config", str(config))
    assert table.returncode == 0, table.stderr
    assert_fits_80_columns(table.stdout)
    out = table.stdout
    for title in ("Hedges (USD)", "Margin", "Liquidation and shortfall", "Collateral actions"):
        assert title in out
    assert "Open alerts: none" in out
    amount = format(Decimal(action["amount"]).quantize(Decimal("1e-8")).normalize(), "f")
    usd = f"{Decimal(action['usd_value']):,.2f}"
    assert re.search(rf"transfer +BTC +{re.escape(amount)} +{re.escape(usd)} +SUCCESS", out)
    distance = f"{Decimal(risk['distance']) * 100:.2f}%"
    liquidation = f"{Decimal(risk['exchange_liquidation_price']):,.2f}"
    assert re.search(rf"BTC/USD:BTC +{re.escape(liquidation)} +{re.escape(distance)} +0\.00", out)


def test_status_and_run_show_a_shortfall(tmp_path: Path) -> None:
    config = margin_config(tmp_path, "none")
    dry = run_cli("run", "--config", str(config), "--ticks", "1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    unwrapped = re.sub(r"\n {6,}", " ", dry.stdout)  # join wrapped continuation lines
    (line,) = [line.strip() for line in unwrapped.splitlines() if "shortfall" in line]
    assert re.fullmatch(
        r"margin shortfall BTC/USD:BTC: carries [\d,]+\.\d\d of 102,500\.00 USD; "
        r"0\.\d{1,8} BTC missing",
        line,
    ), line
    table = run_cli("status", "--config", str(config))
    assert table.returncode == 0, table.stderr
    assert_fits_80_columns(table.stdout)
    (stored,) = rows(tmp_path / "db.sqlite", "select * from margin_state")
    shortfall = f"{Decimal(stored['shortfall_usd']):,.2f}"
    missing = format(Decimal(stored["coins_missing"]).quantize(Decimal("1e-8")).normalize(), "f")
    # a dry run sends nothing: no short, so no liquidation yet
    assert re.search(
        rf"BTC/USD:BTC +no short +- +{re.escape(shortfall)} +{re.escape(missing)} BTC",
        table.stdout,
    )
    assert "Collateral actions: none" in table.stdout


def test_status_dry_run_collateral_is_printed_as_such(tmp_path: Path) -> None:
    config = margin_config(tmp_path, "spot")
    dry = run_cli("run", "--config", str(config), "--ticks", "1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert re.search(r"transfer \d+\.\d+ BTC spot -> margin: DRY-RUN", dry.stdout)
    (state,) = json.loads(run_cli("status", "--config", str(config), "--json").stdout)["accounts"]
    assert [a["state"] for a in state["collateral_actions"]] == ["DRY_RUN"]


def test_render_fits_80_columns_with_wide_values() -> None:
    """Large books and long identifiers: nothing cut, nothing wider than 80 columns; a short
    whose liquidation no rise reaches says so."""
    state = {
        "account": "a-rather-long-account-name",
        "last_tick": {"started_at": "2026-12-05T10:00:00.123456+00:00", "status": "ok"},
        "assets": [
            {
                "asset": "SOL",
                "instrument": "BTC/USD:BTC-261225",
                "exposure_usd": "12345678.905",
                "target_short_usd": "12345678.9",
                "hedge_usd": "12345678.123456",
                "drift": "-0.123456",
                "ratio": "0.7",
                "beta": "1.23456789",
                "rho": "0.7740123",
                "proxy": True,
            }
        ],
        "margin": [
            {
                "symbol": "BTC/USD:BTC-261225",
                "coin": "BTC",
                "balance": "12345.123456789123",
                "equity": "12345.123456789123",
                "required": "12345.123456789123",
                "shortfall_usd": "12345678.904",
                "coins_missing": "1234.123456789",
                "liquidation_price": None,
                "liquidation_source": "unreachable",
                "distance": None,
            }
        ],
        "collateral_actions": [
            {
                "created_at": "2026-12-05T10:00:00.123456+00:00",
                "kind": "spot_sell",
                "coin": "DOGE",
                "amount": "123456789.123456789",
                "usd_value": "12345678.905",
                "state": "SUCCESS",
            }
        ],
        "orders": [
            {
                "client_order_id": "hb-74626b569c4cfcd6cb3e1782ad27fd",
                "symbol": "BTC/USD:BTC-261225",
                "side": "sell",
                "contracts": "70925",
                "state": "PARTIALLY_FILLED",
            }
        ],
        "open_alerts": [],
    }
    console = Console(record=True, width=80, file=io.StringIO())
    render(console, state)
    out = console.export_text()
    assert_fits_80_columns(out)
    for expected in (
        "BTC/USD:BTC-261225",
        "12,345,678.90",  # USD to cents
        "12345.12345679",  # coins to 8 decimals
        "1234.12345679 BTC",
        "-12.35%",  # drift as a percentage
        "unreachable",
        "2026-12-05 10:00",
        "123456789.12345679",
        "hb-74626b569c4cfcd6cb3e1782ad27fd",
        "Open alerts: none",
    ):
        assert expected in out, expected
    # too wide by a few columns: a state folds onto a second line, identifiers stay whole
    assert "PARTIALLY\n" in out.replace(" ", "")
