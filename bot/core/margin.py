"""How much inverse short a coin-margined wallet can carry, and what a short requires. Pure.

Reference: hedging-math.md §1 and §6, extended to cross margin. Every inverse contract settles in
its base coin, so one wallet of coin C backs every inverse short on C, and all of them share C's
mark price P. Q is the total short face (USD), E the wallet equity (balance + unrealized PnL,
coin), m the maintenance rate, d the liquidation distance to keep (0.5: the price may rise 50 %).

- **Liquidation buffer (cross).** After a rise to X = P·(1 + d) the equity E + Q·(1/X − 1/P)
  must still cover maintenance, m·Q/P0 on the entry basis or m·Q/X on the mark basis. Taking the
  larger (m·Q/min(P0, P): adding at P never raises it, since the new entry lies between P0 and P
  and X > P), the wallet must hold E ≥ Q·k with k = 1/P − 1/X + m/min(P0, P) coin per USD.
  At 1x with the coin itself as collateral (E = Q/P) this always holds: unreachable, as §6 says.
- **Initial margin at placement** (the exchange's own check): available = balance + unrealized
  loss − initial margin held must cover the increase's ΔQ/(P·L) plus its fee.
- **Fees.** Each increase pays f·ΔQ/P coin out of the equity.

Isolated mode: each position is backed by its own initial margin, so its liquidation distance is
fixed by the leverage (§6) and the wallet only has to pay initial margin and fee.

Linear contracts (settled in a stablecoin) are not sized here: their margin is not the coin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from bot.core.types import ZERO, MarginMode, MarginShortfall, Snapshot

ONE = Decimal(1)
# A gap this small (division noise of the capacity) is no shortfall: the fee reserved for each
# increase (``MarginTerms.fee_rate``, above any venue's taker fee) leaves far more slack.
SHORTFALL_NOISE_USD = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class MarginTerms:
    """What sizing to margin assumes. Fractions are of value or of the mark price."""

    leverage: Decimal  # initial margin = value / leverage
    margin_mode: MarginMode
    maintenance_rate: Decimal  # m, fraction of value
    min_distance: Decimal  # d: keep liquidation at least this far above the mark (0.5 = +50 %)
    fee_rate: Decimal  # f, reserved per increase, fraction of value


@dataclass(frozen=True, slots=True)
class CoinWallet:
    """One coin-margined wallet and the inverse shorts it backs (all on that coin).

    ``short_face``: USD face of every inverse short on the coin; ``entry``: the lowest entry
    price among them (None: no short); ``initial_margin``: coin held by the open positions
    (value at entry / leverage).
    """

    coin: str
    price: Decimal  # mark, USD per coin
    balance: Decimal  # coin
    unrealized_pnl: Decimal  # coin, every position settled in the coin
    short_face: Decimal  # USD
    entry: Decimal | None
    initial_margin: Decimal  # coin

    @property
    def equity(self) -> Decimal:
        """Balance + unrealized PnL, coin."""
        return self.balance + self.unrealized_pnl

    @property
    def available(self) -> Decimal:
        """What the exchange lets new orders use: balance − initial margin + unrealized loss."""
        return self.balance - self.initial_margin + min(self.unrealized_pnl, ZERO)


def buffer_per_usd(wallet: CoinWallet, terms: MarginTerms, distance: Decimal) -> Decimal:
    """k: coin of equity each USD of short face needs to survive a rise of ``distance``."""
    price = wallet.price
    base = price if wallet.entry is None else min(wallet.entry, price)
    return ONE / price - ONE / (price * (ONE + distance)) + terms.maintenance_rate / base


def required_equity(
    wallet: CoinWallet, terms: MarginTerms, face_usd: Decimal, distance: Decimal | None = None
) -> Decimal:
    """Coin of equity a total short of ``face_usd`` needs at ``distance`` (default the terms').

    Cross: the liquidation buffer (module docstring). Isolated: the initial margin at entry.
    """
    if face_usd <= 0:
        return ZERO
    if terms.margin_mode == "isolated":
        return face_usd / (wallet.price * terms.leverage)
    d = terms.min_distance if distance is None else distance
    return face_usd * buffer_per_usd(wallet, terms, d)


def carry_capacity(wallet: CoinWallet, terms: MarginTerms) -> Decimal:
    """Largest total short face (USD, >= 0) the wallet can carry under ``terms``.

    At or above the current short: both the liquidation buffer (cross only) and the initial
    margin of the increase, fees paid. Below it (the wallet cannot carry what is held): the
    buffer alone, with the trim's fee paid; a trim needs no initial margin.
    """
    price, fee = wallet.price, terms.fee_rate
    held = wallet.short_face
    fee_per_usd = fee / price
    im_per_usd = ONE / (price * terms.leverage) + fee_per_usd
    if terms.margin_mode == "isolated":
        room = wallet.available
        return held + room / im_per_usd if room > 0 else held
    k = buffer_per_usd(wallet, terms, terms.min_distance)
    equity = wallet.equity
    if equity <= 0:
        return ZERO
    if equity >= held * k:
        # E >= held·k makes this >= held: the buffer never asks for a trim here.
        by_buffer = (equity + fee_per_usd * held) / (k + fee_per_usd)
        room = wallet.available
        by_initial = held + room / im_per_usd if room > 0 else held
        return min(by_buffer, by_initial)
    if k <= fee_per_usd:  # cannot happen for sane terms; never divide by a non-positive
        return ZERO
    return max((equity - fee_per_usd * held) / (k - fee_per_usd), ZERO)


def coins_missing(wallet: CoinWallet, terms: MarginTerms, target_face: Decimal) -> Decimal:
    """Coin the wallet lacks to carry ``target_face`` USD of short (0 when it can)."""
    price, fee = wallet.price, terms.fee_rate
    increase = max(target_face - wallet.short_face, ZERO)
    fee_coin = increase * fee / price
    by_initial = increase / (price * terms.leverage) + fee_coin - max(wallet.available, ZERO)
    if terms.margin_mode == "isolated":
        return max(by_initial, ZERO)
    by_buffer = required_equity(wallet, terms, target_face) + fee_coin - wallet.equity
    if increase == 0:
        by_initial = ZERO
    return max(by_buffer, by_initial, ZERO)


def coin_wallets(snapshot: Snapshot, leverage: Decimal) -> dict[str, CoinWallet]:
    """A ``CoinWallet`` per coin that has a margin wallet or an inverse position, from the
    snapshot (positions' own leverage where reported, else ``leverage``). Coins without a
    price are left out: nothing can be sized on them."""
    faces: dict[str, Decimal] = {}
    entries: dict[str, Decimal] = {}
    margins: dict[str, Decimal] = {}
    for symbol, position in snapshot.positions.items():
        market = snapshot.markets.get(symbol)
        if market is None or not market.is_inverse or position.contracts == 0:
            continue
        coin = market.settle
        face = abs(position.contracts) * market.contract_size
        if position.entry_price > 0:
            lev = position.leverage or leverage
            margins[coin] = margins.get(coin, ZERO) + face / (position.entry_price * lev)
        if position.contracts < 0:
            faces[coin] = faces.get(coin, ZERO) + face
            if position.entry_price > 0:
                known = entries.get(coin)
                entries[coin] = (
                    position.entry_price if known is None else min(known, position.entry_price)
                )
    wallets: dict[str, CoinWallet] = {}
    for coin in sorted(set(snapshot.margin) | set(faces) | set(margins)):
        price = snapshot.prices.get(coin)
        if price is None or price <= 0:
            continue
        wallet = snapshot.margin.get(coin)
        wallets[coin] = CoinWallet(
            coin=coin,
            price=price,
            balance=wallet.balance if wallet is not None else ZERO,
            unrealized_pnl=wallet.unrealized_pnl if wallet is not None else ZERO,
            short_face=faces.get(coin, ZERO),
            entry=entries.get(coin),
            initial_margin=margins.get(coin, ZERO),
        )
    return wallets


@dataclass(frozen=True, slots=True)
class InstrumentMargin:
    """The margin behind one inverse hedge instrument, for people and alerts.

    Coin amounts are of ``coin`` (the instrument's settle coin, whose wallet backs every short
    on the coin): ``required`` is the equity the coin's current shorts need at the minimum
    liquidation distance (cross) or their initial margin (isolated). ``shortfall_usd`` and
    ``coins_missing`` come from the plan: hedge the wallet cannot carry, and what it lacks.
    """

    instrument: str
    coin: str
    balance: Decimal
    equity: Decimal
    required: Decimal
    short_usd: Decimal  # every inverse short on the coin, USD face
    shortfall_usd: Decimal = ZERO
    coins_missing: Decimal = ZERO


def instrument_margins(
    snapshot: Snapshot,
    instruments: Sequence[str],
    terms: MarginTerms,
    shortfalls: Sequence[MarginShortfall] = (),
) -> tuple[InstrumentMargin, ...]:
    """An ``InstrumentMargin`` per inverse instrument of ``instruments`` with a priced coin."""
    wallets = coin_wallets(snapshot, terms.leverage)
    by_symbol = {s.instrument: s for s in shortfalls}
    views: list[InstrumentMargin] = []
    for symbol in instruments:
        market = snapshot.markets.get(symbol)
        if market is None or not market.is_inverse:
            continue
        wallet = wallets.get(market.settle)
        if wallet is None:
            price = snapshot.prices.get(market.settle)
            if price is None or price <= 0:
                continue
            wallet = CoinWallet(market.settle, price, ZERO, ZERO, ZERO, None, ZERO)
        shortfall = by_symbol.get(symbol)
        views.append(
            InstrumentMargin(
                instrument=symbol,
                coin=market.settle,
                balance=wallet.balance,
                equity=wallet.equity,
                required=required_equity(wallet, terms, wallet.short_face),
                short_usd=wallet.short_face,
                shortfall_usd=shortfall.short_usd if shortfall else ZERO,
                coins_missing=shortfall.coins_missing if shortfall else ZERO,
            )
        )
    return tuple(views)


class MarginCaps(NamedTuple):
    """What the margin wallets allow this plan.

    ``scales``: per instrument whose coin cannot carry its targets, the factor (< 1) they are
    scaled by; ``shortfalls``: those gaps; ``limits``: per inverse instrument with a target, the
    most USD of short it may hold (its target's share of its coin's capacity), which bounds
    what owners keeping their part (``bot.core.planner``) may add up to.
    """

    scales: dict[str, Decimal]
    shortfalls: tuple[MarginShortfall, ...]
    limits: dict[str, Decimal]


def margin_caps(
    totals: Mapping[str, Decimal], snapshot: Snapshot, terms: MarginTerms
) -> MarginCaps:
    """Scale per instrument so that the inverse targets on each coin fit what its margin wallet
    can carry, the shortfalls where they do not, and every instrument's limit. Pure."""
    wallets = coin_wallets(snapshot, terms.leverage)
    by_coin: dict[str, list[str]] = {}
    for symbol in sorted(totals):
        market = snapshot.markets.get(symbol)
        if market is not None and market.is_inverse and market.active:
            by_coin.setdefault(market.settle, []).append(symbol)
    caps = MarginCaps({}, (), {})
    shortfalls: list[MarginShortfall] = []
    for coin, symbols in sorted(by_coin.items()):
        wallet = wallets.get(coin) or _empty_wallet(coin, snapshot)
        if wallet is None:
            continue  # no price: the instruments cannot be valued and get no order anyway
        wanted = sum((max(totals[s], ZERO) for s in symbols), ZERO)
        if wanted <= 0:
            continue
        capacity = carry_capacity(wallet, terms)
        share = capacity / wanted
        for symbol in symbols:
            caps.limits[symbol] = max(totals[symbol], ZERO) * share
        if wanted - capacity < SHORTFALL_NOISE_USD:
            continue
        missing = coins_missing(wallet, terms, wanted)
        for symbol in symbols:
            target = max(totals[symbol], ZERO)
            if target > 0:
                caps.scales[symbol] = share
                shortfalls.append(MarginShortfall(symbol, coin, target, target * share, missing))
    return caps._replace(shortfalls=tuple(shortfalls))


def _empty_wallet(coin: str, snapshot: Snapshot) -> CoinWallet | None:
    price = snapshot.prices.get(coin)
    if price is None or price <= 0:
        return None
    return CoinWallet(coin, price, ZERO, ZERO, ZERO, None, ZERO)
