"""Dated futures: which contract to hold, and rolling to the next one as ONE decision.

``choose_contract`` picks the nearest listed, active dated future of a coin whose expiry is more
than ``roll_hours_before_expiry`` away; when every listed one is inside that roll window, the one
expiring last. ``roll_plan`` adds the shorts still held on other futures of that coin: the rule
emits target 0 for them and the full target on the chosen one in the same tick, so the planner
closes the old and opens the new together (reductions go first) and the hedge is never off for
more than one tick.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from bot.core.types import ContractKind, HedgeTarget, Market, Position
from strategies.events import RuleEvent


def dated_futures(
    markets: Mapping[str, Market], base: str, now: datetime, kind: ContractKind = "inverse"
) -> list[Market]:
    """Active futures of ``base`` (of ``kind``) not yet expired at ``now``, nearest first."""
    live = [
        m
        for m in markets.values()
        if m.base == base and m.kind == kind and m.active and m.expiry is not None
        if m.expiry > now
    ]
    return sorted(live, key=lambda m: (m.expiry, m.symbol))


def choose_contract(
    markets: Mapping[str, Market],
    base: str,
    now: datetime,
    roll_hours_before_expiry: float,
    kind: ContractKind = "inverse",
) -> str | None:
    """The future to hold at ``now``; None when ``base`` has no live future of ``kind``."""
    futures = dated_futures(markets, base, now, kind)
    window = timedelta(hours=roll_hours_before_expiry)
    for market in futures:
        if market.expiry is not None and market.expiry - now > window:
            return market.symbol
    return futures[-1].symbol if futures else None


@dataclass(frozen=True, slots=True)
class RollPlan:
    """Hold ``open_symbol``; close the shorts on ``close_symbols`` in the same tick."""

    base: str
    open_symbol: str | None
    close_symbols: tuple[str, ...]
    reason: str

    def apply(self, target: HedgeTarget) -> tuple[HedgeTarget, ...]:
        """``target`` (built on ``open_symbol``) plus a 0 target on each symbol to close."""
        closing = tuple(
            replace(target, instrument=symbol, target_short_usd=Decimal(0), reason=self.reason)
            for symbol in self.close_symbols
        )
        opened = replace(target, reason=_join(target.reason, self.reason))
        return (opened, *closing) if self.close_symbols else (target,)

    def event(self, asset: str) -> RuleEvent | None:
        """A ``roll`` event when something is closed."""
        if not self.close_symbols:
            return None
        return RuleEvent(
            kind="roll",
            severity="info",
            asset=asset,
            instrument=self.open_symbol,
            message=self.reason,
            values={"close": ",".join(self.close_symbols), "open": self.open_symbol or ""},
        )


def roll_plan(
    markets: Mapping[str, Market],
    base: str,
    now: datetime,
    roll_hours_before_expiry: float,
    positions: Mapping[str, Position],
    kind: ContractKind = "inverse",
) -> RollPlan:
    """The contract to hold and the other dated futures of ``base`` holding a short to close."""
    chosen = choose_contract(markets, base, now, roll_hours_before_expiry, kind)
    held = sorted(
        symbol
        for symbol, position in positions.items()
        if position.contracts < 0
        and symbol != chosen
        and _is_future_of(markets, symbol, base, kind)
    )
    reason = ""
    if held:
        target = chosen or "nothing (no live future)"
        reason = f"roll: close {', '.join(held)} and hold {target} in one tick"
        reason += f" ({roll_hours_before_expiry:g} h before expiry)"
    return RollPlan(base, chosen, tuple(held), reason)


def _is_future_of(
    markets: Mapping[str, Market], symbol: str, base: str, kind: ContractKind
) -> bool:
    market = markets.get(symbol)
    return (
        market is not None
        and market.base == base
        and market.kind == kind
        and market.expiry is not None
    )


def _join(first: str, second: str) -> str:
    return "; ".join(part for part in (first, second) if part)
