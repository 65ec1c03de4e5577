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

from bot.core.exposure import short_contracts
from bot.core.ids import client_order_id
from bot.core.margin import MarginCaps, MarginTerms, margin_caps
from bot.core.no_trade import NoTradeTerms, band_of, instrument_bands
from bot.core.ownership import owner_shares, owner_targets
from bot.core.plan_caps import InstrumentWork, Leg, cap_total, limit_size, trim_to_cap
from bot.core.sizing import ceil_to_step, contracts_for_usd, floor_to_step
from bot.core.types import (
    ZERO,
    HedgeTarget,
    InstrumentHedge,
    Ownership,
    Plan,
    PlannedOrder,
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
    instruments: list[InstrumentWork] = []
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
        inst.reductions = [p for leg in inst.reductions for p in limit_size(inst, leg, settings)]
    unread = sum((unread_short_usd or {}).values(), ZERO)
    cap_total(instruments, settings, hold_reason, unread)
    if hold_reason is None:
        trim_to_cap(instruments, settings)
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
) -> tuple[InstrumentWork | None, str]:
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
    inst = InstrumentWork(symbol, market, price, target_usd, ZERO, short_contracts(position))
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


def _decide(
    inst: InstrumentWork, settings: PlannerSettings, previous: Mapping[str, Decimal]
) -> None:
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


def _goal(inst: InstrumentWork, settings: PlannerSettings, gap: Decimal) -> Decimal:
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
    inst: InstrumentWork, current: Decimal, previous: Mapping[str, Decimal]
) -> dict[str, Decimal]:
    """``Plan.owned`` when the instrument stays inside its band: the short held, split among
    its owners as the previous plan meant it (one owner: all of it)."""
    held = max(current, ZERO)
    if len(inst.owners) <= 1 and not any(o not in inst.owners for o in previous if previous[o] > 0):
        return dict.fromkeys(inst.owners, held)
    share = owner_shares(held, inst.owners, previous)
    return {owner: share[owner] for owner in sorted(share) if share[owner] > 0}


def _close_long(inst: InstrumentWork) -> Decimal | None:
    """Short contracts held once a long is closed (the close is planned); None: a long below
    the minimum order blocks the instrument."""
    current = inst.current
    if current < 0:
        if -current < inst.market.min_contracts:
            inst.notes.append(
                f"long of {-current} contracts is below the minimum order: not closed"
            )
            return None
        inst.reductions.append(Leg("sell", -current, True, "close long before hedging"))
        current = ZERO
    return current


def _legs_for_gap(
    inst: InstrumentWork, gap: Decimal, current: Decimal, settings: PlannerSettings
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
        inst.increase = Leg("sell", size, False, reason)
    else:
        inst.reductions.append(Leg("buy", size, True, reason))


def _orders(
    instruments: list[InstrumentWork], settings: PlannerSettings, plan_key: str
) -> tuple[PlannedOrder, ...]:
    """Planned orders with client ids: reductions first (they free margin), then by symbol."""
    orders: list[PlannedOrder] = []
    for inst in instruments:
        increases = [] if inst.increase is None else limit_size(inst, inst.increase, settings)
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
