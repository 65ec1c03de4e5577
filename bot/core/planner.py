"""Targets + snapshot -> the orders that bring each instrument's short back to its target.

Pure and deterministic: the same targets, snapshot, settings and plan key give an equal ``Plan``,
client ids included. The planner only decides; the daemon checks and sends.

Rules (USD unless stated; see shared/docs/hedging-math.md sections 2 and 4):
- The current hedge is the USD face of the short; the target is rounded to contracts toward the
  smaller hedge. An instrument acts only when |target − current| in USD exceeds
  ``band × target_usd`` (a target of 0 puts any short outside the band).
- An order must be at least one amount step and ``market.min_contracts``, and at least
  ``min_order_usd`` — except a reduction that closes the whole position: without that exemption a
  residual short smaller than ``min_order_usd`` could never be closed.
- Increases sell (reduce_only False); trims buy reduce-only and never exceed the current short, so
  a trim cannot flip the position long.
- A long on a targeted instrument is closed in full with a reduce-only sell first (a hedge bot
  never holds a long: it adds to the exposure it is meant to remove); the short to target is then
  opened by a separate plain sell in the same plan.
- Caps: ``max_total_short_usd`` clamps increases in symbol order (reductions are always allowed);
  then no order exceeds ``max_order_usd``: split into near-equal orders or clamped to the cap.
- Margin (``margin`` terms given): every coin-margined wallet carries at most
  ``bot.core.margin.carry_capacity`` USD of inverse short on its coin. Where the targets on a
  coin sum to more, each is scaled down to fit and the gap is reported as a
  ``MarginShortfall``; the band then applies to the scaled target, so no increase needs more
  margin than the wallet holds, and a wallet that can no longer carry its short is trimmed
  (reduce-only: a trim is never blocked by margin).
- Several owners on one instrument (rules, and a margin coin held USD-neutral): each owner's
  band is judged on its own part of the short (``owned``, carried from the previous plan), so a
  large collateral hedge does not widen a small rule's band. Only owners outside their band move
  to their target; the others keep their part. Without a previous plan the short is shared in
  proportion to the targets.
- Symbols in ``snapshot.unknown_positions`` get no order. Because their short is unknown (not
  flat), the total-short cap cannot be checked, so every increase in the plan is held; reductions
  still go out. The same holds when a short sits on a symbol that cannot be valued (no market or no
  price).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from bot.core.exposure import face_usd, short_contracts
from bot.core.ids import client_order_id
from bot.core.margin import MarginCaps, MarginTerms, margin_caps
from bot.core.no_trade import NoTradeTerms, band_of, instrument_bands
from bot.core.ownership import owner_shares, owner_targets
from bot.core.sizing import ceil_to_step, contracts_for_usd, floor_to_step
from bot.core.types import (
    ZERO,
    HedgeTarget,
    InstrumentHedge,
    Market,
    Ownership,
    Plan,
    PlannedOrder,
    Side,
    Snapshot,
)

if TYPE_CHECKING:
    from bot.config.models import HedgeConfig, LimitsConfig

Oversize = Literal["split", "clamp"]


@dataclass(frozen=True, slots=True)
class PlannerSettings:
    """Band and limits for one plan. Fractions are of target USD; money is USD."""

    # act only when |target - current| > band × target (fraction, 0..1); None: the fee-aware
    # no-trade region of bot.core.no_trade, per target
    band: Decimal | None
    min_order_usd: Decimal  # smallest order worth sending, USD
    max_order_usd: Decimal  # largest single order, USD
    max_total_short_usd: Decimal  # cap on the sum of all shorts after the plan, USD
    oversize: Oversize = "split"  # what to do with an order above max_order_usd
    no_trade: NoTradeTerms = field(default_factory=NoTradeTerms)

    @classmethod
    def from_config(cls, hedge: HedgeConfig, limits: LimitsConfig) -> PlannerSettings:
        """Settings from the ``hedge`` and ``limits`` config sections."""
        return cls(
            band=hedge.band,
            min_order_usd=hedge.min_order_usd,
            max_order_usd=limits.max_order_usd,
            max_total_short_usd=limits.max_total_short_usd,
            oversize=limits.oversize,
            no_trade=NoTradeTerms(
                fee_rate=hedge.no_trade.fee_rate,
                risk_aversion=hedge.no_trade.risk_aversion,
                min_band=hedge.no_trade.min_band,
                max_band=hedge.no_trade.max_band,
                trade_to=hedge.no_trade.trade_to,
            ),
        )


def aggregate_targets(targets: Sequence[HedgeTarget]) -> dict[str, Decimal]:
    """Target short USD per instrument symbol: assets hedged with one instrument sum into one."""
    totals: dict[str, Decimal] = {}
    for target in targets:
        totals[target.instrument] = totals.get(target.instrument, ZERO) + target.target_short_usd
    return totals


@dataclass(frozen=True, slots=True)
class _Leg:
    """One intended order before it is split and given a client id."""

    side: Side
    contracts: Decimal
    reduce_only: bool
    reason: str


@dataclass(slots=True)
class _Instrument:
    """Working state of one instrument while the plan is built."""

    symbol: str
    market: Market
    price: Decimal  # USD per coin
    target_usd: Decimal
    target: Decimal  # short contracts wanted
    current: Decimal  # short contracts held (a long is negative)
    reductions: list[_Leg] = field(default_factory=list)
    increase: _Leg | None = None
    notes: list[str] = field(default_factory=list)
    owners: dict[str, Decimal] = field(default_factory=dict)  # owner -> target USD
    band: Decimal = ZERO  # fraction of target_usd the short may be off (instrument_bands)
    wanders: bool = False  # a rule's target on it wanders with prices (a proxy hedge)
    limit_usd: Decimal | None = None  # the most short its margin carries (None: unsized)
    owned: dict[str, Decimal] = field(default_factory=dict)  # owner -> short contracts meant

    def usd(self, contracts: Decimal) -> Decimal:
        return face_usd(self.market, contracts, self.price)

    def short_after_reductions(self) -> Decimal:
        """Short contracts left once this plan's reductions fill (a long counts as 0 short)."""
        held = max(self.current, ZERO)
        trimmed = sum((leg.contracts for leg in self.reductions if leg.side == "buy"), ZERO)
        return held - trimmed


