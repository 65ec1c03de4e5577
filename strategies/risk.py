"""Margin and liquidation of each hedge position, and the margin top-up decision. Pure.

Reference: hedging-math.md §6. The exchange's liquidation price is used when the position
reports one; our own is always computed beside it (cross-check and fallback) and the formula is
named ("mark-basis isolated", "entry-basis cross", ...):

- inverse short of face Q (USD) entered at P0, collateral c (coin): equity at P is
  c + Q·(1/P − 1/P0); ``bot.core.inverse.liquidation_price_short`` solves equity = m·Q/P0
  (entry basis) or m·Q/P (mark basis). Isolated: c = initial margin Q/(P0·L). Cross: c = the
  coin wallet's balance (the whole wallet backs the position);
- linear short of q coins, collateral c (quote, e.g. USDT): equity c + q·(P0 − P) against
  m·q·P0 (entry) or m·q·P (mark). Isolated: c = q·P0/L.

``margin_ratio`` = maintenance / equity at the mark (1 = liquidation). Distances are fractional
price rises from the mark (0.25 = the price may rise 25 %).

Top-up: when the distance falls below ``threshold``, move coins spot → margin so that our model
puts liquidation ``target_distance`` above the mark, capped at ``max_top_up`` and at the spot
held; at most once per episode (the episode ends when the distance is back at or above the
threshold). State in, state out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot.core.inverse import (
    MaintenanceBasis,
    liquidation_distance,
    liquidation_price_short,
    short_pnl_coin,
)
from bot.core.types import ZERO, MarginMode, Market, Position
from strategies.events import RuleEvent

ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class LiquidationCheck:
    """Liquidation view of one short. Money in the settle currency (coin for inverse).

    ``size``: USD face Q (inverse) or coins q (linear). ``collateral``: what backs it (see the
    module docstring). ``own_price`` None: unreachable by a rise (e.g. a 1x inverse short).
    """

    symbol: str
    kind: str  # "inverse" | "linear"
    mark_price: Decimal
    entry_price: Decimal
    size: Decimal
    collateral: Decimal
    maintenance_rate: Decimal
    basis: MaintenanceBasis
    margin_mode: MarginMode
    formula: str
    own_price: Decimal | None
    exchange_price: Decimal | None
    equity: Decimal  # at the mark
    maintenance: Decimal  # at the mark
    margin_ratio: Decimal | None  # maintenance / equity; None when equity <= 0

    @property
    def price(self) -> Decimal | None:
        """The liquidation price to act on: the exchange's when given, else our own."""
        return self.exchange_price if self.exchange_price is not None else self.own_price

    @property
    def source(self) -> str:
        if self.exchange_price is not None:
            return "exchange"
        return "own" if self.own_price is not None else "unreachable"

    @property
    def distance(self) -> Decimal | None:
        return liquidation_distance(self.price, self.mark_price)

    @property
    def own_distance(self) -> Decimal | None:
        return liquidation_distance(self.own_price, self.mark_price)

    @property
    def mismatch(self) -> Decimal | None:
        """|exchange / own − 1| when both exist."""
        if self.exchange_price is None or self.own_price is None:
            return None
        return abs(self.exchange_price / self.own_price - ONE)


def liquidation_check(
    position: Position,
    market: Market,
    *,
    mark_price: Decimal,
    wallet_balance: Decimal,
    margin_mode: MarginMode,
    leverage: Decimal,
    maintenance_rate: Decimal,
    basis: MaintenanceBasis = "mark",
) -> LiquidationCheck | None:
    """The check for a short ``position`` (None for a long or flat one).

    ``position.margin_mode`` / ``position.leverage`` win over ``margin_mode`` / ``leverage``
    (the configured values) when the exchange reports them. ``wallet_balance``: the settle
    wallet's balance (coin or quote), used in cross mode.
    """
    if position.contracts >= 0:
        return None
    mode = position.margin_mode or margin_mode
    lev = position.leverage or leverage
    entry, mark, m = position.entry_price, mark_price, maintenance_rate
    contracts = -position.contracts
    if market.is_inverse:
        size = contracts * market.contract_size  # Q, USD
        collateral = size / (entry * lev) if mode == "isolated" else wallet_balance
        own = liquidation_price_short(size, entry, collateral, m, basis)
        equity = collateral + short_pnl_coin(size, entry, mark)
        maintenance = m * size / (entry if basis == "entry" else mark)
    else:
        size = contracts * market.contract_size  # q, coins
        collateral = size * entry / lev if mode == "isolated" else wallet_balance
        own = _linear_liquidation(size, entry, collateral, m, basis)
        equity = collateral + size * (entry - mark)
        maintenance = m * size * (entry if basis == "entry" else mark)
    formula = f"{basis}-basis {mode}" + ("" if market.is_inverse else " linear")
    return LiquidationCheck(
        symbol=position.symbol,
        kind=market.kind,
        mark_price=mark,
        entry_price=entry,
        size=size,
        collateral=collateral,
        maintenance_rate=m,
        basis=basis,
        margin_mode=mode,
        formula=formula,
        own_price=own,
        exchange_price=position.liquidation_price,
        equity=equity,
        maintenance=maintenance,
        margin_ratio=maintenance / equity if equity > 0 else None,
    )


