"""The arithmetic of the collateral policy: a coin wallet's state, what one unit of a move
changes, the fewest units that let the wallet carry its target, and the daily caps. Pure.

Both constraints of ``bot.core.margin`` are linear in the amount moved (a coin transferred, a
USD of a proxy asset converted), so the smallest amount that satisfies both is found in closed
form (``units_needed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from bot.core.margin import CoinWallet, MarginTerms, buffer_per_usd
from bot.core.types import ZERO, CollateralAction, CollateralUsage

if TYPE_CHECKING:
    from bot.core.collateral_policy import CollateralSettings

ONE = Decimal(1)
COIN_QUANTUM = Decimal("1e-8")  # spot and transfer amounts: 8 decimals, rounded down


@dataclass(frozen=True, slots=True)
class WalletState:
    """A coin's wallet as the plan sees it: target short (USD), equity and available (coin)."""

    target_usd: Decimal
    equity: Decimal
    available: Decimal


@dataclass(frozen=True, slots=True)
class UnitDelta:
    """What one unit of an action changes: target short (USD), equity and available (coin)."""

    target_usd: Decimal
    equity: Decimal
    available: Decimal


@dataclass(frozen=True, slots=True)
class Moves:
    """Actions planned for one coin, the wallet as they leave it, and why."""

    state: WalletState
    actions: tuple[CollateralAction, ...] = ()
    notes: tuple[str, ...] = ()


def transfer_delta(price: Decimal, neutral: bool) -> UnitDelta:
    """Per coin moved into margin: +1 coin equity and available; a neutral coin adds its value
    to the short it must carry."""
    return UnitDelta(price if neutral else ZERO, ONE, ONE)


def _constraints(
    state: WalletState, wallet: CoinWallet, terms: MarginTerms
) -> list[tuple[Decimal, Decimal, bool]]:
    """``(coin per USD of target, coin held, on equity?)``: each needs
    target × per_usd <= held. Initial margin: (T − short held)·(1/(P·L) + f/P) against the
    available balance; buffer (cross): T·(k + f/P) against the equity."""
    price = wallet.price
    fee = terms.fee_rate / price
    im = ONE / (price * terms.leverage) + fee
    rows = [(im, state.available + wallet.short_face * im, False)]
    if terms.margin_mode == "cross":
        k = buffer_per_usd(wallet, terms, terms.min_distance) + fee
        rows.append((k, state.equity, True))
    return rows


def units_needed(
    state: WalletState, delta: UnitDelta, wallet: CoinWallet, terms: MarginTerms
) -> Decimal:
    """Fewest units of ``delta`` (>= 0) after which ``state`` carries its target under
    ``terms``; ``Decimal('Infinity')`` when more units never help."""
    needed = ZERO
    for per_usd, held, on_equity in _constraints(state, wallet, terms):
        short = state.target_usd * per_usd - held
        if short <= 0:
            continue
        gain = (delta.equity if on_equity else delta.available) - delta.target_usd * per_usd
        if gain <= 0:
            return Decimal("Infinity")
        needed = max(needed, short / gain)
    return needed


def equity_surplus(state: WalletState, wallet: CoinWallet, terms: MarginTerms) -> Decimal:
    """Coin of equity above what the target needs at ``terms`` (buffer only; > 0: surplus)."""
    if state.target_usd <= 0 or terms.margin_mode != "cross":
        return ZERO
    k = buffer_per_usd(wallet, terms, terms.min_distance) + terms.fee_rate / wallet.price
    return state.equity - state.target_usd * k


class Budget:
    """What the daily caps still allow, spent as actions are planned."""

    def __init__(self, settings: CollateralSettings, usage: CollateralUsage) -> None:
        self.transfer_usd = settings.max_transfer_usd - usage.transferred_usd
        self.coins = {
            coin: cap - usage.transferred_coins.get(coin, ZERO)
            for coin, cap in settings.max_transfer_coins.items()
        }
        self.convert_usd = settings.max_convert_usd - usage.converted_usd

    def transferable(self, coin: str, price: Decimal) -> Decimal:
        """Coins the caps still let move."""
        room = max(self.transfer_usd, ZERO) / price
        if coin in self.coins:
            room = min(room, max(self.coins[coin], ZERO))
        return room

    def spend_transfer(self, coin: str, amount: Decimal, price: Decimal) -> None:
        self.transfer_usd -= amount * price
        if coin in self.coins:
            self.coins[coin] -= amount


def whole_coins(amount: Decimal) -> Decimal:
    return amount.quantize(COIN_QUANTUM, rounding=ROUND_DOWN) if amount > 0 else ZERO


def after_units(state: WalletState, delta: UnitDelta, units: Decimal) -> WalletState:
    return WalletState(
        state.target_usd + delta.target_usd * units,
        state.equity + delta.equity * units,
        state.available + delta.available * units,
    )
