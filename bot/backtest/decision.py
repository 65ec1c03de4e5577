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
from strategies.collateral import STABLECOINS as COLLATERAL_STABLECOINS
from strategies.collateral import CollateralPolicy, collateral_targets
from strategies.events import RuleEvent
from strategies.ratio import RatioRule
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
        self._ruled = frozenset(rule.asset for rule in self.rules)
        # Every rule a plain ``RatioRule`` (no state, no events, no modifiers): ``plain_totals``
        # may sum their targets without building them. (asset, ratio, instrument) per rule.
        self._plain: tuple[tuple[str, Decimal, str], ...] | None = (
            tuple((r.asset, r.ratio, r.instrument) for r in cast(Sequence[RatioRule], self.rules))
            if all(type(rule) is RatioRule for rule in self.rules)
            else None
        )

        self._held_cache: tuple[object, object, dict[str, Decimal]] = (None, None, {})

    @property
    def plain(self) -> bool:
        """Whether ``plain_totals`` applies (every rule a plain ``RatioRule``)."""
        return self._plain is not None

    def plain_totals(self, snapshot: Snapshot, assets: Sequence[str]) -> dict[str, Decimal] | None:
        """``aggregate_targets(evaluate(inputs).targets)`` for ``inputs`` built from
        ``exposures(snapshot, assets)``, without building exposures or targets, when every rule
        is a plain ``RatioRule`` (``RatioRule.targets`` and ``Exposure.exposure_usd``, same
        Decimal operations in the same order) and no collateral target can arise (no rule-less,
        non-stable coin with positive collateral). None: use ``evaluate`` (which then also
        raises what ``exposures`` raises).

        Spot + static per coin is kept while ``snapshot.spot`` and ``snapshot.static`` are the
        same objects: like ``SnapshotReader``, callers replace those mappings, never mutate them."""
        plain = self._plain
        if plain is None:
            return None
        prices, spot, static, wallets = (
            snapshot.prices,
            snapshot.spot,
            snapshot.static,
            snapshot.margin,
        )
        ruled = self._ruled
        cached = self._held_cache
        if cached[0] is not spot or cached[1] is not static:  # the reader replaces, not mutates
            cached = self._held_cache = (spot, static, {})
        held_by_asset = cached[2]
        usd: dict[str, Decimal] = {}
        for asset in assets:
            price = prices.get(asset)
            if price is None:
                return None
            wallet = wallets.get(asset)
            collateral = wallet.balance + wallet.unrealized_pnl if wallet is not None else ZERO
            if asset not in ruled and asset not in COLLATERAL_STABLECOINS and collateral > 0:
                return None  # collateral_targets would add a target
            held = held_by_asset.get(asset)
            if held is None:  # exposures(): spot.get(asset, ZERO) + static.get(asset, ZERO)
                held = held_by_asset[asset] = spot.get(asset, ZERO) + static.get(asset, ZERO)
            usd[asset] = (held + collateral) * price
        totals: dict[str, Decimal] = {}
        for asset, ratio, instrument in plain:
            value = usd.get(asset, ZERO)
            target = ratio * value if value > 0 else ZERO
            totals[instrument] = totals.get(instrument, ZERO) + target
        return totals

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
    return in_band_totals(aggregate_targets(targets), snapshot, settings, held)


def in_band_totals(
    totals: dict[str, Decimal],
    snapshot: Snapshot,
    settings: PlannerSettings,
    held: Mapping[str, Decimal] | None = None,
) -> BandCheck:
    """``in_band`` given ``aggregate_targets(targets)`` (``totals`` is modified)."""
    if snapshot.unknown_positions:
        return BandCheck(False, False)
    held, marks = _holdings(totals, snapshot, held)
    band = settings.band
    band_f = float(band)
    markets, prices = snapshot.markets, snapshot.prices
    for symbol, total in totals.items():
        signed = held.get(symbol, ZERO)
        market = markets.get(symbol)
        # per symbol: (market, signed, long?, USD per contract, slack, float(signed))
        known = _HELD.get(symbol)
        if known is None or known[1] is not signed or known[0] is not market:
            known = _HELD[symbol] = _held_constants(symbol, market, signed)
        # a long on a targeted instrument (the planner closes it), or a symbol it cannot value
        if known[2] or market is None:
            return BandCheck(False, False)
        mark = marks.get(symbol) if marks else None
        price = mark if mark is not None else prices.get(market.base)
        if price is None or price <= 0:
            return BandCheck(False, False)
        if not market.active:
            continue
        size = known[3]
        if size:  # _clearly_inside, inlined (the same float arithmetic)
            target = float(total)
            allowance = band_f * target
            worst = (abs(target / size + known[5]) * (1 + 1e-9) + known[4]) * size
            if allowance > 0 and worst < allowance * (1 - 1e-9):
                continue
        target_usd = max(total, ZERO)
        gap = contracts_for_usd(market, target_usd, price) + signed  # target − current short
        if gap and face_usd(market, abs(gap), price) > band * target_usd:
            return BandCheck(False, True)
    return BandCheck(True, False)


def _holdings(
    totals: dict[str, Decimal], snapshot: Snapshot, held: Mapping[str, Decimal] | None
) -> tuple[Mapping[str, Decimal], Mapping[str, Decimal | None]]:
    """Signed contracts and marks per symbol (from the positions when ``held`` is None); a
    short without a target gets a zero total (the planner closes it)."""
    marks: Mapping[str, Decimal | None] = {}
    if held is None:
        held = {s: p.contracts for s, p in snapshot.positions.items()}
        marks = {s: p.mark_price for s, p in snapshot.positions.items()}
    for symbol, contracts in held.items():
        if contracts < 0 and symbol not in totals:
            totals[symbol] = ZERO
    return held, marks


def _clearly_inside(
    symbol: str, market: Market, total: Decimal, signed: Decimal, band: float
) -> bool:
    """The float bound of ``_constants`` (inverse markets only; False: use the exact test).
    ``in_band_totals`` applies the same test inline."""
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
_HELD: dict[str, tuple[Market | None, Decimal, bool, float, float, float]] = {}


def _held_constants(
    symbol: str, market: Market | None, signed: Decimal
) -> tuple[Market | None, Decimal, bool, float, float, float]:
    """What ``in_band_totals`` derives from a symbol's market and signed holding (both
    immutable, so cached by identity): ``_constants`` and ``float(signed)``."""
    if market is None:
        return None, signed, signed > 0, 0.0, 0.0, float(signed)
    constants = _FLOATS.get(symbol)
    if constants is None or constants[0] is not market:
        constants = _FLOATS[symbol] = _constants(market)
    return market, signed, signed > 0, constants[1], constants[2], float(signed)


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