def _linear_liquidation(
    coins: Decimal, entry: Decimal, collateral: Decimal, m: Decimal, basis: MaintenanceBasis
) -> Decimal | None:
    if coins <= 0:
        return None
    if basis == "entry":  # c + q(P0 − P) = m·q·P0
        return entry + collateral / coins - m * entry
    return (collateral + coins * entry) / (coins * (ONE + m))  # c + q(P0 − P) = m·q·P


def collateral_for_price(check: LiquidationCheck, price: Decimal) -> Decimal:
    """Collateral (settle currency) at which our model liquidates at ``price``."""
    size, entry, m = check.size, check.entry_price, check.maintenance_rate
    if check.kind == "inverse":
        if check.basis == "entry":
            return size * (ONE + m) / entry - size / price
        return size / entry - size * (ONE - m) / price
    if check.basis == "entry":
        return size * (price - entry + m * entry)
    return price * size * (ONE + m) - size * entry


def price_mismatch_event(
    check: LiquidationCheck, tolerance: Decimal, asset: str
) -> RuleEvent | None:
    """An event when the exchange's and our liquidation price differ by more than
    ``tolerance`` (fraction)."""
    mismatch = check.mismatch
    if mismatch is None or mismatch <= tolerance:
        return None
    message = (
        f"{check.symbol}: exchange liquidation {check.exchange_price} vs own {check.own_price} "
        f"({check.formula}) differ by {mismatch:.4%}"
    )
    values = {"exchange": str(check.exchange_price), "own": str(check.own_price)}
    values["formula"] = check.formula
    return RuleEvent("liquidation_price_mismatch", "warning", asset, check.symbol, message, values)


@dataclass(frozen=True, slots=True)
class TopUpParams:
    """Distances are fractions of the mark; ``max_top_up`` is in the settle currency."""

    threshold: Decimal  # act when the distance is below this, e.g. 0.15
    target_distance: Decimal  # aim our model's liquidation this far above the mark
    max_top_up: Decimal  # at most this many coins per episode

    def __post_init__(self) -> None:
        if not ZERO < self.threshold < self.target_distance:
            raise ValueError("need 0 < threshold < target_distance")
        if self.max_top_up <= 0:
            raise ValueError("max_top_up must be > 0")


@dataclass(frozen=True, slots=True)
class TopUpState:
    """``episode_since``: when the distance fell below the threshold (None: not below).
    ``done``: a top-up was issued in this episode."""

    episode_since: datetime | None = None
    done: bool = False


@dataclass(frozen=True, slots=True)
class TopUp:
    """Move ``amount`` of ``coin`` from the spot wallet to the margin wallet."""

    symbol: str
    coin: str
    amount: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class TopUpDecision:
    top_up: TopUp | None
    state: TopUpState
    events: tuple[RuleEvent, ...] = ()


def top_up_decision(
    check: LiquidationCheck,
    coin: str,
    spot_available: Decimal,
    params: TopUpParams,
    state: TopUpState,
    now: datetime,
    asset: str = "",
) -> TopUpDecision:
    """Whether to move ``coin`` (the settle currency) spot → margin now, and how much."""
    distance = check.distance
    if distance is None or distance >= params.threshold:
        return TopUpDecision(None, TopUpState())
    events: list[RuleEvent] = []
    values = {
        "distance": str(distance),
        "threshold": str(params.threshold),
        "liquidation_price": str(check.price),
        "source": check.source,
        "formula": check.formula,
    }
    if state.episode_since is None:
        message = (
            f"{check.symbol}: liquidation {distance:.2%} above the mark ({check.source} price "
            f"{check.price}, {check.formula}), below {params.threshold:.2%}"
        )
        events.append(
            RuleEvent("liquidation_distance_low", "critical", asset, check.symbol, message, values)
        )
        state = TopUpState(episode_since=now)
    if state.done:
        return TopUpDecision(None, state, tuple(events))
    target_price = check.mark_price * (ONE + params.target_distance)
    needed = collateral_for_price(check, target_price) - check.collateral
    amount = min(needed, params.max_top_up, spot_available)
    if amount <= 0:
        return TopUpDecision(None, state, tuple(events))
    reason = (
        f"move {amount} {coin} spot -> margin: liquidation {distance:.2%} above the mark < "
        f"{params.threshold:.2%} (needed {needed} for {params.target_distance:.2%})"
    )
    values = {**values, "amount": str(amount), "needed": str(needed)}
    events.append(RuleEvent("margin_top_up", "warning", asset, check.symbol, reason, values))
    top_up = TopUp(check.symbol, coin, amount, reason)
    return TopUpDecision(top_up, TopUpState(state.episode_since, True), tuple(events))
