"""One replay tick's decision: the daemon's ``decide()``, skipped when it cannot place an order.

Every tick evaluates the rules exactly as ``decide()`` does (``strategies.book.evaluate_book``:
each rule's ``evaluate`` or ``targets``, then the collateral targets), so stateful rules
(funding modifier, windows, incumbent proxy) advance exactly as in the daemon. ``RuleBook`` does
that with each rule's protocol checks resolved once: on Python 3.11 an ``isinstance`` against a
``runtime_checkable`` protocol costs tens of microseconds, three per rule per tick.

``in_band`` then applies the planner's own tests (``bot.core.planner``): targets summed per
instrument (``aggregate_targets``) and per owner (``bot.core.ownership.owner_targets``); with
margin terms, each coin's targets scaled to what its wallet carries (``margin_caps``); one
owner: act only when ``|target − current| > band × target`` (``contracts_for_usd``,
``face_usd``); several owners on an instrument (rules, a margin coin held USD-neutral), or a
previous owner without a target: each owner's part of the short (``Plan.owned`` of the previous
tick, split by ``owner_shares``) judged against its own band, a band of the owner's own target
or, for a margin coin held USD-neutral (``HedgeTarget.collateral``), of the instrument's whole
target (``_tolerance_bases``). The planner's clamp of an owner's goal to the margin's limit
(``MarginCaps.limits``) acts only when some owner is outside its band, a tick that goes to
``decide()`` anyway. With collateral settings, the collateral policy must also be idle
(``bot.backtest.wallets.MarginCheck``; a coin held USD-neutral is never released). When all of
that holds, ``decide()`` would return no order and no collateral action, so the tick stops there
with the ``owned`` and shortfall the plan would have had; otherwise the runner calls
``decide()`` itself, with the rules as ``RuleBook.recalling`` (``Recalled``: the tick's answers,
not computed twice). Float bounds settle the clear cases (``_constants``, ``MarginCheck``);
only a value near an edge pays for the exact Decimal test (``margin_caps`` itself for margin).
``tests/backtest`` checks on random books that ``in_band`` never skips a plan that has an order
or a collateral action, and that its ``owned`` and shortfall are the plan's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, cast

from bot.backtest.wallets import MarginCheck, WalletState
from bot.config.models import CollateralMode
from bot.core.exposure import MissingPriceError, face_usd
from bot.core.no_trade import instrument_bands
from bot.core.ownership import owner_shares
from bot.core.planner import PlannerSettings
from bot.core.sizing import contracts_for_usd
from bot.core.types import (
    ZERO,
    CollateralUsage,
    Exposure,
    HedgeTarget,
    MarginWallet,
    Market,
    Ownership,
    Snapshot,
)
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

ONE = Decimal(1)
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
        cached = self._held_cache
        if cached[0] is not spot or cached[1] is not static:
            cached = self._held_cache = (spot, static, {})
        held_by_asset = cached[2]
        equities = self._equities
        result: dict[str, Exposure] = {}
        for asset in assets:
            price = prices.get(asset)
            if price is None:
                raise MissingPriceError(asset)
            held = held_by_asset.get(asset)
            if held is None:
                held = held_by_asset[asset] = spot.get(asset, ZERO) + static.get(asset, ZERO)
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


class BandCheck(NamedTuple):
    """``quiet``: ``decide()`` would place no order and move no collateral. ``outside``: some
    instrument's short (or some owner's part of it) was outside its band (the planner acts on
    it unless an order minimum or cap stops it). ``owned``: when quiet, the ``Plan.owned`` the
    planner would return (the next tick's ``owned=``). ``shortfall``: when quiet, whether the
    plan would report a margin shortfall (``Plan.shortfalls``)."""

    quiet: bool
    outside: bool
    owned: Ownership | None = None
    shortfall: bool = False


NOT_QUIET = BandCheck(False, False)


@dataclass(slots=True)
class MarginInputs:
    """The margin side of a check: the terms and collateral settings (``MarginCheck``), each
    coin's wallet (``WalletState``), the prices (float) it is valued at, and what the
    collateral policy's daily caps have counted."""

    check: MarginCheck
    states: Mapping[str, WalletState]
    prices: Mapping[str, float]
    usage: CollateralUsage = field(default_factory=CollateralUsage)


def in_band(
    targets: Sequence[HedgeTarget],
    snapshot: Snapshot,
    settings: PlannerSettings,
    held: Mapping[str, Decimal] | None = None,
    *,
    margin: MarginInputs | None = None,
    owned: Ownership | None = None,
) -> BandCheck:
    """Whether ``decide()`` (``plan_hedges(targets, snapshot, settings, ..., margin=terms,
    owned=owned)`` and, with collateral settings, ``plan_collateral``) certainly has no order
    and no collateral action.

    ``held``: signed contracts per reported symbol when the caller has them (the replay's
    reader), instead of reading ``snapshot.positions`` (whose repriced ``Position`` objects are
    then never built); prices are then the snapshot's, which are the positions' marks.
    Conservative: anything the planner treats specially (a long on a targeted instrument, an
    unknown position, a symbol it cannot value) counts as not quiet, so ``decide()`` runs.
    """
    if snapshot.unknown_positions:
        return NOT_QUIET
    totals, parts, collateral = totals_and_parts(targets)
    bands = instrument_bands(targets, settings.band, settings.no_trade)
    return _check(totals, parts, None, snapshot, settings, held, margin, owned, collateral, bands)


def in_band_totals(
    totals: dict[str, Decimal],
    snapshot: Snapshot,
    settings: PlannerSettings,
    held: Mapping[str, Decimal] | None = None,
    *,
    owners: Mapping[str, str],
    margin: MarginInputs | None = None,
    owned: Ownership | None = None,
) -> BandCheck:
    """``in_band`` given ``aggregate_targets(targets)`` (``totals`` is modified) of targets
    that are all >= 0, one owner per instrument (``owners``: symbol -> asset)."""
    if snapshot.unknown_positions:
        return NOT_QUIET
    return _check(totals, None, owners, snapshot, settings, held, margin, owned)


Collateral = Mapping[str, frozenset[str]]  # symbol -> owners holding a margin coin USD-neutral


def totals_and_parts(
    targets: Sequence[HedgeTarget],
) -> tuple[dict[str, Decimal], dict[str, dict[str, Decimal]], Collateral]:
    """``aggregate_targets(targets)``, ``owner_targets(targets)`` and
    ``owners_holding_collateral(targets)`` in one pass (the same Decimal additions in the same
    order)."""
    totals: dict[str, Decimal] = {}
    parts: dict[str, dict[str, Decimal]] = {}
    collateral: dict[str, frozenset[str]] = {}
    for target in targets:
        symbol, asset, usd = target.instrument, target.asset, target.target_short_usd
        totals[symbol] = totals.get(symbol, ZERO) + usd
        owners = parts.get(symbol)
        if owners is None:
            owners = parts[symbol] = {}
        owners[asset] = owners.get(asset, ZERO) + max(usd, ZERO)
        if target.collateral:
            collateral[symbol] = collateral.get(symbol, _NO_OWNERS) | {asset}
    return totals, parts, collateral


def _check(
    totals: dict[str, Decimal],
    parts: dict[str, dict[str, Decimal]] | None,
    names: Mapping[str, str] | None,
    snapshot: Snapshot,
    settings: PlannerSettings,
    held: Mapping[str, Decimal] | None,
    margin: MarginInputs | None,
    owned: Ownership | None,
    collateral: Collateral | None = None,
    bands: Mapping[str, Decimal] | None = None,
) -> BandCheck:
    """The planner's decisions per instrument (``plan_hedges``), each settled by a float bound
    when it is clear and by the planner's own Decimal test otherwise. ``parts``: targets per
    owner (``owner_targets``); without them, ``names`` gives each instrument's one owner;
    ``collateral``: the owners holding a margin coin USD-neutral, per instrument.

    The instruments are judged first as if no margin scaled them, summing each coin's wanted
    short on the way; only when some coin is not clearly carried does ``margin_caps`` decide,
    and the instruments are judged again with its scales."""
    held, marks = _holdings(totals, snapshot, held)  # zero totals change no margin cap
    band = _Pass(
        totals,
        parts,
        names,
        snapshot,
        settings.band if settings.band is not None else settings.no_trade.min_band,
        held,
        marks,
        owned or _NO_OWNED,
        collateral or _NO_COLLATERAL,
        bands or _NO_BANDS,
    )
    wanted: dict[str, float] | None = None if margin is None else {}
    verdict = band.run(_NONE, wanted)
    if verdict is NOT_QUIET or margin is None:
        return verdict
    check = margin.check
    if verdict.quiet and wanted is not None:
        capped = check.capped_wanted(wanted, totals, snapshot, margin.states, margin.prices)
    else:  # the pass stopped early: the coins' sums are incomplete
        capped = check.capped(totals, snapshot, margin.states, margin.prices)
    shortfall = False
    if capped is not None:
        shortfall = bool(capped.shortfalls)
        if capped.scales:
            verdict = band.run(capped.scales, None)
    if not verdict.quiet:
        return verdict
    if check.collateral is not None:
        by_coin = _positive_by_coin(parts, names, totals, snapshot.markets)
        neutral = _neutral_coins(collateral or _NO_COLLATERAL, snapshot.markets)
        idle = check.collateral_idle(
            by_coin,
            margin.states,
            margin.prices,
            snapshot.spot,
            snapshot.prices,
            margin.usage,
            neutral,
        )
        if not idle:
            return NOT_QUIET
    return verdict._replace(shortfall=True) if shortfall else verdict


class _Pass:
    """One judgement of every instrument (``_check``), with or without margin scales."""

    __slots__ = (
        "band",
        "band_f",
        "bands",
        "bands_f",
        "collateral",
        "held",
        "marks",
        "names",
        "parts",
        "previous",
        "snapshot",
        "totals",
    )

    def __init__(
        self,
        totals: dict[str, Decimal],
        parts: dict[str, dict[str, Decimal]] | None,
        names: Mapping[str, str] | None,
        snapshot: Snapshot,
        band: Decimal,
        held: Mapping[str, Decimal],
        marks: Mapping[str, Decimal | None],
        previous: Ownership,
        collateral: Collateral,
        bands: Mapping[str, Decimal],
    ) -> None:
        self.totals = totals
        self.parts = parts
        self.names = names or _NO_NAMES
        self.snapshot = snapshot
        self.band = band
        self.band_f = float(band)
        self.held = held
        self.marks = marks
        self.previous = previous
        self.collateral = collateral
        self.bands = bands  # per instrument (instrument_bands); else ``band``
        self.bands_f = {symbol: float(value) for symbol, value in bands.items()}

    def run(self, scales: Mapping[str, Decimal], wanted: dict[str, float] | None) -> BandCheck:
        """Quiet with the plan's ``owned``, outside, or not quiet; ``wanted`` (when given and
        the pass completes): per margin coin, the positive targets on its active inverse
        instruments (float)."""
        held, marks = self.held, self.marks
        markets, prices = self.snapshot.markets, self.snapshot.prices
        parts, names = self.parts, self.names
        new_owned: dict[str, Mapping[str, Decimal]] = {}
        for symbol, total in self.totals.items():
            signed = held.get(symbol, ZERO)
            market = markets.get(symbol)
            # (market, signed, long?, USD per contract, slack, float(signed), margin coin)
            known = _HELD.get(symbol)
            if known is None or known[1] is not signed or known[0] is not market:
                known = _HELD[symbol] = held_constants(symbol, market, signed)
            # a long on a targeted instrument (the planner closes it), or a symbol it cannot value
            if known[2] or market is None:
                return NOT_QUIET
            mark = marks.get(symbol) if marks else None
            price = mark if mark is not None else prices.get(market.base)
            if price is None or price <= 0:
                return NOT_QUIET
            if not market.active:
                continue  # no order, and no part of Plan.owned
            scale = scales.get(symbol) if scales else None
            mine = None
            if scale is None:  # one owner, unscaled: the lean test
                if parts is None:
                    mine = self._one(symbol, market, price, total, known, wanted, names.get(symbol))
                else:
                    own = parts.get(symbol)
                    if own is not None and len(own) == 1:
                        (name,) = own
                        mine = self._one(symbol, market, price, total, known, wanted, name)
            if mine is None:
                mine = self._owners(symbol, market, price, total, known, scale, wanted)
            if mine is _OUTSIDE:
                return BandCheck(False, True)
            if mine:
                new_owned[symbol] = mine
        return BandCheck(True, False, new_owned)

    def _one(
        self,
        symbol: str,
        market: Market,
        price: Decimal,
        total: Decimal,
        known: Known,
        wanted: dict[str, float] | None,
        name: str | None,
    ) -> Mapping[str, Decimal] | None:
        """The common case, kept lean: one owner (``name``; None: no target), unscaled,
        owning the whole short before. The owned part (``_NONE``: none), ``_OUTSIDE``, or
        None: not this case."""
        previous = self.previous.get(symbol)
        if previous is not None and not (len(previous) == 1 and name in previous):
            return None
        target = float(total)
        coin = known[6]
        if wanted is not None and coin and target > 0:
            wanted[coin] = wanted.get(coin, 0.0) + target
        signed = known[1]
        size = known[3]
        allowance = self.bands_f.get(symbol, self.band_f) * target
        clearly = (  # the float bound of _constants
            size
            and allowance > 0
            and (abs(target / size + known[5]) * (1 + 1e-9) + known[4]) * size
            < allowance * (1 - 1e-9)
        )
        band = self.bands.get(symbol, self.band)
        if not clearly and not _one_inside(market, price, total, signed, band):
            return _OUTSIDE
        if name is None:
            return _NONE
        cached = _OWNED.get(symbol)
        if cached is None or cached[0] is not signed or cached[1] != name:
            cached = _OWNED[symbol] = (signed, name, {name: max(-signed, ZERO)})
        return cached[2]

    def _owners(
        self,
        symbol: str,
        market: Market,
        price: Decimal,
        total: Decimal,
        known: Known,
        scale: Decimal | None,
        wanted: dict[str, float] | None,
    ) -> Mapping[str, Decimal]:
        """Every other case: owners' parts (``_decide_owners``), or one owner scaled to margin
        or with a previous owner beside it. The owned part, or ``_OUTSIDE``."""
        signed = known[1]
        coin = known[6]
        if wanted is not None and coin and total > 0:  # margin_caps: max(total, 0), unscaled
            wanted[coin] = wanted.get(coin, 0.0) + float(total)
        own, total = _owners_of(symbol, total, self.parts, self.names, scale)
        previous = self.previous.get(symbol)
        band = self.bands.get(symbol, self.band)
        if not (
            _one_inside_float(known, total, self.bands_f.get(symbol, self.band_f))
            or _one_inside(market, price, total, signed, band)
        ):
            return _OUTSIDE
        if len(own) > 1 or (previous is not None and _other_owner(previous, own)):
            # the planner's ``_kept``: the short held, split as the previous plan meant it
            return _owner_shares(symbol, max(-signed, ZERO), own, previous or _NONE)[2]
        return _single_owned(symbol, own, signed) if own else _NONE


_OUTSIDE: Mapping[str, Decimal] = {"": ZERO}  # a sentinel: outside the band
_NO_NAMES: Mapping[str, str] = {}
_NO_OWNED: Ownership = {}
_NO_OWNERS: frozenset[str] = frozenset()
_NO_COLLATERAL: Collateral = {}
_NO_BANDS: Mapping[str, Decimal] = {}


def _owners_of(
    symbol: str,
    total: Decimal,
    parts: Mapping[str, Mapping[str, Decimal]] | None,
    names: Mapping[str, str],
    scale: Decimal | None,
) -> tuple[Mapping[str, Decimal], Decimal]:
    """The owners' targets on ``symbol`` and the instrument's target, as ``plan_hedges``
    passes them to ``_load`` (scaled to margin: the scaled parts and their sum)."""
    if parts is None:
        name = names.get(symbol)
        own: Mapping[str, Decimal] = _NONE if name is None else {name: total}
    else:
        own = parts.get(symbol, _NONE)
    if scale is None:
        return own, total
    own = {owner: usd * scale for owner, usd in own.items()}
    return own, sum(own.values(), ZERO)


def _one_inside_float(
    known: Known,
    target_usd: Decimal,
    band: float,
) -> bool:
    """The float bound of ``_constants``: True when the gap is clearly inside the band."""
    size = known[3]
    if not size:
        return False
    target = float(target_usd)
    allowance = band * target
    worst = (abs(target / size + known[5]) * (1 + 1e-9) + known[4]) * size
    return allowance > 0 and worst < allowance * (1 - 1e-9)


def _one_inside(
    market: Market, price: Decimal, target_usd: Decimal, signed: Decimal, band: Decimal
) -> bool:
    """``bot.core.planner._decide`` (one owner, or none), exactly: no order unless
    ``|target − current| > band × target``."""
    target_usd = max(target_usd, ZERO)
    gap = contracts_for_usd(market, target_usd, price) + signed  # target − current short
    return not (gap and face_usd(market, abs(gap), price) > band * target_usd)


_NONE: Mapping[str, Decimal] = {}


def _other_owner(previous: Mapping[str, Decimal], own: Mapping[str, Decimal]) -> bool:
    """The planner's second reason to judge owners apart: a previous owner with a part of the
    short (> 0) that has no target now."""
    if len(previous) == 1 and len(own) == 1:
        (owner,) = previous
        if owner in own:
            return False
    return any(contracts > 0 and owner not in own for owner, contracts in previous.items())


def _single_owned(symbol: str, own: Mapping[str, Decimal], signed: Decimal) -> dict[str, Decimal]:
    """``_decide``'s ``owned``: every owner (one) holds the whole short held."""
    (owner,) = own
    cached = _OWNED.get(symbol)
    if cached is not None and cached[0] is signed and cached[1] == owner:
        return cached[2]
    mine = dict.fromkeys(own, max(-signed, ZERO))
    _OWNED[symbol] = (signed, owner, mine)
    return mine


_OWNED: dict[str, tuple[Decimal, str, dict[str, Decimal]]] = {}


def _neutral_coins(collateral: Collateral, markets: Mapping[str, Market]) -> frozenset[str]:
    """Margin coins certainly held USD-neutral (``bot.daemon.decide.neutral_coins``): a coin
    whose collateral target sits on an inverse instrument settled in the coin itself has no
    rule (``collateral_targets``), is no stablecoin, and margins that target, which says no
    ``collateral: ignore``. A neutral coin without such a target (an empty wallet, or no
    inverse contract of its own) is left out: its release is then checked, never skipped."""
    if not collateral:
        return _NO_OWNERS
    found: set[str] = set()
    for symbol, owners in collateral.items():
        market = markets.get(symbol)
        if market is not None and market.is_inverse and market.settle in owners:
            found.add(market.settle)
    return frozenset(found)


Shares = tuple[dict[str, Decimal], dict[str, float], Mapping[str, Decimal]]
_SHARES: dict[str, tuple[Decimal, Mapping[str, Decimal], Shares]] = {}


def _owner_shares(
    symbol: str, current: Decimal, own: Mapping[str, Decimal], previous: Mapping[str, Decimal]
) -> Shares:
    """``owner_shares`` (the short split among owners), its floats, and the owned parts the
    planner keeps when every owner is inside (the parts > 0, sorted by owner). When the owned
    parts equal ``previous``, ``previous`` itself is returned: the next tick passes it back,
    and the cached answer for (``current``, ``previous``) is reused without any arithmetic."""
    cached = _SHARES.get(symbol)
    if cached is not None and cached[1] is previous and cached[0] == current:
        return cached[2]
    share = owner_shares(current, own, previous)
    mine: Mapping[str, Decimal] = {o: share[o] for o in sorted(share) if share[o] > 0}
    if mine == previous:
        mine = previous
    result = (share, {o: float(c) for o, c in share.items()}, mine)
    if any(c > 0 for c in previous.values()):  # else the split follows the targets: no cache
        _SHARES[symbol] = (current, previous, result)
    return result


def _positive_by_coin(
    parts: Mapping[str, Mapping[str, Decimal]] | None,
    names: Mapping[str, str] | None,
    totals: Mapping[str, Decimal],
    markets: Mapping[str, Market],
) -> dict[str, tuple[float, tuple[str, ...]]]:
    """Per margin coin, the positive targets on its inverse instruments (float) and the other
    assets wanting them, as ``plan_collateral`` sums them (``_targets_by_coin``); from the
    owners' parts, or from the totals (all >= 0) and each instrument's one owner."""
    usd: dict[str, float] = {}
    proxies: dict[str, list[str]] = {}
    for symbol, total in totals.items():
        market = markets.get(symbol)
        if market is None or not market.is_inverse:
            continue
        coin = market.settle
        own: Mapping[str, Decimal]
        if parts is None:
            name = names.get(symbol) if names is not None else None
            own = _NONE if name is None else {name: total}
        else:
            own = parts.get(symbol, _NONE)
        for owner, part in own.items():
            if part > 0:
                usd[coin] = usd.get(coin, 0.0) + float(part)
                if owner != coin:
                    proxies.setdefault(coin, []).append(owner)
    return {coin: (value, tuple(proxies.get(coin, ()))) for coin, value in usd.items()}


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


_FLOATS: dict[str, tuple[Market, float, float]] = {}
Known = tuple[Market | None, Decimal, bool, float, float, float, str | None]
_HELD: dict[str, Known] = {}


def held_constants(symbol: str, market: Market | None, signed: Decimal) -> Known:
    """What ``_Pass`` derives from a symbol's market and signed holding (both immutable, so
    cached by identity): ``_constants``, ``float(signed)``, and the margin coin whose wallet
    carries the symbol (active inverse markets; None otherwise)."""
    if market is None:
        return None, signed, signed > 0, 0.0, 0.0, float(signed), None
    constants = _FLOATS.get(symbol)
    if constants is None or constants[0] is not market:
        constants = _FLOATS[symbol] = _constants(market)
    coin = market.settle if market.is_inverse and market.active else None
    return market, signed, signed > 0, constants[1], constants[2], float(signed), coin


def _constants(market: Market) -> tuple[Market, float, float]:
    """``(market, USD per contract, slack in contracts)`` for the float bound of ``_Pass``
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
