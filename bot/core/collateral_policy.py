"""Collateral that follows the hedge: transfers and conversions that keep shorts carried. Pure.

Each coin-margined wallet is kept inside a band of liquidation distances (``bot.core.margin``):

- **Top-up** (``fund_from: spot``): when the wallet cannot carry its coin's targets at the
  minimum distance, move the coin from the spot wallet to the contract wallet so that it carries
  them at the (larger) target distance. Hysteresis: nothing moves again until the band's edge is
  crossed.
- **Release**: when the wallet holds more than the targets need at the release distance, move
  the surplus back to spot, down to the target distance. Only for a coin with a rule of its
  own (its spot and margin are hedged alike): a margin coin held USD-neutral is hedged only
  while it is margin, so its surplus stays there.
- **Conversion** (``convert: true``, proxy hedges only): when spot holds too little of the
  margin coin B, sell part of the proxy-hedged asset A's spot for B (``A/USDT`` sell, ``B/USDT``
  buy, two spot market orders) and move it to margin. The sold A leaves A's exposure, so A's
  target shrinks by ``h_A`` USD per USD sold (its hedge per USD of exposure) in the same arithmetic.

A margin coin held USD-neutral (it has no rule of its own) is hedged in full, so every coin
moved in adds its own value to the short it must carry; the solver accounts for it.

Both constraints of ``bot.core.margin`` (liquidation buffer and initial margin) are linear in
the amount moved, so the smallest amount that satisfies both is found in closed form
(``units_needed``). Daily caps (USD and coins per rolling 24 h) bound every move; what they
stop is left to the planner, which then sizes the hedge to what the wallet carries.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from bot.core.collateral_math import (
    Budget,
    Moves,
    UnitDelta,
    WalletState,
    after_units,
    equity_surplus,
    transfer_delta,
    units_needed,
    whole_coins,
)
from bot.core.ids import client_order_id
from bot.core.margin import CoinWallet, MarginTerms, coin_wallets
from bot.core.types import (
    ZERO,
    CollateralAction,
    CollateralUsage,
    Exposure,
    HedgeTarget,
    MarginWallet,
    Snapshot,
    WalletKind,
)

ONE = Decimal(1)
QUOTE = "USDT"
_NAMESPACE = uuid.UUID("6f1c7f0e-3f7d-4b8e-9d55-2c1f3f0b7a11")


@dataclass(frozen=True, slots=True)
class CollateralSettings:
    """The ``collateral:`` config section as the policy needs it (money in USD, coins in coin)."""

    terms: MarginTerms  # min_distance: the band's lower edge
    target_distance: Decimal  # top-ups and releases aim here
    release_distance: Decimal  # above this, surplus goes back to spot
    fund_from_spot: bool = False
    convert: bool = False
    max_transfer_usd: Decimal = Decimal(100_000)  # per rolling 24 h, both directions
    max_transfer_coins: Mapping[str, Decimal] = field(default_factory=dict)
    max_convert_usd: Decimal = Decimal(50_000)  # per rolling 24 h


@dataclass(frozen=True, slots=True)
class CollateralPlan:
    """Actions in the order they must run (spot legs, then transfers), and why."""

    actions: tuple[CollateralAction, ...] = ()
    notes: tuple[str, ...] = ()


def transfer_id(plan_key: str, coin: str, destination: str) -> str:
    """Deterministic UUID of the tick's transfer of ``coin`` (the exchange's idempotency key)."""
    return str(uuid.uuid5(_NAMESPACE, f"{plan_key}|transfer|{coin}|{destination}"))


def plan_collateral(
    snapshot: Snapshot,
    targets: Sequence[HedgeTarget],
    exposures: Mapping[str, Exposure],
    settings: CollateralSettings,
    usage: CollateralUsage,
    plan_key: str,
    neutral_coins: frozenset[str] = frozenset(),
) -> CollateralPlan:
    """Transfers and conversions for this tick (module docstring). ``neutral_coins``: margin
    coins held USD-neutral (no rule of their own). Nothing moves unless the settings opt in."""
    if not settings.fund_from_spot:
        return CollateralPlan()
    wallets = coin_wallets(snapshot, settings.terms.leverage)
    wanted = _targets_by_coin(snapshot, targets)
    actions: list[CollateralAction] = []
    notes: list[str] = []
    budget = Budget(settings, usage)
    for coin, (target_usd, proxies) in sorted(wanted.items()):
        price = snapshot.prices.get(coin)
        if price is None or price <= 0 or target_usd <= 0:
            continue
        wallet = wallets.get(coin) or CoinWallet(coin, price, ZERO, ZERO, ZERO, None, ZERO)
        neutral = coin in neutral_coins
        base = WalletState(target_usd, wallet.equity, wallet.available)
        at_min, at_target, at_release = (
            replace(settings.terms, min_distance=d)
            for d in (
                settings.terms.min_distance,
                settings.target_distance,
                settings.release_distance,
            )
        )
        if units_needed(base, transfer_delta(price, neutral), wallet, at_min) > 0:
            moved = _top_up(coin, base, wallet, at_target, snapshot, budget, neutral, plan_key)
            actions.extend(moved.actions)
            notes.extend(moved.notes)
            short = units_needed(moved.state, transfer_delta(price, neutral), wallet, at_min)
            if short > 0 and settings.convert:
                converted = _convert(
                    coin,
                    moved.state,
                    wallet,
                    at_target,
                    proxies,
                    exposures,
                    snapshot,
                    budget,
                    neutral,
                    plan_key,
                )
                actions.extend(converted.actions)
                notes.extend(converted.notes)
        elif not neutral and equity_surplus(base, wallet, at_release) > 0:
            # A neutral coin is hedged only while it is margin: back in spot it would be an
            # unhedged long, so its surplus stays where it is hedged.
            released = _release(coin, base, wallet, at_target, budget, plan_key)
            actions.extend(released.actions)
            notes.extend(released.notes)
    return CollateralPlan(_ordered(actions), tuple(notes))


def apply_collateral(
    snapshot: Snapshot, actions: Sequence[CollateralAction], spot_fee_rate: Decimal = ZERO
) -> Snapshot:
    """The snapshot as it will be once ``actions`` are done. A spot buy's ``amount`` is what is
    bought; its fee (``spot_fee_rate``) is charged in the coin bought, so the spot wallet gets
    ``amount × (1 − fee)`` (what the transfer after it moves)."""
    if not actions:
        return snapshot
    spot = dict(snapshot.spot)
    margin = dict(snapshot.margin)
    for action in actions:
        if action.kind == "transfer":
            sign = ONE if action.destination == "margin" else -ONE
            spot[action.coin] = spot.get(action.coin, ZERO) - sign * action.amount
            wallet = margin.get(action.coin) or MarginWallet(action.coin, ZERO)
            margin[action.coin] = replace(wallet, balance=wallet.balance + sign * action.amount)
        elif action.kind == "spot_sell":
            spot[action.coin] = spot.get(action.coin, ZERO) - action.amount
        else:  # spot_buy: the coin arrives, less the fee charged in it
            spot[action.coin] = spot.get(action.coin, ZERO) + action.amount * (ONE - spot_fee_rate)
    return replace(snapshot, spot=spot, margin=margin)


def _top_up(
    coin: str,
    state: WalletState,
    wallet: CoinWallet,
    terms: MarginTerms,
    snapshot: Snapshot,
    budget: Budget,
    neutral: bool,
    plan_key: str,
) -> Moves:
    price = wallet.price
    delta = transfer_delta(price, neutral)
    need = units_needed(state, delta, wallet, terms)
    spot = snapshot.spot.get(coin, ZERO)
    amount = whole_coins(min(need, spot, budget.transferable(coin, price)))
    if amount <= 0:
        why = "no spot" if spot <= 0 else "daily transfer cap reached"
        return Moves(state, notes=(f"{coin}: margin needs {need:.8f} {coin}, {why}",))
    budget.spend_transfer(coin, amount, price)
    reason = (
        f"top-up: {coin} margin cannot carry {state.target_usd:.2f} USD at the minimum "
        f"liquidation distance; {amount} {coin} spot -> margin (aim {terms.min_distance})"
    )
    action = _transfer(plan_key, coin, amount, price, "margin", reason)
    return Moves(after_units(state, delta, amount), (action,), (reason,))


def _transfer(
    plan_key: str, coin: str, amount: Decimal, price: Decimal, to: WalletKind, reason: str
) -> CollateralAction:
    """The tick's transfer of ``amount`` coins to wallet ``to`` (from the other one)."""
    return CollateralAction(
        action_id=transfer_id(plan_key, coin, to),
        kind="transfer",
        coin=coin,
        amount=amount,
        usd_value=amount * price,
        source="spot" if to == "margin" else "margin",
        destination=to,
        reason=reason,
    )


