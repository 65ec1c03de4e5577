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

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from bot.backtest.decision import held_constants
from bot.backtest.wallets import SLACK, MarginCheck, WalletState, wallet_capacity
from bot.core.no_trade import band_fraction
from bot.core.types import Exposure, HedgeTarget, Snapshot
from bot.sim.params import STABLECOINS
from bot.sim.series import Series, to_epoch
from strategies.base import HedgeRule
from strategies.beta import BetaRule
from strategies.book import BookResult
from strategies.ratio import RatioRule
from strategies.state import RuleState

if TYPE_CHECKING:
    from bot.backtest.runner import Replay
    from bot.backtest.snapshot import SnapshotReader

Floats = npt.NDArray[np.float64]
ERROR = 1e-7  # relative widening of every predicted figure (float rounding is ~1e-15)
MARGIN = 1e-6  # relative margin kept on each test beyond the widened figures
ZERO = Decimal(0)
ONE = Decimal(1)
SECOND = timedelta(seconds=1)
NO_STATE = RuleState()


def quiet_window(replay: Replay, enabled: bool) -> QuietWindow | None:
    """The replay's predictor, or None when it cannot apply (disabled, a rule whose answer can
    change with the time alone, a volatility estimate, a dated market, a collateral policy)."""
    if not enabled or replay._dated or replay.collateral is not None:
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
    )


def steady_kind(rule: HedgeRule) -> bool:
    """Whether ``rule``'s answer, given the same state, β estimates and funding rates, is the
    same at a later tick but for the exposure it multiplies, until an instant known in
    advance: a plain ratio rule; a ``kind: beta`` rule on perpetuals without activation
    windows or a volatility trigger (``steady_terms`` bounds its β's age and its clocks)."""
    if type(rule) is RatioRule:
        return True
    if type(rule) is not BetaRule:
        return False
    gating = rule.gating
    return rule.contract == "inverse_perp" and not gating.windows and gating.vol_trigger is None


def beta_rule_bound(
    replay: Replay, rule: BetaRule, target: HedgeTarget, state: RuleState
) -> int | None:
    """The first tick at which ``rule`` (whose answer this tick was ``target``, from
    ``state``) may answer otherwise: a β it reads falls due or grows too old, a clock of its
    state runs out, or (with a funding modifier) the funding rates change. None: unknown."""
    until = replay.ticks_total
    for instant in clocks(rule, state):
        until = min(until, replay.ticks_before(instant))
    if rule.funding is not None:  # its ratio follows the funding rates the reader shows
        until = min(until, replay.ticks_before(replay.reader.funding_until))
    if rule.hedge_with == "auto" and not target.proxy:
        return until  # its own contract (listed throughout: no dated market): no β read
    betas = replay.estimates.betas
    for request in rule.beta_requests():
        at = betas.due_at(request.key)
        if at is None:
            return None
        until = min(until, replay.ticks_before(to_epoch(at + request.params.refresh)))
        estimate = betas.known(request.key)
        if estimate is None or estimate.data_end is None:
            continue  # not read, or never usable: the same answer at every tick
        limit = to_epoch(estimate.data_end) + rule.estimator.max_age // SECOND
        until = min(until, replay.ticks_before(limit + 1))  # ticks with age <= max_age
    return until


def clocks(rule: BetaRule, state: RuleState) -> list[int]:
    """Epoch s at which ``rule``'s answer may change with the time alone, given ``state``
    (``strategies.rho_gate``, ``strategies.modifiers``): a low correlation declared a
    breakdown, a funding breach or calm that lasted long enough."""
    found: list[int] = []
    gate = state.rho_gate
    if gate.low_since is not None and not gate.broken:
        found.append(to_epoch(gate.low_since + rule.rho_breakdown))
    funding, params = state.funding, rule.funding
    if params is not None:
        if not funding.engaged and funding.breach_since is not None:
            found.append(to_epoch(funding.breach_since + params.after))
        if funding.engaged and funding.calm_since is not None:
            found.append(to_epoch(funding.calm_since + params.restore_after))
    return found


