"""The skip-ahead's test of one tick (``bot.backtest.skip``): ``QuietPlan.quiet``, made by
``QuietWindow.plan`` from the account in plain floats, and the collateral policy's part of it
(``IdleCheck``). Every predicted figure is widened by ``ERROR`` (far above float rounding) and
every test kept ``MARGIN`` inside its edge, so a tick that passes would be judged quiet by the
full check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from bot.backtest.skip_terms import Owner, Terms
from bot.backtest.wallets import SLACK, MarginCheck, WalletState, wallet_capacity
from bot.core.types import Snapshot

if TYPE_CHECKING:
    from bot.backtest.runner import Replay

ERROR = 1e-7  # relative widening of every predicted figure (float rounding is ~1e-15)
MARGIN = 1e-6  # relative margin kept on each test beyond the widened figures


# per owner of an instrument: its asset's prices, constant factor, or the lowest and highest
# factor per tick (a proxy re-estimated at every tick), its band (or its floor per tick), coin
# amount, and the (base prices, face, 1/entry) of the positions settled in the asset
OwnerTerms = tuple[
    list[float],
    float,
    list[float] | None,
    list[float] | None,
    float,
    list[float] | None,
    float,
    tuple[tuple[list[float], float, float], ...],
]
# per instrument: USD per contract, slack, signed contracts, margin coin (index), owners
InstrumentTerms = tuple[float, float, float, int, tuple[OwnerTerms, ...]]


class MadeFrom(NamedTuple):
    """What ``QuietWindow.renew`` reuses of a plan, and what must not have changed since."""

    recipe: tuple[tuple[Owner, ...], ...]  # each instrument's owners, in ``instruments`` order
    coins: tuple[str, ...]  # the margin coins, in ``coins`` order
    valued: object  # the replay's valued coins then (the same object while unchanged)
    positions_read: int  # the reader's count of position reads then


class IdleCheck:
    """The collateral policy's test at a tick inside a window (``MarginCheck.collateral_idle``,
    as ``bot.backtest.decision`` applies it): idle with every margin coin's wanted short at
    the low end of its range and at the high end (a top-up grows more due with the short, a
    release less), at the tick's prices and the caps' usage then."""

    __slots__ = ("_check", "_coins", "_neutral", "_proxies", "_replay", "_spot", "_states")

    def __init__(
        self,
        replay: Replay,
        check: MarginCheck,
        margined: tuple[tuple[WalletState, list[float]], ...],
        coins: Mapping[str, int],
        proxies: Mapping[str, set[str]],
        snapshot: Snapshot,
        terms: Terms,
    ) -> None:
        self._replay = replay
        self._check = check
        self._coins = tuple(
            (coin, margined[i][1], tuple(sorted(proxies.get(coin, ()))))
            for coin, i in coins.items()
        )
        self._states = {coin: margined[i][0] for coin, i in coins.items()}
        self._spot = snapshot.spot
        markets = snapshot.markets
        self._neutral = frozenset(
            owner.asset
            for owner in terms.owners
            if owner.collateral
            and (market := markets.get(owner.symbol)) is not None
            and market.is_inverse
            and market.settle == owner.asset
        )

    def __call__(self, tick: int, low: list[float], high: list[float]) -> bool:
        replay = self._replay
        price = replay.sim.price
        floats = {coin: prices[tick] for coin, prices, _ in self._coins}
        exact = {coin: price(coin) for coin, _, _ in self._coins}
        usage = replay.usage.usage(replay.start_s + tick * replay.step_s)
        check = self._check
        for wanted in (high, low):
            by_coin = {
                coin: (usd, users)
                for (coin, _, users), usd in zip(self._coins, wanted, strict=True)
                if usd > 0
            }
            if not check.collateral_idle(
                by_coin, self._states, floats, self._spot, exact, usage, self._neutral
            ):
                return False
        return True


class QuietPlan:
    """``QuietWindow.plan``'s test, one tick at a time (every figure plain float)."""

    __slots__ = ("check", "coins", "idle", "instruments", "made_from", "terms", "until")

    def __init__(
        self,
        instruments: tuple[InstrumentTerms, ...],
        coins: tuple[tuple[WalletState, list[float]], ...],
        check: MarginCheck,
        terms: Terms,
        idle: IdleCheck | None = None,
    ) -> None:
        self.instruments = instruments
        self.coins = coins
        self.check = check
        self.terms = terms  # what the plan was made of (a renewed plan starts from them)
        self.until = terms.until
        self.idle = idle
        self.made_from: MadeFrom | None = None

    def quiet(self, tick: int) -> bool:
        """Whether tick ``tick`` is certainly quiet, the account unchanged since the plan: every
        instrument's target (its owners' sum) clearly inside its band (``BandPass``'s float
        bound, the allowance the owners' bands times their targets), every margin coin's
        wanted short clearly carried (``MarginCheck.capped_wanted``) and the collateral
        policy idle, each figure widened by ``ERROR`` and each test kept ``MARGIN`` away from
        its edge. A factor or band of NaN (not certain there) fails."""
        if tick >= self.until:
            return False
        wanted = [0.0] * len(self.coins)
        least = [0.0] * len(self.coins)
        for unit, slack, signed, coin, owners in self.instruments:
            low = high = allowance = 0.0
            for prices, factor, lows, highs, band, bands, amount, positions in owners:
                if lows is None or highs is None:
                    low_factor = high_factor = factor
                else:
                    low_factor, high_factor = lows[tick], highs[tick]
                price = prices[tick]
                upnl = size = 0.0
                for base_prices, face, inverse_entry in positions:
                    base = base_prices[tick]
                    upnl += face * (1.0 / base - inverse_entry)
                    size += face / base + face * inverse_entry
                value = (amount + upnl) * price
                slop = ERROR * (abs(amount) + size) * price
                floor_usd = low_factor * (value - slop) - 1e-9
                if not floor_usd > 0:
                    return False
                low += floor_usd
                high += high_factor * (value + slop) + 1e-9
                allowance += (band if bands is None else bands[tick]) * floor_usd
            spread = high - low  # the width of the target's range
            worst = (abs(high / unit + signed) + spread / unit) * (1 + MARGIN) + slack
            if not worst * unit < allowance * (1 - MARGIN):
                return False
            wanted[coin] += high
            least[coin] += low
        c = self.check
        for (state, prices), usd in zip(self.coins, wanted, strict=True):
            price = prices[tick]
            tol = SLACK * (state.size * price * c.amplification + state.face + usd) + 1e-6
            capacity = wallet_capacity(
                state, price, c.leverage, c.fee, c.maintenance, c.rise, c.cross
            )
            if not (usd + 2 * tol) * (1 + MARGIN) + 1e-3 < capacity:
                return False
        return self.idle is None or self.idle(tick, least, wanted)
