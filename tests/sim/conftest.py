"""Shared helpers for the simulated-exchange tests."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.core.types import OrderRequest, Side
from bot.sim.engine import SimExchange, SimParams
from bot.sim.feed import FixedPrices

D = Decimal
T0 = datetime(2024, 1, 1, tzinfo=UTC)
BTC_PERP = "BTC/USD:BTC"
REPLAY_DIR = Path(__file__).resolve().parents[2] / "data" / "replay"
HEADER = "timestamp,open,high,low,close,volume"

EngineFactory = Callable[..., SimExchange]


def order(
    side: Side,
    contracts: int | str | Decimal,
    cid: str,
    *,
    symbol: str = BTC_PERP,
    reduce_only: bool = False,
    limit: int | str | Decimal | None = None,
    post_only: bool = False,
) -> OrderRequest:
    return OrderRequest(
        symbol=symbol,
        side=side,
        contracts=D(contracts),
        reduce_only=reduce_only,
        client_order_id=cid,
        order_type="market" if limit is None else "limit",
        limit_price=None if limit is None else D(limit),
        post_only=post_only,
    )


@pytest.fixture
def make_engine() -> EngineFactory:
    """A fixed-price engine at T0 (BTC 50,000 and ETH 2,500 by default), no fees unless asked."""

    def build(
        *,
        prices: Mapping[str, Decimal] | None = None,
        margin: Mapping[str, Decimal] | None = None,
        spot: Mapping[str, Decimal] | None = None,
        start: datetime = T0,
        **params: object,
    ) -> SimExchange:
        feed = FixedPrices(prices or {"BTC": D(50000), "ETH": D(2500)})
        sim_params = SimParams(**{"fee_rate": D(0), **params})  # type: ignore[arg-type]
        return SimExchange(
            feed,
            sim_params,
            start=start,
            spot=spot,
            margin_balances=margin if margin is not None else {"BTC": D(10)},
        )

    return build


def write_candles(path: Path, rows: list[str], header: str = HEADER) -> Path:
    """Write a candle file (gzip when the name ends in .gz); rows are raw CSV lines."""
    text = "\n".join([header, *rows]) + "\n"
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def read_closes(path: Path) -> list[tuple[datetime, Decimal, Decimal]]:
    """(open time, open, close) per row, read independently of the feed."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [(datetime.fromisoformat(r["timestamp"]), D(r["open"]), D(r["close"])) for r in rows]