def _release(
    coin: str,
    state: WalletState,
    wallet: CoinWallet,
    terms: MarginTerms,
    budget: Budget,
    plan_key: str,
) -> Moves:
    """Surplus back to spot, down to the target distance (a coin with a rule of its own: its
    targets do not change with the wallet it sits in)."""
    price = wallet.price
    amount = equity_surplus(state, wallet, terms)
    # never more than the exchange lets leave: available after the target's initial margin
    im = ONE / (price * terms.leverage) + terms.fee_rate / price
    room = state.available - max(state.target_usd - wallet.short_face, ZERO) * im
    amount = whole_coins(min(amount, room, budget.transferable(coin, price)))
    if amount <= 0:
        return Moves(state)
    budget.spend_transfer(coin, amount, price)
    reason = (
        f"release: {coin} margin holds more than {state.target_usd:.2f} USD of short needs; "
        f"{amount} {coin} margin -> spot (down to distance {terms.min_distance})"
    )
    action = _transfer(plan_key, coin, amount, price, "spot", reason)
    return Moves(after_units(state, transfer_delta(price, False), -amount), (action,), (reason,))


def _convert(
    coin: str,
    state: WalletState,
    wallet: CoinWallet,
    terms: MarginTerms,
    proxies: Mapping[str, Decimal],
    exposures: Mapping[str, Exposure],
    snapshot: Snapshot,
    budget: Budget,
    neutral: bool,
    plan_key: str,
) -> Moves:
    """Sell proxy assets' spot for ``coin`` (largest hedge first) until the wallet carries."""
    price = wallet.price
    kept = (ONE - terms.fee_rate) ** 2  # two spot fees: A -> USDT -> coin
    actions: list[CollateralAction] = []
    notes: list[str] = []
    for asset, hedge_usd in sorted(proxies.items(), key=lambda kv: (-kv[1], kv[0])):
        exposure = exposures.get(asset)
        asset_price = snapshot.prices.get(asset)
        held = snapshot.spot.get(asset, ZERO)
        if exposure is None or asset_price is None or held <= 0 or exposure.exposure_usd <= 0:
            continue
        per_usd = hedge_usd / exposure.exposure_usd  # A's hedge per USD of A's exposure
        delta = UnitDelta(
            (kept if neutral else ZERO) - per_usd, kept / price, kept / price
        )  # per USD of A sold
        need = units_needed(state, delta, wallet, terms)
        room_usd = min(
            budget.convert_usd,
            held * asset_price,
            budget.transferable(coin, price) * price / kept,
        )
        sold_usd = min(need, max(room_usd, ZERO))
        sell = whole_coins(sold_usd / asset_price)
        if sell <= 0:
            if need > 0:
                notes.append(f"{coin}: no conversion from {asset}: daily caps or no spot")
            continue
        sold_usd = sell * asset_price
        buy = whole_coins(sold_usd * (ONE - terms.fee_rate) / price)
        received = whole_coins(buy * (ONE - terms.fee_rate))
        if received <= 0:
            continue  # too little to be worth a trade
        budget.convert_usd -= sold_usd
        budget.spend_transfer(coin, received, price)
        reason = (
            f"conversion: sell {sell} {asset} ({sold_usd:.2f} USD) for {buy} {coin} to margin "
            f"the {asset} hedge; {asset}'s target shrinks by {per_usd * sold_usd:.2f} USD"
        )
        notes.append(reason)
        sell_symbol, buy_symbol = f"{asset}/{QUOTE}", f"{coin}/{QUOTE}"
        actions += [
            CollateralAction(
                client_order_id(plan_key, sell_symbol, "sell", 0),
                "spot_sell",
                asset,
                sell,
                sold_usd,
                symbol=sell_symbol,
                side="sell",
                reason=reason,
            ),
            CollateralAction(
                client_order_id(plan_key, buy_symbol, "buy", 0),
                "spot_buy",
                coin,
                buy,
                buy * price,
                symbol=buy_symbol,
                side="buy",
                reason=reason,
            ),
            _transfer(plan_key, coin, received, price, "margin", reason),
        ]
        state = after_units(state, delta, sold_usd)
        if units_needed(state, delta, wallet, terms) <= 0:
            break
    return Moves(state, tuple(actions), tuple(notes))


