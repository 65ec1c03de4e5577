"""One replay tick's decision: the daemon's ``decide()``, skipped when it cannot place an order.

Every tick evaluates the rules exactly as ``decide()`` does (``bot.backtest.rulebook``).
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
``decide()`` itself, with the rules as ``RuleBook.recalling`` (the tick's answers, not computed
twice). Float bounds settle the clear cases (``_constants``, ``MarginCheck``);
only a value near an edge pays for the exact Decimal test (``margin_caps`` itself for margin).
``tests/backtest`` checks on random books that ``in_band`` never skips a plan that has an order
or a collateral action, and that its ``owned`` and shortfall are the plan's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from bot.backtest.band_parts import (
    NO_BANDS,
    NO_COLLATERAL,
    NO_NAMES,
    NO_OWNED,
    NO_OWNERS,
    NONE,
    OUTSIDE,
    Collateral,
    Known,
    holdings_of,
    known_for,
    neutral_coins,
    one_inside,
    one_inside_float,
    other_owner,
    owner_parts,
    owners_of,
    positive_by_coin,
    single_owned,
    sole_owner,
)
from bot.backtest.wallets import MarginCheck, WalletState
from bot.core.no_trade import instrument_bands
from bot.core.planner import PlannerSettings
from bot.core.types import ZERO, CollateralUsage, HedgeTarget, Market, Ownership, Snapshot


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
            collateral[symbol] = collateral.get(symbol, NO_OWNERS) | {asset}
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
    held, marks = holdings_of(totals, snapshot, held)  # zero totals change no margin cap
    band = BandPass(
        totals,
        parts,
        names,
        snapshot,
        settings.band if settings.band is not None else settings.no_trade.min_band,
        held,
        marks,
        owned or NO_OWNED,
        collateral or NO_COLLATERAL,
        bands or NO_BANDS,
    )
    wanted: dict[str, float] | None = None if margin is None else {}
    verdict = band.run(NONE, wanted)
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
        by_coin = positive_by_coin(parts, names, totals, snapshot.markets)
        neutral = neutral_coins(collateral or NO_COLLATERAL, snapshot.markets)
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


class BandPass:
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
        self.names = names or NO_NAMES
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
            known = known_for(symbol, market, signed)
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
            if mine is OUTSIDE:
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
        owning the whole short before. The owned part (``NONE``: none), ``OUTSIDE``, or
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
        if not clearly and not one_inside(market, price, total, signed, band):
            return OUTSIDE
        if name is None:
            return NONE
        return sole_owner(symbol, name, signed)

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
        or with a previous owner beside it. The owned part, or ``OUTSIDE``."""
        signed = known[1]
        coin = known[6]
        if wanted is not None and coin and total > 0:  # margin_caps: max(total, 0), unscaled
            wanted[coin] = wanted.get(coin, 0.0) + float(total)
        own, total = owners_of(symbol, total, self.parts, self.names, scale)
        previous = self.previous.get(symbol)
        band = self.bands.get(symbol, self.band)
        if not (
            one_inside_float(known, total, self.bands_f.get(symbol, self.band_f))
            or one_inside(market, price, total, signed, band)
        ):
            return OUTSIDE
        if len(own) > 1 or (previous is not None and other_owner(previous, own)):
            # the planner's ``_kept``: the short held, split as the previous plan meant it
            return owner_parts(symbol, max(-signed, ZERO), own, previous or NONE)[2]
        return single_owned(symbol, own, signed) if own else NONE