def plan_hedges(
    targets: Sequence[HedgeTarget],
    snapshot: Snapshot,
    settings: PlannerSettings,
    plan_key: str,
    *,
    margin: MarginTerms | None = None,
    owned: Ownership | None = None,
    unread_short_usd: Mapping[str, Decimal] | None = None,
) -> Plan:
    """Plan the orders that bring every hedged instrument back within its band.

    Instruments considered: every instrument with a target, and every symbol holding a short in
    ``snapshot.positions`` (no target means target 0: the short is closed). ``plan_key`` names the
    tick and seeds the client order ids. Notes explain every order not sent and every cap applied.
    ``margin``: size inverse shorts to what their wallets carry (module docstring); ``owned``:
    the previous plan's ``Plan.owned``; ``unread_short_usd``: short the daemon's ledger holds
    beyond the read, by symbol (``bot.core.ledger``), counted by the total-short cap.
    """
    totals = aggregate_targets(targets)
    owners = owner_targets(targets)
    bands = instrument_bands(targets, settings.band, settings.no_trade)
    wandering = {t.instrument for t in targets if t.tracking and not t.collateral}
    caps = MarginCaps({}, (), {})
    if margin is not None:
        caps = margin_caps(totals, snapshot, margin)
    scales, shortfalls = caps.scales, caps.shortfalls
    notes, hold_reason = _unplanned(snapshot, totals)

    shorts = {s for s, p in snapshot.positions.items() if p.contracts < 0}
    instruments: list[_Instrument] = []
    for symbol in sorted((set(totals) | shorts) - snapshot.unknown_positions):
        parts = owners.get(symbol, {})
        scale = scales.get(symbol)
        if scale is not None:
            parts = {owner: usd * scale for owner, usd in parts.items()}
        inst, problem = _load(symbol, totals.get(symbol, ZERO), snapshot, parts, scale)
        if inst is None:
            notes.append(f"{symbol}: {problem}: no order")
            if symbol in shorts:
                hold_reason = hold_reason or f"short on {symbol} cannot be valued"
            continue
        inst.limit_usd = caps.limits.get(symbol)
        inst.band = band_of(bands, symbol, settings.band, settings.no_trade)
        inst.wanders = symbol in wandering
        if inst.market.active:
            _decide(inst, settings, (owned or {}).get(symbol, {}))
        else:
            inst.notes.append("market inactive: no order")
        instruments.append(inst)

    # Per-order caps on reductions come first: a clamped reduction leaves more short on the book,
    # and the total-short cap must count what is really left.
    for inst in instruments:
        inst.reductions = [p for leg in inst.reductions for p in _limit_size(inst, leg, settings)]
    unread = sum((unread_short_usd or {}).values(), ZERO)
    _cap_total(instruments, settings, hold_reason, unread)
    if hold_reason is None:
        _trim_to_cap(instruments, settings)
    orders = _orders(instruments, settings, plan_key)
    for inst in instruments:
        notes.extend(f"{inst.symbol}: {note}" for note in inst.notes)
    hedges = tuple(
        InstrumentHedge(
            instrument=inst.symbol,
            target_short_usd=inst.target_usd,
            current_short_usd=inst.usd(inst.current),
            target_contracts=inst.target,
            current_contracts=inst.current,
            notes=tuple(inst.notes),
            band=inst.band,
        )
        for inst in instruments
    )
    return Plan(
        hedges=hedges,
        orders=orders,
        notes=tuple(notes),
        shortfalls=shortfalls,
        owned={inst.symbol: dict(inst.owned) for inst in instruments if inst.owned},
    )


