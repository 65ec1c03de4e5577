"""Builders for the backtest tests: tiny data folders written by hand, configs, quick runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bot.backtest import BacktestOptions, BacktestResult, load_for, run_backtest
from bot.config.loader import parse_config
from bot.config.models import Config

REPO = Path(__file__).resolve().parents[2]
HEADER = "timestamp,open,high,low,close,volume"


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_candles(
    folder: Path,
    coin: str,
    start: datetime,
    closes: Sequence[Decimal | int | str],
    first_open: Decimal | int | str | None = None,
) -> Path:
    """Hourly candles from ``start``; candle i closes at ``closes[i]`` and opens at the previous
    close (the first at ``first_open``, default its own close)."""
    path = folder / f"binance_spot_{coin}USDT_1h.csv"
    lines = [HEADER]
    previous = Decimal(closes[0] if first_open is None else first_open)
    for i, raw in enumerate(closes):
        close = Decimal(raw)
        opened = start + timedelta(hours=i)
        high, low = max(previous, close), min(previous, close)
        lines.append(f"{stamp(opened)},{previous},{high},{low},{close},1")
        previous = close
    path.write_text("\n".join(lines) + "\n")
    return path


def write_binance_funding(
    folder: Path, coin: str, settlements: Sequence[tuple[datetime, str]]
) -> Path:
    path = folder / f"binance_usdm_{coin}USDT_funding.csv"
    rows = [f"{stamp(at)},{coin}USDT,{rate}" for at, rate in settlements]
    path.write_text("timestamp,symbol,funding_rate\n" + "\n".join(rows) + "\n")
    return path


def config(body: str, base: Path = REPO / "config") -> Config:
    """A config from YAML text; relative paths resolve against ``base``."""
    return parse_config(body, base_dir=base)


def sim_config(
    *,
    rules: str,
    spot: str = "{}",
    margin: str = "{}",
    band: str = "0.02",
    fee: str = "0.00055",
    leverage: str = "10",
    extra_sim: str = "",
    min_order: str = "10",
    extra: str = "",
) -> Config:
    """A minimal backtest config (replay path only to satisfy the schema); ``extra``: more
    top-level YAML (e.g. a ``collateral:`` section)."""
    return config(
        f"""
exchange:
  id: sim
  sim:
    replay: {{path: ../data/replay}}
    balances: {{spot: {spot}, margin: {margin}}}
    fee_rate: {fee}
{extra_sim}
rules:
{rules}
hedge: {{band: {band}, min_order_usd: {min_order}, leverage: {leverage}, margin_mode: cross}}
limits: {{max_order_usd: 1000000000, max_total_short_usd: 100000000000}}
{extra}
"""
    )


def run(
    cfg: Config,
    data: Path,
    start: datetime | None = None,
    end: datetime | None = None,
    **options: object,
) -> BacktestResult:
    opts = BacktestOptions(start=start, end=end, **options)  # type: ignore[arg-type]
    return run_backtest(cfg, load_for([cfg], data, opts), opts)


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)
