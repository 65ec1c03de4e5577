"""One replay tick's decision: the daemon's ``decide()``, skipped when it cannot place an order.

Every tick evaluates the rules exactly as ``decide()`` does (``strategies.book.evaluate_book``:
each rule's ``evaluate`` or ``targets``, then the collateral targets), so stateful rules
(funding modifier, windows, incumbent proxy) advance exactly as in the daemon. ``RuleBook`` does
that with each rule's protocol checks resolved once: on Python 3.11 an ``isinstance`` against a
``runtime_checkable`` protocol costs tens of microseconds, three per rule per tick.

``in_band`` then applies the planner's own test (``bot.core.planner``: targets summed per
instrument by ``aggregate_targets``, rounded by ``contracts_for_usd``, valued by ``face_usd``,
act only when ``|target − current| > band × target``). When every instrument is inside its band,
``plan_hedges`` would return no order, so the tick stops there; otherwise the runner calls
``decide()`` itself. A float bound first settles the clear cases (``_constants``); only a gap
near the band edge pays for the exact Decimal test. ``tests/backtest`` checks on random books
that ``in_band`` never skips a plan that has an order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, cast

from bot.config.models import CollateralMode
from bot.core.exposure import face_usd
from bot.core.planner import PlannerSettings, aggregate_targets
from bot.core.sizing import contracts_for_usd
from bot.core.types import ZERO, HedgeTarget, Market, Snapshot
from strategies.base import EvaluatingRule, HedgeRule, InstrumentListing, RuleInputs
from strategies.book import BookResult
from strategies.collateral import CollateralPolicy, collateral_targets
from strategies.events import RuleEvent
from strategies.state import RuleState


@dataclass(frozen=True, slots=True)
class _Policy:
    asset: str
    collateral: CollateralMode


class RuleBook:
    """``evaluate_book`` and ``all_instruments`` for a fixed list of rules (module docstring)."""

    def __init__(self, rules: Sequence[HedgeRule], default_collateral: CollateralMode = "neutral"):
        self.rules = tuple(rules)
        self.default_collateral: CollateralMode = default_collateral
        self._evaluating = tuple(isinstance(rule, EvaluatingRule) for rule in self.rules)
        self._listing = tuple(isinstance(rule, InstrumentListing) for rule in self.rules)
        self._fixed: list[str] | None = None  # the instruments when no rule's can change
        self._policies = tuple(
            _Policy(rule.asset, rule.collateral)
            if isinstance(rule, CollateralPolicy)
            else _Policy(rule.asset, default_collateral)
            for rule in self.rules
        )

    def instruments(self, markets: Mapping[str, Market], now: datetime) -> list[str]:
        """``bot.daemon.snapshot.all_instruments``: every symbol any rule may target now."""
        if not any(self._listing):
            if self._fixed is None:
                self._fixed = sorted({rule.instrument for rule in self.rules})
            return self._fixed
        symbols: set[str] = set()
        for rule, listing in zip(self.rules, self._listing, strict=True):
            if listing:
                symbols.update(cast(InstrumentListing, rule).instruments(markets, now))
            else:
                symbols.add(rule.instrument)
        return sorted(symbols)

    def evaluate(self, inputs: RuleInputs) -> BookResult:
        """``strategies.book.evaluate_book(rules, inputs, default_collateral)``."""
        targets: list[HedgeTarget] = []
        events: list[RuleEvent] = []
        states: dict[str, RuleState] = {}
        for rule, evaluating in zip(self.rules, self._evaluating, strict=True):
            if not evaluating:  # evaluate_rule: RuleResult(targets), no events, no state
                targets.extend(rule.targets(inputs))
                continue
            result = cast(EvaluatingRule, rule).evaluate(inputs)
            targets.extend(result.targets)
            events.extend(result.events)
            if result.state is not None:
                states[rule.asset] = result.state
        extra = collateral_targets(
            inputs.exposures, self._policies, inputs.markets, targets, self.default_collateral
        )
        return BookResult((*targets, *extra.targets), (*events, *extra.events), states)


class BandCheck(NamedTuple):
    """``quiet``: the planner would place no order. ``outside``: some instrument's short was
    outside its band (the planner acts on it unless an order minimum or cap stops it)."""

    quiet: bool
    outside: bool


def in_band(
    targets: Sequence[HedgeTarget],
    snapshot: Snapshot,
    settings: PlannerSettings,
    held: Mapping[str, Decimal] | None = None,
) -> BandCheck:
    """Whether ``plan_hedges(targets, snapshot, settings, ...)`` certainly has no order.

    ``held``: signed contracts per reported symbol when the caller has them (the replay's
    reader), instead of reading ``snapshot.positions`` (whose repriced ``Position`` objects are
    then never built); prices are then the snapshot's, which are the positions' marks.
    Conservative: anything the planner treats specially (a long on a targeted instrument, an
    unknown position, a symbol it cannot value) counts as not quiet, so ``decide()`` runs.
    """
    if snapshot.unknown_positions:
        return BandCheck(False, False)
    totals = aggregate_targets(targets)
    marks: Mapping[str, Decimal | None] = {}
    if held is None:
        held = {s: p.contracts for s, p in snapshot.positions.items()}
        marks = {s: p.mark_price for s, p in snapshot.positions.items()}
    for symbol, contracts in held.items():
        if contracts < 0 and symbol not in totals:
            totals[symbol] = ZERO  # a short without a target: the planner closes it
    band = settings.band
    band_f = float(band)
    for symbol, total in totals.items():
        signed = held.get(symbol, ZERO)
        if signed > 0:  # a long on a targeted instrument: the planner closes it
            return BandCheck(False, False)
        market = snapshot.markets.get(symbol)
        if market is None:
            return BandCheck(False, False)
        mark = marks.get(symbol)
        price = mark if mark is not None else snapshot.prices.get(market.base)
        if price is None or price <= 0:
            return BandCheck(False, False)
        if not market.active or _clearly_inside(symbol, market, total, signed, band_f):
            continue
        target_usd = max(total, ZERO)
        gap = contracts_for_usd(market, target_usd, price) + signed  # target − current short
        if gap and face_usd(market, abs(gap), price) > band * target_usd:
            return BandCheck(False, True)
    return BandCheck(True, False)


def _clearly_inside(
    symbol: str, market: Market, total: Decimal, signed: Decimal, band: float
) -> bool:
    """The float bound of ``_constants`` (inverse markets only; False: use the exact test)."""
    constants = _FLOATS.get(symbol)
    if constants is None or constants[0] is not market:
        constants = _FLOATS[symbol] = _constants(market)
    _, size, slack = constants
    target = float(total)
    allowance = band * target
    if not size or allowance <= 0:
        return False
    worst = (abs(target / size + float(signed)) * (1 + 1e-9) + slack) * size
    return worst < allowance * (1 - 1e-9)


_FLOATS: dict[str, tuple[Market, float, float]] = {}


def _constants(market: Market) -> tuple[Market, float, float]:
    """``(market, USD per contract, slack in contracts)`` for the float bound of ``in_band``
    (size 0 for a linear market: no bound, the exact test decides).

    The planner's target in contracts is ``target_usd / size`` floored to the amount step, or 0
    below the minimum order, so it is within ``max(step, minimum)`` contracts of the float
    quotient. If even the largest gap that allows, with a margin for float error (1e-9 relative,
    1e-6 contracts), is worth less than ``band × target_usd``, the exact gap is too; anything
    closer is left to the exact Decimal test."""
    if not market.is_inverse:
        return market, 0.0, 0.0
    slack = float(max(market.amount_step, market.min_contracts)) + 1e-6
    return market, float(market.contract_size), slack
