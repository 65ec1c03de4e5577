"""``hedgebot backtest`` as a user runs it (a subprocess)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from bot.cli.main import app
from tests.backtest.helpers import utc, write_binance_funding, write_candles
from tests.helpers import run_cli, write_config

START = utc(2024, 1, 1)
CONFIG = """
exchange:
  id: sim
  sim:
    prices: {{BTC: 1}}
    balances: {{spot: {{BTC: 1}}, margin: {{BTC: 2}}}}
    fee_rate: 0.0005
rules:
  - {{asset: BTC, ratio: {ratio}}}
hedge: {{band: {band}, min_order_usd: 10, leverage: 5}}
"""


def _data(folder: Path) -> Path:
    folder.mkdir()
    closes = [40_000 + 500 * ((i * 7) % 11) - 200 * (i // 24) for i in range(5 * 24)]
    write_candles(folder, "BTC", START, closes)
    write_binance_funding(
        folder, "BTC", [(START + timedelta(hours=8 * i), "0.0001") for i in range(16)]
    )
    return folder


def test_json_plot_and_compare(tmp_path: Path) -> None:
    data = _data(tmp_path / "data")
    full = write_config(tmp_path, CONFIG.format(ratio=1, band=0.02), "full.yaml")
    plot = tmp_path / "chart.png"
    single = run_cli(
        "backtest",
        "--config",
        str(full),
        "--data",
        str(data),
        "--json",
        "--plot",
        str(plot),
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-04",
    )
    assert single.returncode == 0, single.stderr
    report = json.loads(single.stdout)
    for key in (
        "effectiveness",
        "ceiling",
        "fees_usd",
        "funding_usd",
        "orders",
        "turnover_usd",
        "max_drawdown_hedged",
        "max_drawdown_unhedged",
        "outside_band_share",
        "gaps",
        "notes",
        "liquidations",
        "refused_orders",
        "margin",
        "margin_shortfall_hours",
        "transfers",
        "conversions",
    ):
        assert key in report
    assert report["liquidations"] == report["refused_orders"] == 0
    assert set(report["margin"]) == {"BTC"}  # 2 BTC of margin carry the 3 BTC short
    assert 0.3 < report["margin"]["BTC"]["peak_used"] < 1
    assert report["margin_shortfall_hours"] == 0
    assert report["transfers"]["count"] == report["conversions"]["count"] == 0
    assert report["start"] == "2024-01-01T00:00:00+00:00"
    assert report["end"] == "2024-01-05T00:00:00+00:00"  # --to is inclusive of its day
    assert report["effectiveness"] > 0.95
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert single.stderr == ""  # no progress bar with --json (and not on a terminal)


def test_compare_side_by_side(tmp_path: Path) -> None:
    data = _data(tmp_path / "data")
    full = write_config(tmp_path, CONFIG.format(ratio=1, band=0.02), "full.yaml")
    half = write_config(tmp_path, CONFIG.format(ratio=0.5, band=0), "half.yaml")
    runner = CliRunner()
    pair = runner.invoke(
        app,
        [
            "backtest",
            "-c",
            str(full),
            "--data",
            str(data),
            "--compare",
            str(half),
            "--json",
            "--plot",
            str(tmp_path / "page.html"),
        ],
    )
    assert pair.exit_code == 0, pair.output
    results = json.loads(pair.stdout)
    assert [r["name"] for r in results] == ["full", "half"]
    assert results[1]["orders"] > results[0]["orders"]  # band 0 trades more
    assert (tmp_path / "page-full.html").read_text().startswith("<!doctype html>")
    assert (tmp_path / "page-half.html").exists()
    table = runner.invoke(
        app, ["backtest", "-c", str(full), "--data", str(data), "--compare", str(half)]
    )
    assert table.exit_code == 0, table.output
    assert "Backtest comparison" in table.stdout
    assert "hedge effectiveness" in table.stdout
    assert "peak margin used, BTC" in table.stdout
    assert "LIQUIDATIONS" in table.stdout


def test_bad_data_and_arguments_exit_2_with_the_place(tmp_path: Path) -> None:
    data = _data(tmp_path / "data")
    candles = data / "binance_spot_BTCUSDT_1h.csv"
    lines = candles.read_text().splitlines()
    lines[5] = lines[5].replace(",1\n", ",x\n").rsplit(",", 1)[0] + ",x"
    candles.write_text("\n".join(lines) + "\n")
    cfg = write_config(tmp_path, CONFIG.format(ratio=1, band=0.02))
    runner = CliRunner()
    bad = runner.invoke(app, ["backtest", "-c", str(cfg), "--data", str(data)])
    assert bad.exit_code == 2
    assert f"{candles}:6: volume 'x' is not a number" in bad.stderr
    funding = runner.invoke(
        app, ["backtest", "-c", str(cfg), "--data", str(data), "--funding", "BTC=ftx"]
    )
    assert funding.exit_code == 2
    assert "expected COIN=SOURCE" in funding.stderr
    good = _data(tmp_path / "good")
    late = runner.invoke(
        app, ["backtest", "-c", str(cfg), "--data", str(good), "--from", "2025-01-01"]
    )
    assert late.exit_code == 2
    assert "no prices for BTC over 2025-01-01 00:00" in late.stderr


def _spiked(folder: Path, index: int, spike: str) -> Path:
    """The data of ``_data`` with candle ``index`` closing at ``spike`` (line ``index + 2``)."""
    folder.mkdir()
    closes: list[int | str] = [40_000 + 500 * ((i * 7) % 11) for i in range(5 * 24)]
    closes[index] = spike
    write_binance_funding(
        folder, "BTC", [(START + timedelta(hours=8 * i), "0.0001") for i in range(16)]
    )
    return write_candles(folder, "BTC", START, closes)


def test_absurd_prices_and_jumps_exit_2_with_the_place(tmp_path: Path) -> None:
    """A price of 1e50 once ended in decimal.InvalidOperation (exit 1) and a 1e23 spike in an
    effectiveness of -3420; a hundredfold jump is refused too (all real data moves < 6x)."""
    cfg = write_config(tmp_path, CONFIG.format(ratio=1, band=0.02))
    cases = [
        ("1e50", "high 1E+50 is above 1,000,000,000 USD per coin"),
        ("1e23", "high 1E+23 is above 1,000,000,000 USD per coin"),
        ("5000000", "high 5000000 is more than 100 times the previous close 44500"),
    ]
    for number, (spike, problem) in enumerate(cases):
        candles = _spiked(tmp_path / f"data{number}", 51, spike)
        result = run_cli("backtest", "-c", str(cfg), "--data", str(candles.parent), "--json")
        assert result.returncode == 2, result.stdout + result.stderr[-2000:]
        assert f"backtest: {candles}:53: {problem}" in result.stderr
        assert "Traceback" not in result.stderr
        assert result.stdout == ""
