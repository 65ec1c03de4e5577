"""Skip-ahead: ticks recorded without being judged, when their answer is certain.

After a tick the replay judged quiet, with ``owned`` unchanged and no shortfall, and whose
rules are steady (``bot.backtest.skip_terms``: each target ``factor × exposure`` until a known
tick, or per tick for a proxy re-estimated every hour, ``bot.backtest.beta_paths``), the only
inputs of the next ticks' checks that move while the account does not change (no order, no
settlement, no liquidation: ``Change`` "none") are the prices. Each target is then ``factor ×
(held + balance + upnl(P)) × P`` (a margin coin held USD-neutral: its wallet only) with
``upnl`` the inverse positions' ``face × (1/P_base − 1/entry)``; the planner's band test, the
margin capacity test (``MarginCheck.capped_wanted``) and the collateral policy's
(``MarginCheck.collateral_idle``) are functions of those prices alone. ``QuietWindow.plan``
turns the account into plain floats once; ``QuietPlan.quiet`` then tests a tick in a few float
operations per target, every figure widened by an error bound far above float rounding
(``ERROR``) and every test kept ``MARGIN`` inside its edge. A tick that passes would be judged
quiet by the full check, with the same ``owned`` and no shortfall, so the replay only records
it (``record_quiet``: the account value from the same Decimal PnL and float sums as
``SnapshotReader.account_value``, the rules' events). A tick after funding settlements only
reads the balances again and renews the plan from the same terms (``Replay._settled_quiet``);
any other tick goes through the full path, which makes a new plan when it finds the book quiet
and steady again.

Anything the bound does not describe gives no plan: a linear or entry-less position, a long, a
wallet the float terms cannot describe, an inactive or linear instrument, a valued coin without
a rule or a collateral target, a target at or below zero (``quiet`` answers False), a dated
market, volatility estimates, activation windows. ``BacktestOptions(skip_ahead=False)`` turns
it off; ``tests/backtest/test_skip_equivalence.py`` compares both field by field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from bot.backtest.band_parts import held_constants
from bot.backtest.beta_paths import BetaPaths, ProxyFactors, beta_paths, proxy_factors
from bot.backtest.history import History
from bot.backtest.skip_plan import IdleCheck, InstrumentTerms, MadeFrom, OwnerTerms, QuietPlan
from bot.backtest.skip_terms import Owner, Terms, steady_kind
from bot.backtest.wallets import MarginCheck, WalletState
from bot.core.no_trade import NoTradeTerms
from bot.core.types import Snapshot
from bot.sim.params import STABLECOINS
from bot.sim.series import Series
from strategies.beta import BetaRule
from strategies.requests import BetaRequest

if TYPE_CHECKING:
    from bot.backtest.runner import Replay
    from bot.backtest.snapshot import SnapshotReader

Floats = npt.NDArray[np.float64]
ZERO = Decimal(0)


def quiet_window(replay: Replay, enabled: bool) -> QuietWindow | None:
    """The replay's predictor, or None when it cannot apply (disabled, a rule whose answer can
    change with the time alone, a volatility estimate, a dated market, a collateral policy)."""
    if not enabled or replay._dated:
        return None
    if replay.estimates.vol_requests or not all(map(steady_kind, replay.rules)):
        return None
    feed = replay.market.feed
    return QuietWindow(
        {coin: feed.series(coin) for coin in feed.coins},
        replay.start_s,
        replay.step_s,
        replay.ticks_total,
        frozenset(rule.asset for rule in replay.rules),
        replay.margin_check,
        replay.estimates.history,
    )


class QuietWindow:
    """The coming prices of one replay's ticks (float, as ``float(feed price)``) and the test."""

    def __init__(
        self,
        series: Mapping[str, Series],
        start_s: int,
        step_s: int,
        ticks: int,
        ruled: frozenset[str],
        check: MarginCheck,
        history: History,
    ) -> None:
        self._series = series
        self.start_s = start_s
        self.step_s = step_s
        self.ticks = ticks
        self.ruled = ruled
        self.check = check
        self._history = history
        self._prices: dict[str, Floats] = {}
        self._lists: dict[str, list[float]] = {}
        self._paths: dict[tuple[str, str], BetaPaths | None] = {}
        self._factors: dict[tuple[int, str], ProxyFactors | None] = {}
        self.skipped = 0  # ticks recorded by ``record_quiet``
        self.settled = 0  # ticks after settlements found quiet by a renewed plan

    def times(self) -> npt.NDArray[np.int64]:
        """Epoch s of every tick of the run."""
        return self.start_s + self.step_s * np.arange(self.ticks, dtype=np.int64)

    def array(self, coin: str) -> Floats:
        """``coin``'s price at every tick of the run (NaN where the feed has none)."""
        known = self._prices.get(coin)
        if known is not None:
            return known
        s = self._series[coin]
        times = self.times()
        j = (times - s.opens[0]) // s.step - 1
        ok = (j >= 0) & (times <= s.end)
        closes = np.array([float(c) for c in s.close], dtype=np.float64)
        slots = np.array(s.slot, dtype=np.int64)
        out = np.full(self.ticks, np.nan)
        out[ok] = closes[slots[j[ok]]]
        self._prices[coin] = out
        return out

    def proxy_factors(
        self,
        rule: BetaRule,
        coin: str,
        requests: Sequence[BetaRequest],
        no_trade: NoTradeTerms | None,
    ) -> ProxyFactors | None:
        """``beta_paths.proxy_factors`` of ``rule`` holding ``coin``, over every tick of the
        run (computed once per rule and coin); ``requests``: its βs of the candidates whose
        contracts are listed. None when a β's paths cannot be computed."""
        key = (id(rule), coin)
        if key not in self._factors:
            paths = {request.hedge: self._beta_paths(request) for request in requests}
            known = {hedge: found for hedge, found in paths.items() if found is not None}
            complete = len(known) == len(paths) and coin in known
            self._factors[key] = proxy_factors(rule, coin, known, no_trade) if complete else None
        return self._factors[key]

    def _beta_paths(self, request: BetaRequest) -> BetaPaths | None:
        """``beta_paths`` of ``request`` over every tick of the run, computed once."""
        if request.key not in self._paths:
            self._paths[request.key] = beta_paths(self._history, request, self.times())
        return self._paths[request.key]

    def plan(
        self, replay: Replay, snapshot: Snapshot, states: Mapping[str, WalletState], terms: Terms
    ) -> QuietPlan | None:
        """The test of the ticks after a quiet one (judged with an unchanged ``owned`` and no
        shortfall, its rules steady: ``terms``) while the account does not change; None when
        the bound does not describe the account (module docstring)."""
        # a coin without a rule adds a collateral target once its margin holds some: only
        # one that already has it (an owner of the terms) is described
        held_neutral = {owner.asset for owner in terms.owners if owner.collateral}
        if any(
            c not in self.ruled and c not in STABLECOINS and c not in held_neutral
            for c in replay._valued
        ):
            return None
        reader = replay.reader
        positions = self._positions(reader)
        if positions is None:
            return None
        held, markets = reader.held, snapshot.markets
        grouped: dict[str, list[OwnerTerms]] = {}
        for owner in terms.owners:
            asset, varying = owner.asset, owner.varying
            amount = _amount(owner, snapshot)
            on_it = grouped.setdefault(owner.symbol, [])
            settled = tuple(positions.get(asset, ()))
            prices = self.prices(asset)
            if varying is not None:
                low, high, bands = varying.low, varying.high, varying.band
                on_it.append((prices, 0.0, low, high, owner.band, bands, amount, settled))
            elif owner.factor > 0:  # a target of exactly 0 adds nothing to its instrument's
                on_it.append((prices, owner.factor, None, None, owner.band, None, amount, settled))
        instruments: list[InstrumentTerms] = []
        coins: dict[str, int] = {}
        proxies: dict[str, set[str]] = {}
        recipe: list[tuple[Owner, ...]] = []
        for symbol, on_it in grouped.items():
            listed = markets.get(symbol)
            signed = held.get(symbol, ZERO)
            if listed is None or not listed.is_inverse or not listed.active or signed > 0:
                return None
            known = held_constants(symbol, listed, signed)
            coin = known[6]
            if not known[3] or coin is None or not on_it:
                return None
            index = coins.setdefault(coin, len(coins))
            instruments.append((known[3], known[4], known[5], index, tuple(on_it)))
            recipe.append(
                tuple(
                    o
                    for o in terms.owners
                    if o.symbol == symbol and (o.varying is not None or o.factor > 0)
                )
            )
            users = proxies.setdefault(coin, set())
            users.update(o.asset for o in terms.owners if o.symbol == symbol and o.asset != coin)
        margined = self._margined(coins, states)
        if margined is None:
            return None
        idle = None
        if self.check.collateral is not None:
            idle = IdleCheck(replay, self.check, margined, coins, proxies, snapshot, terms)
        plan = QuietPlan(tuple(instruments), margined, self.check, terms, idle)
        plan.made_from = MadeFrom(
            tuple(recipe), tuple(coins), replay._valued, reader.positions_read
        )
        return plan

    def renew(
        self,
        replay: Replay,
        plan: QuietPlan,
        snapshot: Snapshot,
        states: Mapping[str, WalletState],
        terms: Terms,
    ) -> QuietPlan | None:
        """``plan(replay, snapshot, states, terms)`` after funding settlements only, from
        ``plan`` (made before them): the same positions, owners and valued coins give the same
        instruments but for each owner's coin amount and each margin coin's wallet, so only
        those are read again. Anything else (a collateral policy, new owners, positions read
        again, other valued coins) makes the plan anew."""
        made_from = plan.made_from
        if (
            made_from is None
            or plan.idle is not None
            or terms.owners is not plan.terms.owners
            or made_from.valued is not replay._valued
            or made_from.positions_read != replay.reader.positions_read
        ):
            return self.plan(replay, snapshot, states, terms)
        margined = self._margined(made_from.coins, states)
        if margined is None:
            return None
        instruments = tuple(
            (
                unit,
                slack,
                signed,
                coin,
                tuple(
                    (prices, factor, lows, highs, band, bands, _amount(owner, snapshot), settled)
                    for (prices, factor, lows, highs, band, bands, _, settled), owner in zip(
                        on_it, owners, strict=True
                    )
                ),
            )
            for (unit, slack, signed, coin, on_it), owners in zip(
                plan.instruments, made_from.recipe, strict=True
            )
        )
        renewed = QuietPlan(instruments, margined, self.check, terms)
        renewed.made_from = made_from
        return renewed

    def _margined(
        self, coins: Iterable[str], states: Mapping[str, WalletState]
    ) -> tuple[tuple[WalletState, list[float]], ...] | None:
        """Each margin coin's wallet and prices, in ``coins``' order; None when a wallet is
        missing or only its exact test can judge it."""
        margined: list[tuple[WalletState, list[float]]] = []
        for coin in coins:
            state = states.get(coin)
            if state is None or state.exact_only or coin not in self._series:
                return None
            margined.append((state, self.prices(coin)))
        return tuple(margined)

    def _positions(
        self, reader: SnapshotReader
    ) -> dict[str, list[tuple[list[float], float, float]]] | None:
        """Per settle coin, the (base prices, face, 1/entry) of its open positions; None when
        one is long or has no PnL constants (the bound does not describe it)."""
        positions: dict[str, list[tuple[list[float], float, float]]] = {}
        for _, market, pos, face, inverse_entry in reader.open_terms:
            if face is None or pos.contracts > 0:
                return None
            term = (self.prices(market.base), float(face), float(inverse_entry))
            positions.setdefault(market.settle, []).append(term)
        return positions

    def prices(self, coin: str) -> list[float]:
        """``coin``'s price at every tick of the run (NaN where the feed has none)."""
        known = self._lists.get(coin)
        if known is None:
            known = self._lists[coin] = self.array(coin).tolist()
        return known


def _amount(owner: Owner, snapshot: Snapshot) -> float:
    """The coins ``owner``'s exposure counts (coin): its margin wallet's balance, and for a
    rule's exposure (not a margin coin held USD-neutral) its spot and static holdings too."""
    asset = owner.asset
    wallet = snapshot.margin.get(asset)
    amount = float(wallet.balance) if wallet is not None else 0.0
    if not owner.collateral:
        amount += float(snapshot.spot.get(asset, ZERO))
        amount += float(snapshot.static.get(asset, ZERO))
    return amount