def _unplanned(snapshot: Snapshot, totals: Mapping[str, Decimal]) -> tuple[list[str], str | None]:
    """Notes on positions the plan leaves alone, and why increases are held (if they are)."""
    notes: list[str] = []
    hold_reason: str | None = None
    for symbol in sorted(snapshot.unknown_positions):
        notes.append(f"{symbol}: position unknown (not flat): no order")
        hold_reason = hold_reason or f"position on {symbol} unknown"
    for symbol, position in sorted(snapshot.positions.items()):
        if position.contracts > 0 and symbol not in totals:
            notes.append(f"{symbol}: long of {position.contracts} contracts has no target: left")
    return notes, hold_reason


def _load(
    symbol: str,
    total_usd: Decimal,
    snapshot: Snapshot,
    owners: dict[str, Decimal],
    scale: Decimal | None,
) -> tuple[_Instrument | None, str]:
    """The instrument's working state; its target is the owners' (scaled to margin) sum."""
    target_usd = total_usd if scale is None else sum(owners.values(), ZERO)
    market = snapshot.markets.get(symbol)
    if market is None:
        return None, "no market"
    position = snapshot.positions.get(symbol)
    price = position.mark_price if position is not None else None
    if price is None:
        price = snapshot.prices.get(market.base)
    if price is None or price <= 0:
        return None, f"no price for {market.base}"
    inst = _Instrument(symbol, market, price, target_usd, ZERO, short_contracts(position))
    inst.owners = owners
    if scale is not None:
        inst.notes.append(f"margin carries {target_usd:.2f} of {total_usd:.2f} USD target")
    if target_usd < 0:
        inst.notes.append(f"negative target {target_usd} USD treated as 0 (never long)")
        inst.target_usd = ZERO
    inst.target = contracts_for_usd(market, inst.target_usd, price)
    if inst.target_usd > 0 and inst.target == 0:
        inst.notes.append(
            f"target {inst.target_usd} USD is below one order of {market.min_contracts} "
            f"contracts: no hedge"
        )
    return inst, ""


def _decide(inst: _Instrument, settings: PlannerSettings, previous: Mapping[str, Decimal]) -> None:
    """Fill ``inst.reductions`` / ``inst.increase`` before the caps: act only when the whole
    instrument is outside its band (|target − current| > band × target, USD); then every owner
    moves to its target. Judging owners one by one would trade their offsetting drifts (a rule's
    part and the margin held USD-neutral move in opposite directions with the price)."""
    current = _close_long(inst)
    if current is None:
        return
    gap = inst.target - current
    if gap == 0 or inst.usd(abs(gap)) <= inst.band * inst.target_usd:
        inst.owned = _kept(inst, current, previous)
        return
    if len(inst.owners) > 1 or any(o not in inst.owners for o in previous if previous[o] > 0):
        inst.notes.append(f"outside its band of {inst.band:.2%} of target")
    goal = _goal(inst, settings, gap)
    gap = goal - current
    share = goal / inst.target if inst.target > 0 else ZERO
    per_contract = inst.usd(Decimal(1))
    inst.owned = {
        owner: usd / per_contract * share if len(inst.owners) > 1 else goal
        for owner, usd in sorted(inst.owners.items())
        if usd > 0
    }
    if inst.limit_usd is not None and inst.usd(inst.target) > inst.limit_usd:
        gap = contracts_for_usd(inst.market, inst.limit_usd, inst.price) - current
    if gap != 0:
        _legs_for_gap(inst, gap, current, settings)


