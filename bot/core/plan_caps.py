"""The planner's caps on one plan: the total-short cap (increases clamped, shorts above it
trimmed) and ``max_order_usd`` (orders split or clamped), over the plan's working state.

Split out of ``bot.core.planner`` (which builds the legs and orders); pure like it. Money is
USD, sizes are contracts (Decimal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from bot.core.exposure import face_usd
from bot.core.sizing import ceil_to_step, contracts_for_usd, floor_to_step
from bot.core.types import ZERO, Market, Side

if TYPE_CHECKING:
    from bot.core.planner import PlannerSettings


@dataclass(frozen=True, slots=True)
class Leg:
    """One intended order before it is split and given a client id."""

    side: Side
    contracts: Decimal
    reduce_only: bool
    reason: str


@dataclass(slots=True)
class InstrumentWork:
    """Working state of one instrument while the plan is built."""

    symbol: str
    market: Market
    price: Decimal  # USD per coin
    target_usd: Decimal
    target: Decimal  # short contracts wanted
    current: Decimal  # short contracts held (a long is negative)
    reductions: list[Leg] = field(default_factory=list)
    increase: Leg | None = None
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


def cap_total(
    instruments: list[InstrumentWork],
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
            leg = Leg(leg.side, allowed, leg.reduce_only, f"{leg.reason}; {note}")
            inst.increase = leg
        total += inst.usd(leg.contracts)


def trim_to_cap(instruments: list[InstrumentWork], settings: PlannerSettings) -> None:
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
        leg = Leg("buy", contracts, True, note)
        inst.reductions.extend(limit_size(inst, leg, settings))
        excess -= inst.usd(contracts)


def split_contracts(contracts: Decimal, cap: Decimal, step: Decimal) -> list[Decimal]:
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


def limit_size(inst: InstrumentWork, leg: Leg, settings: PlannerSettings) -> list[Leg]:
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
        return [Leg(leg.side, cap, leg.reduce_only, f"{leg.reason}; {note}")]
    pieces = split_contracts(leg.contracts, cap, market.amount_step)
    note = f"{leg.side} of {leg.contracts} split into {len(pieces)} by max_order_usd {limit}"
    inst.notes.append(note)
    legs = []
    for number, piece in enumerate(pieces, start=1):
        if piece < market.min_contracts:
            inst.notes.append(f"split remainder of {piece} contracts is below the minimum order")
            continue
        reason = f"{leg.reason}; {note} ({number}/{len(pieces)})"
        legs.append(Leg(leg.side, piece, leg.reduce_only, reason))
    return legs