def _targets_by_coin(
    snapshot: Snapshot, targets: Sequence[HedgeTarget]
) -> dict[str, tuple[Decimal, dict[str, Decimal]]]:
    """Per margin coin: the USD short wanted on its inverse instruments, and the part of it
    each proxy asset (an asset other than the coin) wants."""
    result: dict[str, tuple[Decimal, dict[str, Decimal]]] = {}
    for target in targets:
        market = snapshot.markets.get(target.instrument)
        if market is None or not market.is_inverse or target.target_short_usd <= 0:
            continue
        total, proxies = result.get(market.settle, (ZERO, {}))
        if target.asset != market.settle:
            proxies[target.asset] = proxies.get(target.asset, ZERO) + target.target_short_usd
        result[market.settle] = (total + target.target_short_usd, proxies)
    return result


def _ordered(actions: list[CollateralAction]) -> tuple[CollateralAction, ...]:
    """Spot legs first (sells, then buys), then transfers; one transfer per coin and way."""
    rank = {"spot_sell": 0, "spot_buy": 1, "transfer": 2}
    merged: dict[str, CollateralAction] = {}
    for action in actions:
        if action.kind == "transfer" and action.action_id in merged:
            first = merged[action.action_id]
            merged[action.action_id] = replace(
                first,
                amount=first.amount + action.amount,
                usd_value=first.usd_value + action.usd_value,
                reason=f"{first.reason}; {action.reason}",
            )
        else:
            merged[action.action_id] = action
    return tuple(sorted(merged.values(), key=lambda a: rank[a.kind]))