def _goal(inst: _Instrument, settings: PlannerSettings, gap: Decimal) -> Decimal:
    """Short contracts a trade aims at. Under the fee-aware band, ``no_trade.trade_to`` of the
    band short of the target, on the side the short came from (0: the target itself; 1: the
    band's edge, Whalley and Wilmott's rule): most of the drift is taken back at a fraction of
    the turnover. A plain ``band``, a target that does not wander with prices (own perp, ratio
    rules, margin alone) or a target of 0 is met exactly."""
    trade_to = settings.no_trade.trade_to
    if settings.band is not None or not inst.wanders or inst.target <= 0 or trade_to <= 0:
        return inst.target
    keep_usd = trade_to * inst.band * inst.target_usd
    keep = contracts_for_usd(inst.market, keep_usd, inst.price)
    return inst.target - keep if gap > 0 else inst.target + keep


def _kept(
    inst: _Instrument, current: Decimal, previous: Mapping[str, Decimal]
) -> dict[str, Decimal]:
    """``Plan.owned`` when the instrument stays inside its band: the short held, split among
    its owners as the previous plan meant it (one owner: all of it)."""
    held = max(current, ZERO)
    if len(inst.owners) <= 1 and not any(o not in inst.owners for o in previous if previous[o] > 0):
        return dict.fromkeys(inst.owners, held)
    share = owner_shares(held, inst.owners, previous)
    return {owner: share[owner] for owner in sorted(share) if share[owner] > 0}


def _close_long(inst: _Instrument) -> Decimal | None:
    """Short contracts held once a long is closed (the close is planned); None: a long below
    the minimum order blocks the instrument."""
    current = inst.current
    if current < 0:
        if -current < inst.market.min_contracts:
            inst.notes.append(
                f"long of {-current} contracts is below the minimum order: not closed"
            )
            return None
        inst.reductions.append(_Leg("sell", -current, True, "close long before hedging"))
        current = ZERO
    return current


def _legs_for_gap(
    inst: _Instrument, gap: Decimal, current: Decimal, settings: PlannerSettings
) -> None:
    """The order that closes ``gap`` contracts (target − held short), if it is worth sending."""
    market = inst.market
    if gap > 0:
        size = floor_to_step(gap, market.amount_step)
        full_close = False
        reason = f"increase short to {current + gap} contracts"
    else:
        # Rounding a trim up keeps the short at or below target; capping it at the current short
        # keeps the position from flipping long.
        size = min(ceil_to_step(-gap, market.amount_step), current)
        full_close = size == current
        reason = (
            "close short (target 0 contracts)" if full_close else f"trim short to {current + gap}"
        )
    if size <= 0 or size < market.min_contracts:
        inst.notes.append(f"gap of {gap} contracts is below the minimum order: no order")
        return
    if not full_close and inst.usd(size) < settings.min_order_usd:
        inst.notes.append(
            f"gap of {inst.usd(size)} USD is below min_order_usd {settings.min_order_usd}: no order"
        )
        return
    if gap > 0:
        inst.increase = _Leg("sell", size, False, reason)
    else:
        inst.reductions.append(_Leg("buy", size, True, reason))


def _cap_total(
    instruments: list[_Instrument],
    settings: PlannerSettings,
    hold_reason: str | None,
    unread_usd: Decimal = ZERO,
) -> None:
    """Clamp increases, in symbol order, so the total short stays within max_total_short_usd
    (counting ``unread_usd``, short the ledger holds beyond the read)."""
    # Shorts as held now: a planned reduction may fill only in part (a limit cancelled when
    # stale), so headroom it would free is not lent to an increase in the same plan (chaos
    # seed 1, cycle 15: a buy filled 1,666 of 2,777 and the sell it made room for went over).
    total = unread_usd + sum((inst.usd(max(inst.current, ZERO)) for inst in instruments), ZERO)
    for inst in instruments:
        leg = inst.increase
        if leg is None:
            continue
        if hold_reason is not None:
            inst.notes.append(f"increase of {leg.contracts} contracts held: {hold_reason}")
            inst.increase = None
            continue
        headroom = settings.max_total_short_usd - total
        allowed = ZERO
        if headroom > 0:
            allowed = floor_to_step(headroom / inst.usd(Decimal(1)), inst.market.amount_step)
        if leg.contracts > allowed:
            cap = settings.max_total_short_usd
            if allowed < inst.market.min_contracts or inst.usd(allowed) < settings.min_order_usd:
                inst.notes.append(
                    f"increase of {leg.contracts} contracts dropped: max_total_short_usd {cap}"
                )
                inst.increase = None
                continue
            note = f"increase clamped {leg.contracts} -> {allowed} by max_total_short_usd {cap}"
            inst.notes.append(note)
            leg = _Leg(leg.side, allowed, leg.reduce_only, f"{leg.reason}; {note}")
            inst.increase = leg
        total += inst.usd(leg.contracts)


