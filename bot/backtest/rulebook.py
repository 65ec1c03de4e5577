"""The replay's rules: ``RuleBook`` evaluates them exactly as ``decide()`` does
(``strategies.book.evaluate_book``: each rule's ``evaluate`` or ``targets``, then the collateral
targets), so stateful rules (funding modifier, windows, incumbent proxy) advance exactly as in the
daemon, with each rule's protocol checks resolved once: on Python 3.11 an ``isinstance`` against a
``runtime_checkable`` protocol costs tens of microseconds, three per rule per tick. On a tick that
goes on to ``decide()``, the runner hands it the rules as ``RuleBook.recalling`` (``Recalled``:
the tick's answers, not computed twice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import cast

from bot.config.models import CollateralMode
from bot.core.exposure import MissingPriceError
from bot.core.types import ZERO, Exposure, HedgeTarget, MarginWallet, Market, Snapshot
from strategies.base import (
    EvaluatingRule,
    HedgeRule,
    InstrumentListing,
    RuleInputs,
    evaluate_rule,
)
from strategies.book import BookResult
from strategies.collateral import STABLECOINS as COLLATERAL_STABLECOINS
from strategies.collateral import CollateralPolicy, collateral_targets
from strategies.events import RuleEvent, RuleResult
from strategies.ratio import RatioRule
from strategies.state import RuleState

Targets = Callable[[RuleInputs], Sequence[HedgeTarget]]


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
        # per rule: its asset, its ``evaluate`` (None: a plain rule) and its ``targets``
        self._steps: tuple[tuple[str, Callable[[RuleInputs], RuleResult] | None, Targets], ...]
        self._steps = tuple(
            (rule.asset, cast(EvaluatingRule, rule).evaluate if evaluating else None, rule.targets)
            for rule, evaluating in zip(self.rules, self._evaluating, strict=True)
        )
        self._listing = tuple(isinstance(rule, InstrumentListing) for rule in self.rules)
        self._fixed: list[str] | None = None  # the instruments when no rule's can change
        self._listed: tuple[Mapping[str, Market], list[str]] | None = None  # see instruments
        self._policies = tuple(
            _Policy(rule.asset, rule.collateral)
            if isinstance(rule, CollateralPolicy)
            else _Policy(rule.asset, default_collateral)
            for rule in self.rules
        )
        self._ruled = frozenset(rule.asset for rule in self.rules)
        # the last evaluation: its inputs and each rule's answer (``recalled``)
        self._answers: tuple[RuleInputs | None, list[RuleResult | Sequence[HedgeTarget]]]
        self._answers = (None, [])
        self._recalled: tuple[RuleInputs | None, bool | None] = (None, None)
        self.recalled = 0  # answers ``recall`` gave
        self.recalling = tuple(
            Recalled(self, index, rule, default_collateral) for index, rule in enumerate(rules)
        )
        # coins ``collateral_targets`` always passes over (a rule of their own, or stable)
        self._passed_over = self._ruled | COLLATERAL_STABLECOINS
        # Every rule a plain ``RatioRule`` (no state, no events, no modifiers): ``plain_totals``
        # may sum their targets without building them. (asset, ratio, instrument) per rule.
        self._plain: tuple[tuple[str, Decimal, str], ...] | None = (
            tuple((r.asset, r.ratio, r.instrument) for r in cast(Sequence[RatioRule], self.rules))
            if all(type(rule) is RatioRule for rule in self.rules)
            else None
        )

        self._held_cache: tuple[object, object, dict[str, Decimal]] = (None, None, {})
        self._equities: dict[str, tuple[MarginWallet, Decimal]] = {}  # coin -> (wallet, equity)
        # The owner of each plain rule's instrument, when no two plain rules share one.
        self.plain_owners: dict[str, str] | None = None
        if self._plain is not None:
            owners = {instrument: asset for asset, _, instrument in self._plain}
            if len(owners) == len(self._plain):
                self.plain_owners = owners

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
        held_by_asset = self._held_by_asset(spot, static)
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
            if held is None:
                held = held_by_asset[asset] = _held(spot, static, asset)
            usd[asset] = (held + collateral) * price
        totals: dict[str, Decimal] = {}
        for asset, ratio, instrument in plain:
            value = usd.get(asset, ZERO)
            target = ratio * value if value > 0 else ZERO
            totals[instrument] = totals.get(instrument, ZERO) + target
        return totals

    def _held_by_asset(
        self, spot: Mapping[str, Decimal], static: Mapping[str, Decimal]
    ) -> dict[str, Decimal]:
        """Spot + static per coin (``_held``), kept while both mappings are the same objects
        (the reader replaces them, never mutates them)."""
        cached = self._held_cache
        if cached[0] is not spot or cached[1] is not static:
            cached = self._held_cache = (spot, static, {})
        return cached[2]

    def recall(self, inputs: RuleInputs, index: int) -> RuleResult | None:
        """Rule ``index``'s answer in the last ``evaluate`` when ``inputs`` equals its inputs
        (field by field: the same object, or equal), else None."""
        last, answers = self._answers
        if last is None:
            return None
        seen, same = self._recalled
        if seen is not inputs:
            same = inputs is last or all(
                (mine := getattr(inputs, name)) is (theirs := getattr(last, name)) or mine == theirs
                for name in _INPUT_FIELDS
            )
            self._recalled = (inputs, same)
        if not same:
            return None
        self.recalled += 1
        answer = answers[index]
        return answer if isinstance(answer, RuleResult) else RuleResult(tuple(answer))

    def exposures(self, snapshot: Snapshot, assets: Sequence[str]) -> dict[str, Exposure]:
        """``bot.core.exposure.exposures(snapshot, assets)``, with spot + static per coin kept
        as ``plain_totals`` keeps it (the same Decimal sum), and each wallet's equity while the
        wallet is the same (frozen) object."""
        prices, spot, static, wallets = (
            snapshot.prices,
            snapshot.spot,
            snapshot.static,
            snapshot.margin,
        )
        held_by_asset = self._held_by_asset(spot, static)
        equities = self._equities
        result: dict[str, Exposure] = {}
        for asset in assets:
            price = prices.get(asset)
            if price is None:
                raise MissingPriceError(asset)
            held = held_by_asset.get(asset)
            if held is None:
                held = held_by_asset[asset] = _held(spot, static, asset)
            wallet = wallets.get(asset)
            if wallet is None:
                collateral = ZERO
            else:  # the reader keeps a wallet whose PnL did not move: its equity too
                known = equities.get(asset)
                if known is None or known[0] is not wallet:
                    known = equities[asset] = (wallet, wallet.equity)
                collateral = known[1]
            result[asset] = Exposure(asset, held, collateral, price)
        return result

    def instruments(self, markets: Mapping[str, Market], now: datetime) -> list[str]:
        """``bot.daemon.snapshot.all_instruments``: every symbol any rule may target now.

        A rule's list depends on the time only through dated contracts (``BetaRule``:
        ``contract: inverse_future`` lists the futures not yet expired), so with no dated
        market the answer is kept for as long as the markets are the same object."""
        if not any(self._listing):
            if self._fixed is None:
                self._fixed = sorted({rule.instrument for rule in self.rules})
            return self._fixed
        kept = self._listed
        if kept is not None and kept[0] is markets:
            return kept[1]
        symbols = self._list(markets, now)
        if not any(market.expiry is not None for market in markets.values()):
            self._listed = (markets, symbols)
        return symbols

    def _list(self, markets: Mapping[str, Market], now: datetime) -> list[str]:
        symbols: set[str] = set()
        for rule, listing in zip(self.rules, self._listing, strict=True):
            if listing:
                symbols.update(cast(InstrumentListing, rule).instruments(markets, now))
            else:
                symbols.add(rule.instrument)
        return sorted(symbols)

    def evaluate(self, inputs: RuleInputs) -> BookResult:
        """``strategies.book.evaluate_book(rules, inputs, default_collateral)``;
        ``collateral_targets`` is skipped when every coin valued has a rule or is a stablecoin
        (it would pass over each of them)."""
        targets: list[HedgeTarget] = []
        events: list[RuleEvent] = []
        states: dict[str, RuleState] = {}
        answers: list[RuleResult | Sequence[HedgeTarget]] = []
        for asset, evaluate, plain in self._steps:
            if evaluate is None:  # evaluate_rule: RuleResult(targets), no events, no state
                planned = plain(inputs)
                answers.append(planned)
                targets.extend(planned)
                continue
            result = evaluate(inputs)
            answers.append(result)
            targets.extend(result.targets)
            if result.events:
                events.extend(result.events)
            state = result.state
            if state is not None:
                states[asset] = state
        self._answers = (inputs, answers)
        self._recalled = (None, None)
        if self._passed_over.issuperset(inputs.exposures):
            return BookResult(tuple(targets), tuple(events), states)  # no collateral target
        extra = collateral_targets(
            inputs.exposures, self._policies, inputs.markets, targets, self.default_collateral
        )
        return BookResult((*targets, *extra.targets), (*events, *extra.events), states)


_INPUT_FIELDS = tuple(f.name for f in fields(RuleInputs))


class Recalled:
    """A rule as the replay hands it to ``decide()``: on inputs equal to those its
    ``RuleBook`` last evaluated (the same tick's, read from the same snapshot), the answer of
    that evaluation; on any others, its own (``evaluate_rule``). Rules are pure
    (``strategies.base.HedgeRule``), so ``decide()`` gets the rule's answer either way, without
    evaluating the rules a second time on a tick that goes on to decide. ``collateral`` is the
    mode ``evaluate_book`` and ``neutral_coins`` would use for the rule."""

    __slots__ = ("_book", "_index", "_rule", "asset", "collateral", "instrument")

    def __init__(
        self, book: RuleBook, index: int, rule: HedgeRule, default: CollateralMode
    ) -> None:
        self._book = book
        self._index = index
        self._rule = rule
        self.asset = rule.asset
        self.instrument = rule.instrument
        self.collateral: CollateralMode = (
            rule.collateral if isinstance(rule, CollateralPolicy) else default
        )

    def evaluate(self, inputs: RuleInputs) -> RuleResult:
        answer = self._book.recall(inputs, self._index)
        return answer if answer is not None else evaluate_rule(self._rule, inputs)

    def targets(self, inputs: RuleInputs) -> Sequence[HedgeTarget]:
        return self.evaluate(inputs).targets


def _held(spot: Mapping[str, Decimal], static: Mapping[str, Decimal], asset: str) -> Decimal:
    """``bot.core.exposure.exposures``' coins held outside margin: spot + static (the same
    Decimal sum)."""
    return spot.get(asset, ZERO) + static.get(asset, ZERO)
