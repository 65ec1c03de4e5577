"""Skip-ahead for books of plain ratio rules: ticks recorded without being judged.

After a tick the replay judged quiet through ``Replay._plain_check`` (every rule a plain
``RatioRule`` on an instrument of its own), with ``owned`` unchanged and no shortfall, the only
inputs of the next ticks' checks that move while the account does not change (no order, no
settlement, no liquidation: ``Change`` "none") are the prices. Each rule's target is then
``ratio × (held + balance + upnl(P)) × P`` with ``upnl`` the inverse positions'
``face × (1/P_base − 1/entry)``; the planner's band test and the margin capacity test
(``MarginCheck.capped_wanted``) are functions of those prices alone. ``QuietWindow.plan`` turns
the account into plain floats once; ``QuietPlan.quiet`` then tests a tick in a few float
operations per rule, every figure widened by an error bound far above float rounding (``ERROR``)
and every test kept ``MARGIN`` inside its edge. A tick that passes would be judged quiet by the
full check, with the same ``owned`` and no shortfall, so the replay only records it
(``record_quiet``: the account value from the same Decimal PnL and float sums as
``SnapshotReader.account_value``); any other tick, and every tick at which the account changed,
goes through the full path, which makes a new plan when it finds the book quiet again.

Anything the bound does not describe gives no plan: a collateral policy, a linear or entry-less
position, a long, a wallet the float terms cannot describe, an inactive or linear instrument, a
valued coin without a rule (its collateral could add a target), a target at or below zero
(``quiet`` answers False), rules sharing an instrument, a dated market, β or volatility
estimates. ``BacktestOptions(skip_ahead=False)`` turns it off;
``tests/backtest/test_skip_equivalence.py`` compares both field by field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from bot.backtest.decision import held_constants
from bot.backtest.wallets import SLACK, MarginCheck, WalletState, wallet_capacity
from bot.core.types import Snapshot
from bot.sim.params import STABLECOINS
from bot.sim.series import Series

if TYPE_CHECKING:
    from bot.backtest.runner import Replay
    from bot.backtest.snapshot import SnapshotReader

Floats = npt.NDArray[np.float64]
ERROR = 1e-7  # relative widening of every predicted figure (float rounding is ~1e-15)
MARGIN = 1e-6  # relative margin kept on each test beyond the widened figures
ZERO = Decimal(0)
ONE = Decimal(1)


def quiet_window(replay: Replay, enabled: bool) -> QuietWindow | None:
    """The replay's predictor, or None when it cannot apply (disabled, a rule that is not
    plain, rules sharing an instrument, an instrument that can change, a dated market, a
    collateral policy)."""
    book = replay.book
    plain = book._plain
    if not enabled or plain is None or book.plain_owners is None:
        return None
    if replay._varying or replay._dated or replay.collateral is not None:
        return None
    feed = replay.market.feed
    settings = replay.settings
    band = settings.band if settings.band is not None else settings.no_trade.min_band
    return QuietWindow(
        {coin: feed.series(coin) for coin in feed.coins},
        replay.start_s,
        replay.step_s,
        replay.ticks_total,
        plain,
        replay.margin_check,
        band,
    )


def record_quiet(replay: Replay) -> None:
    """Record a tick inside the window as ``Replay._tick`` records a quiet plain tick: the
    account's value at the tick's prices, the shorts of the last read, in band, quiet, no
    shortfall (``owned`` and the rule states stay as they are)."""
    rec = replay.recording
    if replay._window is not None:
        replay._window.skipped += 1
    rec.times.append(replay.sim.now_ms // 1000)
    rec.hedged.append(quiet_value(replay.reader, replay.stable))
    rec.short_index.append(len(rec.shorts) - 1)
    rec.outside.append(False)
    rec.quiet.append(True)
    rec.shortfall.append(False)


def quiet_value(reader: SnapshotReader, stable: Mapping[str, float]) -> float:
    """``reader.account_value(stable)`` after a ``read`` with no change since the last one,
    without the read: the same Decimal PnL of each open position (all inverse, with an entry:
    ``QuietWindow.plan`` makes no plan otherwise) and the same float sums in the same order. The
    reader is left as it was: its next read reprices from the engine's positions anyway."""
    price = reader.sim.price
    floats = {coin: float(price(coin)) for coin in reader._priced_coins}
    upnl: dict[str, Decimal] = dict.fromkeys(reader._margin, ZERO)
    for _, market, pos, face, inverse_entry in reader._pnl_terms:
        if face is None:
            raise AssertionError("a window over a position without PnL constants")
        pnl = face * (ONE / price(market.base) - inverse_entry)
        if pos.contracts > 0:
            pnl = -pnl
        upnl[market.settle] += pnl
    total = 0.0
    for coin, amount in reader._coins_f:
        total += amount * (floats[coin] if coin in floats else reader._usd(coin, stable))
    for coin in reader._pnl_coins:
        value = upnl[coin]
        if value:
            total += float(value) * (floats[coin] if coin in floats else reader._usd(coin, stable))
    return total