def plain_terms(replay: Replay) -> Terms | None:
    """The terms of a book of plain ratio rules (``RuleBook.plain_totals``): each rule's
    ratio on its instrument, the planner's one band, every tick of the run."""
    plain = replay.book._plain
    if plain is None:
        return None
    settings = replay.settings
    band = float(settings.band if settings.band is not None else settings.no_trade.min_band)
    owners = tuple((asset, float(ratio), symbol) for asset, ratio, symbol in plain)
    bands = dict.fromkeys((symbol for _, _, symbol in plain), band)
    return owners, bands, replay.ticks_total, frozenset(), True


def steady_terms(
    replay: Replay,
    book: BookResult,
    exposures: Mapping[str, Exposure],
    previous: Mapping[str, RuleState],
) -> Terms | None:
    """The terms of a tick the general path judged quiet, when its rules are steady: every
    rule of a ``steady_kind``, no event, every state as it came in (so the next tick's inputs
    give the same answer, the exposures aside), one positive target per rule on a positive
    exposure, none holding collateral. Each target's factor is its USD over its exposure's
    (ratio × β after the gate); each instrument's band the narrowest of its targets' own
    (``instrument_bands`` weighs them, so it is never narrower). The window ends before the
    next β falls due, before any β the rules read grows older than its ``max_age`` and before
    a correlation gate's clock would declare its proxy broken."""
    if len(book.targets) != len(replay.rules) or book.states != previous:
        return None
    settings = replay.settings
    no_trade = settings.no_trade
    owners: list[tuple[str, float, str]] = []
    bands: dict[str, float] = {}
    for target in book.targets:
        exposure = exposures.get(target.asset)
        usd = target.target_short_usd
        if exposure is None or target.collateral or usd < 0:
            return None
        value = exposure.exposure_usd
        if not value > 0:  # a target of max(exposure, 0): not a factor of the exposure
            return None
        owners.append((target.asset, float(usd) / float(value), target.instrument))
        fixed = settings.band
        own = float(fixed if fixed is not None else band_fraction(target.tracking, no_trade))
        bands[target.instrument] = min(bands.get(target.instrument, own), own)
    until = replay.ticks_total
    settles = True
    for rule, target in zip(replay.rules, book.targets, strict=True):
        if type(rule) is BetaRule:
            bound = beta_rule_bound(replay, rule, target, previous.get(rule.asset, NO_STATE))
            if bound is None:
                return None
            until = min(until, bound)
            settles = settles and rule.funding is None
    return tuple(owners), bands, until, frozenset(event.kind for event in book.events), settles


