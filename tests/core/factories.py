"""Small builders for the core tests: markets, positions, snapshots and settings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

from bot.core.planner import PlannerSettings
from bot.core.types import HedgeTarget, MarginWallet, Market, Position, Snapshot

BTC = "BTC/USD:BTC"
ETH = "ETH/USD:ETH"
SOL = "SOL/USD:SOL"
BTC_LINEAR = "BTC/USDT:USDT"
TAKEN_AT = datetime(2024, 1, 1, tzinfo=UTC)


def D(value: str | int) -> Decimal:
    return Decimal(value)


def inverse(
    symbol: str = BTC,
    contract_size: str | int = 100,
    *,
    step: str | int = 1,
    min_contracts: str | int = 1,
    active: bool = True,
) -> Market:
    """An inverse perpetual whose contract is ``contract_size`` USD."""
    base = symbol.split("/")[0]
    return Market(
        symbol=symbol,
        base=base,
        quote="USD",
        settle=base,
        kind="inverse",
        contract_size=D(contract_size),
        amount_step=D(step),
        min_contracts=D(min_contracts),
        active=active,
    )


def linear(
    symbol: str = BTC_LINEAR,
    contract_size: str = "0.001",
    *,
    step: str | int = 1,
    min_contracts: str | int = 1,
) -> Market:
    """A linear (USDT-margined) perpetual whose contract is ``contract_size`` coin."""
    base = symbol.split("/")[0]
    return Market(
        symbol=symbol,
        base=base,
        quote="USDT",
        settle="USDT",
        kind="linear",
        contract_size=D(contract_size),
        amount_step=D(step),
        min_contracts=D(min_contracts),
    )


def position(
    symbol: str,
    short: Decimal | int,
    *,
    entry: Decimal | int = 50_000,
    mark: Decimal | int | None = None,
    upnl: Decimal = Decimal(0),
) -> Position:
    """A position holding ``short`` contracts short (a negative ``short`` is a long)."""
    return Position(
        symbol=symbol,
        contracts=-Decimal(short),
        entry_price=Decimal(entry),
        mark_price=None if mark is None else Decimal(mark),
        unrealized_pnl=upnl,
    )


def snapshot(
    *,
    markets: Mapping[str, Market],
    prices: Mapping[str, Decimal | int],
    positions: Mapping[str, Position] | None = None,
    spot: Mapping[str, Decimal] | None = None,
    static: Mapping[str, Decimal] | None = None,
    margin: Mapping[str, MarginWallet] | None = None,
    unknown: frozenset[str] = frozenset(),
) -> Snapshot:
    return Snapshot(
        taken_at=TAKEN_AT,
        spot=dict(spot or {}),
        static=dict(static or {}),
        margin=dict(margin or {}),
        positions=dict(positions or {}),
        prices={coin: Decimal(p) for coin, p in prices.items()},
        markets=dict(markets),
        unknown_positions=unknown,
    )


def target(instrument: str, usd: Decimal | str | int, asset: str | None = None) -> HedgeTarget:
    return HedgeTarget(
        asset=asset or instrument.split("/")[0],
        instrument=instrument,
        ratio=Decimal(1),
        target_short_usd=Decimal(usd),
    )


def settings(
    *,
    band: str = "0",
    min_order_usd: str | int = 0,
    max_order_usd: str | int = 10**12,
    max_total_short_usd: str | int = 10**15,
    oversize: str = "split",
) -> PlannerSettings:
    assert oversize in ("split", "clamp")
    return PlannerSettings(
        band=D(band),
        min_order_usd=D(min_order_usd),
        max_order_usd=D(max_order_usd),
        max_total_short_usd=D(max_total_short_usd),
        oversize="split" if oversize == "split" else "clamp",
    )