class QuietWindow:
    """The coming prices of one replay's ticks (float, as ``float(feed price)``) and the test."""

    def __init__(
        self,
        series: Mapping[str, Series],
        start_s: int,
        step_s: int,
        ticks: int,
        plain: Sequence[tuple[str, Decimal, str]],
        check: MarginCheck,
        band: Decimal,
    ) -> None:
        self._series = series
        self.start_s = start_s
        self.step_s = step_s
        self.ticks = ticks
        self.plain = tuple((asset, float(ratio), symbol) for asset, ratio, symbol in plain)
        self.ruled = frozenset(asset for asset, _, _ in plain)
        self.check = check
        self.band = float(band)
        self._prices: dict[str, Floats] = {}
        self._lists: dict[str, list[float]] = {}
        self.skipped = 0  # ticks recorded by ``record_quiet``

    def array(self, coin: str) -> Floats:
        """``coin``'s price at every tick of the run (NaN where the feed has none)."""
        known = self._prices.get(coin)
        if known is not None:
            return known
        s = self._series[coin]
        times = self.start_s + self.step_s * np.arange(self.ticks, dtype=np.int64)
        j = (times - s.opens[0]) // s.step - 1
        ok = (j >= 0) & (times <= s.end)
        closes = np.array([float(c) for c in s.close], dtype=np.float64)
        slots = np.array(s.slot, dtype=np.int64)
        out = np.full(self.ticks, np.nan)
        out[ok] = closes[slots[j[ok]]]
        self._prices[coin] = out
        return out

    def plan(
        self, replay: Replay, snapshot: Snapshot, states: Mapping[str, WalletState]
    ) -> QuietPlan | None:
        """The test of the ticks after a quiet one (judged by the plain path with an unchanged
        ``owned`` and no shortfall) while the account does not change; None when the bound does
        not describe the account (module docstring)."""
        if self.check.collateral is not None:
            return None
        if any(c not in self.ruled and c not in STABLECOINS for c in replay._valued):
            return None
        reader = replay.reader
        positions: dict[str, list[tuple[list[float], float, float]]] = {}
        for _, market, pos, face, inverse_entry in reader.open_terms:
            if face is None or pos.contracts > 0:
                return None
            term = (self.prices(market.base), float(face), float(inverse_entry))
            positions.setdefault(market.settle, []).append(term)
        held, markets = reader.held, snapshot.markets
        rules: list[RuleTerms] = []
        coins: dict[str, int] = {}
        for asset, ratio, symbol in self.plain:
            listed = markets.get(symbol)
            signed = held.get(symbol, ZERO)
            if listed is None or not listed.is_inverse or not listed.active or signed > 0:
                return None
            known = held_constants(symbol, listed, signed)
            coin = known[6]
            if not known[3] or coin is None:
                return None
            wallet = snapshot.margin.get(asset)
            amount = (
                float(snapshot.spot.get(asset, ZERO))
                + float(snapshot.static.get(asset, ZERO))
                + (float(wallet.balance) if wallet is not None else 0.0)
            )
            index = coins.setdefault(coin, len(coins))
            settled = tuple(positions.get(asset, ()))
            rules.append(
                (self.prices(asset), ratio, amount, known[3], known[4], known[5], index, settled)
            )
        margined: list[tuple[WalletState, list[float]]] = []
        for coin in coins:
            state = states.get(coin)
            if state is None or state.exact_only or coin not in self._series:
                return None
            margined.append((state, self.prices(coin)))
        return QuietPlan(tuple(rules), tuple(margined), self.band, self.check)

    def prices(self, coin: str) -> list[float]:
        """``coin``'s price at every tick of the run (NaN where the feed has none)."""
        known = self._lists.get(coin)
        if known is None:
            known = self._lists[coin] = self.array(coin).tolist()
        return known


# per rule: prices, ratio, coin amount, USD per contract, slack, signed contracts, margin coin
# (index), and the (base prices, face, 1/entry) of the positions settled in the asset
RuleTerms = tuple[
    list[float],
    float,
    float,
    float,
    float,
    float,
    int,
    tuple[tuple[list[float], float, float], ...],
]


class QuietPlan:
    """``QuietWindow.plan``'s test, one tick at a time (every figure plain float)."""

    __slots__ = ("band", "check", "coins", "rules")

    def __init__(
        self,
        rules: tuple[RuleTerms, ...],
        coins: tuple[tuple[WalletState, list[float]], ...],
        band: float,
        check: MarginCheck,
    ) -> None:
        self.rules = rules
        self.coins = coins
        self.band = band
        self.check = check

    def quiet(self, tick: int) -> bool:
        """Whether tick ``tick`` is certainly quiet, the account unchanged since the plan: every
        rule's target clearly inside its band (``_Pass._one``'s float bound) and every margin
        coin's wanted short clearly carried (``MarginCheck.capped_wanted``), each figure
        widened by ``ERROR`` and each test kept ``MARGIN`` away from its edge."""
        band = self.band
        wanted = [0.0] * len(self.coins)
        for prices, ratio, amount, unit, slack, signed, coin, positions in self.rules:
            price = prices[tick]
            upnl = size = 0.0
            for base_prices, face, inverse_entry in positions:
                base = base_prices[tick]
                upnl += face * (1.0 / base - inverse_entry)
                size += face / base + face * inverse_entry
            target = ratio * (amount + upnl) * price
            error = ERROR * ratio * (abs(amount) + size) * price + 1e-9
            low, high = target - error, target + error
            if not low > 0:
                return False
            worst = (abs(high / unit + signed) + 2 * error / unit) * (1 + MARGIN) + slack
            if not worst * unit < band * low * (1 - MARGIN):
                return False
            wanted[coin] += high
        c = self.check
        for (state, prices), usd in zip(self.coins, wanted, strict=True):
            price = prices[tick]
            tol = SLACK * (state.size * price * c.amplification + state.face + usd) + 1e-6
            capacity = wallet_capacity(
                state, price, c.leverage, c.fee, c.maintenance, c.rise, c.cross
            )
            if not (usd + 2 * tol) * (1 + MARGIN) + 1e-3 < capacity:
                return False
        return True