def record_quiet(replay: Replay, plan: QuietPlan) -> None:
    """Record a tick inside the window as ``Replay._tick`` records a quiet tick: the account's
    value at the tick's prices, the shorts of the last read, in band, quiet, no shortfall, each
    varying rule's hedge coin as it was (``owned``, the rule states and the targets stay as
    they are) and the events its rules report (``plan``'s: the same at every tick)."""
    rec = replay.recording
    if replay._window is not None:
        replay._window.skipped += 1
    rec.times.append(replay.sim.now_ms // 1000)
    rec.hedged.append(quiet_value(replay.reader, replay.stable))
    rec.short_index.append(len(rec.shorts) - 1)
    for asset in replay._varying:
        rec.hedge_coin[asset].append(replay._hedge_coin[asset])
    if plan.terms[3]:
        replay.activity.events.update(plan.terms[3])
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
        ruled: frozenset[str],
        check: MarginCheck,
    ) -> None:
        self._series = series
        self.start_s = start_s
        self.step_s = step_s
        self.ticks = ticks
        self.ruled = ruled
        self.check = check
        self._prices: dict[str, Floats] = {}
        self._lists: dict[str, list[float]] = {}
        self.skipped = 0  # ticks recorded by ``record_quiet``
        self.settled = 0  # ticks after settlements found quiet by a renewed plan

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
        self, replay: Replay, snapshot: Snapshot, states: Mapping[str, WalletState], terms: Terms
    ) -> QuietPlan | None:
        """The test of the ticks after a quiet one (judged with an unchanged ``owned`` and no
        shortfall, its rules steady: ``terms``) while the account does not change; None when
        the bound does not describe the account (module docstring)."""
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
        owners, bands = terms[0], terms[1]
        held, markets = reader.held, snapshot.markets
        grouped: dict[str, list[OwnerTerms]] = {}
        for asset, factor, symbol in owners:
            wallet = snapshot.margin.get(asset)
            amount = (
                float(snapshot.spot.get(asset, ZERO))
                + float(snapshot.static.get(asset, ZERO))
                + (float(wallet.balance) if wallet is not None else 0.0)
            )
            on_it = grouped.setdefault(symbol, [])
            if factor > 0:  # a target of exactly 0 adds nothing to its instrument's
                on_it.append((self.prices(asset), factor, amount, tuple(positions.get(asset, ()))))
        instruments: list[InstrumentTerms] = []
        coins: dict[str, int] = {}
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
            instruments.append((known[3], known[4], known[5], index, bands[symbol], tuple(on_it)))
        margined: list[tuple[WalletState, list[float]]] = []
        for coin in coins:
            state = states.get(coin)
            if state is None or state.exact_only or coin not in self._series:
                return None
            margined.append((state, self.prices(coin)))
        return QuietPlan(tuple(instruments), tuple(margined), self.check, terms)

    def prices(self, coin: str) -> list[float]:
        """``coin``'s price at every tick of the run (NaN where the feed has none)."""
        known = self._lists.get(coin)
        if known is None:
            known = self._lists[coin] = self.array(coin).tolist()
        return known


# per target: asset, factor (target USD per USD of exposure), instrument; per instrument its
# band; the first tick the terms no longer describe; the kinds of the events the rules report
# at every tick they describe; whether they hold across funding settlements
Terms = tuple[tuple[tuple[str, float, str], ...], Mapping[str, float], int, frozenset[str], bool]
# per owner of an instrument: its asset's prices, factor, coin amount, and the (base prices,
# face, 1/entry) of the positions settled in the asset
OwnerTerms = tuple[list[float], float, float, tuple[tuple[list[float], float, float], ...]]
# per instrument: USD per contract, slack, signed contracts, margin coin (index), band, owners
InstrumentTerms = tuple[float, float, float, int, float, tuple[OwnerTerms, ...]]


class QuietPlan:
    """``QuietWindow.plan``'s test, one tick at a time (every figure plain float)."""

    __slots__ = ("check", "coins", "instruments", "terms", "until")

    def __init__(
        self,
        instruments: tuple[InstrumentTerms, ...],
        coins: tuple[tuple[WalletState, list[float]], ...],
        check: MarginCheck,
        terms: Terms,
    ) -> None:
        self.instruments = instruments
        self.coins = coins
        self.check = check
        self.terms = terms  # what the plan was made of (a renewed plan starts from them)
        self.until = terms[2]

    def quiet(self, tick: int) -> bool:
        """Whether tick ``tick`` is certainly quiet, the account unchanged since the plan: every
        instrument's target (its owners' sum) clearly inside its band (``_Pass``'s float
        bound) and every margin coin's wanted short clearly carried
        (``MarginCheck.capped_wanted``), each figure widened by ``ERROR`` and each test kept
        ``MARGIN`` away from its edge."""
        if tick >= self.until:
            return False
        wanted = [0.0] * len(self.coins)
        for unit, slack, signed, coin, band, owners in self.instruments:
            low = high = 0.0
            for prices, factor, amount, positions in owners:
                price = prices[tick]
                upnl = size = 0.0
                for base_prices, face, inverse_entry in positions:
                    base = base_prices[tick]
                    upnl += face * (1.0 / base - inverse_entry)
                    size += face / base + face * inverse_entry
                target = factor * (amount + upnl) * price
                error = ERROR * factor * (abs(amount) + size) * price + 1e-9
                if not target - error > 0:
                    return False
                low += target - error
                high += target + error
            spread = high - low  # twice the summed error
            worst = (abs(high / unit + signed) + spread / unit) * (1 + MARGIN) + slack
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
