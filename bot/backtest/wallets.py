"""Float figures of the coin-margined wallets: the replay's margin pre-checks and statistics.

``bot.core.margin`` sizes shorts in Decimal from a ``CoinWallet`` (balance, unrealized PnL,
short face, lowest short entry, initial margin). Between two reads of the engine only the
price moves, and the unrealized PnL of inverse positions is ``a/P − b`` (``a`` = Σ ±face,
``b`` = Σ ±face/entry, + for shorts), so a ``WalletState`` per coin holds what is fixed and a
tick costs a few float operations per coin.

``MarginCheck`` answers, in float with a relative margin of 1e-9 (float arithmetic is good to
about 1e-15 here), the two questions that let a replay tick be skipped:

- does every coin's wallet *clearly* carry its coin's targets (``carry_capacity``), so
  ``bot.core.margin.margin_caps`` scales nothing? When it cannot tell, it answers with
  ``margin_caps`` itself (exact: its ``MarginCaps``);
- is the collateral policy *clearly* idle (``bot.core.collateral_policy.plan_collateral``:
  no coin below the minimum distance, and none with a rule of its own above the release
  distance: a coin held USD-neutral is never released)? When it cannot tell, the tick goes to
  ``decide()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import NamedTuple

from bot.core.collateral_policy import CollateralSettings
from bot.core.margin import MarginCaps, MarginTerms, margin_caps
from bot.core.types import (
    CollateralUsage,
    MarginWallet,
    Market,
    Position,
    Snapshot,
)

SLACK = 1e-9  # relative margin of every float test
ZERO = Decimal(0)
QUANTUM = Decimal("1e-8")  # the policy moves whole multiples of this (coins)


class WalletState(NamedTuple):
    """One coin's wallet between two reads (floats; coin unless stated).

    ``face``: USD face of the inverse shorts on the coin (``bot.core.margin.coin_wallets``:
    the reported positions); ``entry``: their lowest entry (0: no short); ``initial``: initial
    margin of those positions; ``pnl_a``/``pnl_b``: unrealized PnL = pnl_a / P − pnl_b over
    every open position settled in the coin; ``size``: a magnitude for error bounds;
    ``exact_only``: a position the float terms do not describe (checks then defer).

    A tuple of floats, so the garbage collector stops tracking it: a replay records one per
    coin at every change of the account, and tracked objects slow every full collection."""

    coin: str
    balance: float
    face: float
    entry: float
    initial: float
    pnl_a: float
    pnl_b: float
    size: float
    exact_only: bool = False

    def upnl(self, price: float) -> float:
        return self.pnl_a / price - self.pnl_b

    def equity(self, price: float) -> float:
        return self.balance + self.pnl_a / price - self.pnl_b


def wallet_states(
    margin: Mapping[str, MarginWallet],
    positions: Iterable[Position],
    open_positions: Iterable[Position],
    markets: Mapping[str, Market],
    leverage: Decimal,
) -> dict[str, WalletState]:
    """``WalletState`` per coin with a wallet or a reported inverse position (``positions``:
    the reported ones, as ``coin_wallets`` reads them; ``open_positions``: every open one,
    whose PnL the wallet's equity counts)."""
    faces: dict[str, float] = {}
    entries: dict[str, float] = {}
    initial: dict[str, float] = {}
    for position in positions:  # bot.core.margin.coin_wallets, the same sums (in float)
        market = markets.get(position.symbol)
        if market is None or not market.is_inverse or position.contracts == 0:
            continue
        coin = market.settle
        face = float(abs(position.contracts) * market.contract_size)
        entry = float(position.entry_price)
        if entry > 0:
            lev = float(position.leverage or leverage)
            initial[coin] = initial.get(coin, 0.0) + face / (entry * lev)
        if position.contracts < 0:
            faces[coin] = faces.get(coin, 0.0) + face
            if entry > 0:
                known = entries.get(coin)
                entries[coin] = entry if known is None else min(known, entry)
    pnl_a: dict[str, float] = {}
    pnl_b: dict[str, float] = {}
    odd: set[str] = set()
    for position in open_positions:
        market = markets.get(position.symbol)
        if market is None or position.contracts == 0:
            continue
        coin = market.settle
        if not market.is_inverse or position.entry_price <= 0:
            odd.add(coin)
            continue
        face_f = float(abs(position.contracts) * market.contract_size)
        sign = 1.0 if position.contracts < 0 else -1.0
        pnl_a[coin] = pnl_a.get(coin, 0.0) + sign * face_f
        pnl_b[coin] = pnl_b.get(coin, 0.0) + sign * face_f / float(position.entry_price)
    states: dict[str, WalletState] = {}
    for coin in sorted(set(margin) | set(faces) | set(initial)):
        wallet = margin.get(coin)
        balance = float(wallet.balance) if wallet is not None else 0.0
        b = pnl_b.get(coin, 0.0)
        im = initial.get(coin, 0.0)
        states[coin] = WalletState(
            coin=coin,
            balance=balance,
            face=faces.get(coin, 0.0),
            entry=entries.get(coin, 0.0),
            initial=im,
            pnl_a=pnl_a.get(coin, 0.0),
            pnl_b=b,
            size=abs(balance) + abs(b) + im,
            exact_only=coin in odd,
        )
    return states


def snapshot_states(snapshot: Snapshot, leverage: Decimal) -> dict[str, WalletState]:
    """``wallet_states`` of a snapshot: the unrealized PnL as the wallets report it (valid at
    the snapshot's prices only: ``pnl_a`` 0, ``pnl_b`` = −PnL)."""
    states = wallet_states(
        snapshot.margin, snapshot.positions.values(), (), snapshot.markets, leverage
    )
    out: dict[str, WalletState] = {}
    for coin, state in states.items():
        wallet = snapshot.margin.get(coin)
        upnl = float(wallet.unrealized_pnl) if wallet is not None else 0.0
        out[coin] = WalletState(
            coin,
            state.balance,
            state.face,
            state.entry,
            state.initial,
            0.0,
            -upnl,
            state.size + abs(upnl),
        )
    return out


class MarginCheck:
    """The float tests of the module docstring, for one set of terms and settings."""

    def __init__(self, terms: MarginTerms, collateral: CollateralSettings | None) -> None:
        self.terms = terms
        self.collateral = collateral
        self.cross = terms.margin_mode == "cross"
        self.leverage = float(terms.leverage)
        self.maintenance = float(terms.maintenance_rate)
        self.fee = float(terms.fee_rate)
        # 1 − 1/(1 + d): the part of 1/P a rise of d takes off a short's coin value
        self.rise = 1.0 - 1.0 / (1.0 + float(terms.min_distance))
        # how much an error in the wallet's coin amounts can move the capacity (USD per coin
        # per USD of price): 1/k at most 1/(rise + m) × P, the initial margin at most L × P
        self.amplification = max(self.leverage, 1.0 / (self.rise + self.maintenance)) * 2.0
        self.rise_release = self.rise
        if collateral is not None:
            self.rise_release = 1.0 - 1.0 / (1.0 + float(collateral.release_distance))

    def buffer(self, state: WalletState | None, price: float, rise: float) -> float:
        """k of ``bot.core.margin.buffer_per_usd`` (coin per USD of short face)."""
        entry = price if state is None or not state.entry else min(state.entry, price)
        return rise / price + self.maintenance / entry

    def capacity(self, state: WalletState | None, price: float) -> float:
        """``bot.core.margin.carry_capacity`` in float (USD)."""
        if state is None:
            return 0.0
        return wallet_capacity(
            state, price, self.leverage, self.fee, self.maintenance, self.rise, self.cross
        )

    def capped(
        self,
        totals: Mapping[str, Decimal],
        snapshot: Snapshot,
        states: Mapping[str, WalletState],
        prices: Mapping[str, float],
    ) -> MarginCaps | None:
        """None when no coin's targets in ``totals`` (``aggregate_targets``) can be scaled;
        otherwise ``margin_caps`` itself."""
        wanted: dict[str, float] = {}
        markets = snapshot.markets
        for symbol, total in totals.items():
            market = markets.get(symbol)
            if market is not None and market.is_inverse and market.active and total > 0:
                wanted[market.settle] = wanted.get(market.settle, 0.0) + float(total)
        return self.capped_wanted(wanted, totals, snapshot, states, prices)

    def capped_wanted(
        self,
        wanted: Mapping[str, float],
        totals: Mapping[str, Decimal],
        snapshot: Snapshot,
        states: Mapping[str, WalletState],
        prices: Mapping[str, float],
    ) -> MarginCaps | None:
        """``capped`` given each coin's wanted short (the positive targets on its active
        inverse instruments, float)."""
        leverage, fee, maintenance, rise, cross = (
            self.leverage,
            self.fee,
            self.maintenance,
            self.rise,
            self.cross,
        )
        amplification = self.amplification
        for coin, usd in wanted.items():
            price = prices.get(coin)
            if price is None or price <= 0:
                continue  # margin_caps skips a coin without a price
            if usd <= 0:
                continue
            state = states.get(coin)
            if state is None or state.exact_only:
                return margin_caps(totals, snapshot, self.terms)
            tol = SLACK * (state.size * price * amplification + state.face + usd) + 1e-6
            capacity = wallet_capacity(state, price, leverage, fee, maintenance, rise, cross)
            if not usd + tol < capacity:  # not clearly carried: margin_caps decides
                return margin_caps(totals, snapshot, self.terms)
        return None

    def collateral_idle(
        self,
        by_coin: Mapping[str, tuple[float, tuple[str, ...]]],
        states: Mapping[str, WalletState],
        prices: Mapping[str, float],
        spot: Mapping[str, Decimal],
        exact_prices: Mapping[str, Decimal],
        usage: CollateralUsage,
        neutral: frozenset[str] = frozenset(),
    ) -> bool:
        """Whether ``plan_collateral`` certainly moves nothing. ``by_coin``: per margin coin,
        the sum of the positive targets on its inverse instruments (float) and the other
        assets among them (the proxies a conversion may sell); ``spot``: the spot wallet;
        ``exact_prices``: the snapshot's prices (USD per coin); ``usage``: what the daily caps
        have counted; ``neutral``: coins known to be held USD-neutral (a subset of the
        policy's ``neutral_coins``: a coin left out is only checked for a release it may not
        get).

        Per coin: a top-up is due below the minimum distance (or the initial margin), a
        release above the release distance, but only when not a top-up and never for a
        neutral coin (its surplus stays where it is hedged). Nothing moves when
        the caps leave less than 1e-8 coin to transfer (``collateral_math.Budget.
        transferable``; a conversion receives at most that much, and moves nothing below it),
        nor on a due top-up with less than 1e-8 of the coin in spot and no conversion
        possible."""
        settings = self.collateral
        if settings is None:
            return True
        transfer_left = max(settings.max_transfer_usd - usage.transferred_usd, ZERO)
        convert_left = settings.max_convert_usd - usage.converted_usd
        for coin, (target, proxies) in by_coin.items():
            price = prices.get(coin)
            if price is None or price <= 0 or target <= 0:
                continue
            transferable = transfer_left / exact_prices[coin]  # Budget.transferable
            cap = settings.max_transfer_coins.get(coin)
            if cap is not None:
                used = usage.transferred_coins.get(coin, ZERO)
                transferable = min(transferable, max(cap - used, ZERO))
            if transferable < QUANTUM:
                continue  # no transfer, so no top-up, release or conversion
            top_up, release = self._due(states.get(coin), price, target, coin in neutral)
            if top_up is True or top_up is None:
                can_top_up = spot.get(coin, ZERO) >= QUANTUM or (
                    settings.convert
                    and convert_left > 0
                    and any(spot.get(asset, ZERO) >= QUANTUM for asset in proxies)
                )
                if can_top_up:
                    return False
                if top_up is True:
                    continue  # no release when a top-up is due
            if release is not False:
                return False
        return True

    def _due(
        self, state: WalletState | None, price: float, target: float, neutral: bool
    ) -> tuple[bool | None, bool | None]:
        """(top-up due, release due: a surplus above the release distance on a coin that is
        not ``neutral``): True, False, or None when the float figures cannot tell."""
        if state is None:  # an empty wallet: any target needs a top-up
            return True, False
        if state.exact_only:
            return None, None
        fee = self.fee / price
        per_usd = 1.0 / (price * self.leverage) + fee
        upnl = state.upnl(price)
        available = state.balance - state.initial + min(upnl, 0.0)
        equity = state.balance + upnl
        tol = SLACK * (target * per_usd + state.size + state.face * per_usd) + 1e-12
        lacking = [target * per_usd - available - state.face * per_usd]  # initial margin
        release: bool | None = False
        if self.cross:
            low = target * (self.buffer(state, price, self.rise) + fee)
            high = target * (self.buffer(state, price, self.rise_release) + fee)
            tol = max(tol, SLACK * (low + state.size) + 1e-12)
            lacking.append(low - equity)
            if not neutral:
                release = _sign(equity - high, tol)
        top_up = _sign(max(lacking), tol)
        return top_up, release


def wallet_capacity(
    state: WalletState,
    price: float,
    leverage: float,
    fee_rate: float,
    maintenance: float,
    rise: float,
    cross: bool,
) -> float:
    """``bot.core.margin.carry_capacity`` in float (USD), the same branches."""
    fee = fee_rate / price
    per_usd = 1.0 / (price * leverage) + fee
    held = state.face
    upnl = state.pnl_a / price - state.pnl_b
    room = state.balance - state.initial + (upnl if upnl < 0.0 else 0.0)
    by_initial = held + room / per_usd if room > 0.0 else held
    if not cross:
        return by_initial
    entry = state.entry
    k = rise / price + maintenance / (entry if 0.0 < entry < price else price)
    equity = state.balance + upnl
    if equity <= 0.0:
        return 0.0
    if equity >= held * k:
        by_buffer = (equity + fee * held) / (k + fee)
        return by_buffer if by_buffer < by_initial else by_initial
    if k <= fee:
        return 0.0
    return max((equity - fee * held) / (k - fee), 0.0)


def _sign(value: float, tol: float) -> bool | None:
    """value > 0 (True), <= 0 (False), or too close to tell (None)."""
    if value > tol:
        return True
    if value < -tol:
        return False
    return None