def _trim_to_cap(instruments: list[_Instrument], settings: PlannerSettings) -> None:
    """Reduce, largest short first, until the shorts left after this plan's reductions sum to
    at most max_total_short_usd: a hard cap also when the venue took the total past it (a
    contract re-specified, a fill the plan did not expect), not only a clamp on increases."""
    cap = settings.max_total_short_usd
    left = {inst.symbol: inst.short_after_reductions() for inst in instruments}
    excess = sum((inst.usd(left[inst.symbol]) for inst in instruments), ZERO) - cap
    for inst in sorted(instruments, key=lambda i: i.usd(left[i.symbol]), reverse=True):
        held = left[inst.symbol]
        if excess <= 0 or held <= 0 or inst.increase is not None or not inst.market.active:
            continue
        per_contract = inst.usd(Decimal(1))
        contracts = min(held, ceil_to_step(excess / per_contract, inst.market.amount_step))
        if contracts < inst.market.min_contracts:
            continue
        note = f"trim {contracts} contracts: the shorts sum above max_total_short_usd {cap}"
        inst.notes.append(note)
        leg = _Leg("buy", contracts, True, note)
        inst.reductions.extend(_limit_size(inst, leg, settings))
        excess -= inst.usd(contracts)


def _split(contracts: Decimal, cap: Decimal, step: Decimal) -> list[Decimal]:
    """Near-equal pieces, each <= ``cap`` (a multiple of ``step``), summing to ``contracts``."""
    count = int(ceil_to_step(contracts / cap, Decimal(1)))
    pieces: list[Decimal] = []
    remaining = contracts
    for left in range(count, 0, -1):
        piece = remaining if left == 1 else min(ceil_to_step(remaining / left, step), cap)
        if piece > 0:
            pieces.append(piece)
        remaining -= piece
    return pieces


def _limit_size(inst: _Instrument, leg: _Leg, settings: PlannerSettings) -> list[_Leg]:
    """Apply max_order_usd to one leg: split or clamp, with a note and reason."""
    market = inst.market
    cap = contracts_for_usd(market, settings.max_order_usd, inst.price)
    if leg.contracts <= cap:
        return [leg]
    limit = settings.max_order_usd
    if cap == 0:
        inst.notes.append(f"{leg.side} of {leg.contracts} dropped: max_order_usd {limit} < 1 order")
        return []
    if settings.oversize == "clamp":
        note = f"{leg.side} clamped {leg.contracts} -> {cap} contracts by max_order_usd {limit}"
        inst.notes.append(note)
        return [_Leg(leg.side, cap, leg.reduce_only, f"{leg.reason}; {note}")]
    pieces = _split(leg.contracts, cap, market.amount_step)
    note = f"{leg.side} of {leg.contracts} split into {len(pieces)} by max_order_usd {limit}"
    inst.notes.append(note)
    legs = []
    for number, piece in enumerate(pieces, start=1):
        if piece < market.min_contracts:
            inst.notes.append(f"split remainder of {piece} contracts is below the minimum order")
            continue
        reason = f"{leg.reason}; {note} ({number}/{len(pieces)})"
        legs.append(_Leg(leg.side, piece, leg.reduce_only, reason))
    return legs


def _orders(
    instruments: list[_Instrument], settings: PlannerSettings, plan_key: str
) -> tuple[PlannedOrder, ...]:
    """Planned orders with client ids: reductions first (they free margin), then by symbol."""
    orders: list[PlannedOrder] = []
    for inst in instruments:
        increases = [] if inst.increase is None else _limit_size(inst, inst.increase, settings)
        index = {"buy": 0, "sell": 0}
        for piece in [*inst.reductions, *increases]:
            cid = client_order_id(plan_key, inst.symbol, piece.side, index[piece.side])
            index[piece.side] += 1
            orders.append(
                PlannedOrder(
                    symbol=inst.symbol,
                    side=piece.side,
                    contracts=piece.contracts,
                    reduce_only=piece.reduce_only,
                    client_order_id=cid,
                    reason=piece.reason,
                )
            )
    # sorted() is stable, so pieces of one split keep their order within a symbol.
    return tuple(sorted(orders, key=lambda o: (not o.reduce_only, o.symbol)))
