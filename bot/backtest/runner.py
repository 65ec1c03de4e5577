"""The replay loop: the daemon's decision over the simulated exchange, one tick per candle.

Per tick, at each candle close (the first at the start, before any step):

1. snapshot of the engine (``bot.backtest.snapshot``), due β/vol estimates (``.estimates``);
2. exposures, rule targets and states as ``decide()`` computes them (``.rulebook.RuleBook``);
3. every instrument (every owner's part) inside its band, margin sizing changing nothing and
   the collateral policy idle (``.decision.in_band``): nothing more (``decide()`` would place no
   order and move no coin; the plan's ``owned`` and shortfall are kept). Otherwise
   ``bot.daemon.decide.decide`` itself, with the margin terms, the collateral settings, the
   rolling-day usage of the actions this replay ran and the previous plan's ``owned``, and the
   rules as ``RuleBook.recalling`` (each answers inputs equal to step 2's with step 2's answer,
   so the rules are not evaluated twice; after collateral moves they answer themselves); its
   collateral actions run on the engine first, in order (``.collateral.execute_actions``: spot
   sells, spot buys, transfers), then ``bot.core.risk.screen_orders`` (kill switch off, nothing
   blocked: the simulator answers every order at once), and each allowed order is sent to the
   engine with ``create_order`` as a market order (it fills at the candle close, fee
   ``fee_rate``), except increases on instruments settled in a coin whose funding failed;
4. the real funding rates of the settlements up to the next candle are set, the engine steps.

Deliberate differences from the live daemon, reported in the notes: orders are market orders
filling at the close (``execution.style: limit`` is not replayed: no resting or re-pricing), no
slippage beyond the close, no kill switch, no database. The engine's liquidations apply.
Collateral actions succeed or fail at once (no outcome is ever unknown, so the policy is never
paused for one), and only the ones that succeeded count against the daily caps.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from decimal import Decimal

from bot.backtest.collateral import UsageWindow
from bot.backtest.data import MarketData
from bot.backtest.decision import BandCheck, MarginInputs, in_band, in_band_totals
from bot.backtest.estimates import Estimates
from bot.backtest.execution import execute_decision
from bot.backtest.replay_setup import engine, funding_plan, replay_period, unhedged_book
from bot.backtest.rulebook import RuleBook
from bot.backtest.run_types import (
    Activity,
    BacktestOptions,
    Progress,
    Recording,
    sim_config,
)
from bot.backtest.skip import quiet_window
from bot.backtest.skip_plan import QuietPlan
from bot.backtest.skip_record import record_quiet
from bot.backtest.skip_terms import plain_terms, refunded, window_terms
from bot.backtest.snapshot import Change, SnapshotReader
from bot.backtest.wallets import MarginCheck, WalletState
from bot.config.models import Config
from bot.core.planner import PlannerSettings
from bot.core.types import (
    Exposure,
    HedgeTarget,
    Ownership,
    Snapshot,
)
from bot.daemon.collateral import collateral_settings
from bot.daemon.decide import Decision, decide, valued_assets
from bot.sim.params import STABLECOINS
from bot.sim.series import from_epoch
from strategies import build_rule
from strategies.base import HedgeRule, InstrumentListing, RuleInputs
from strategies.book import BookResult
from strategies.state import RuleState

ZERO = Decimal(0)


class Replay:
    """One run (see the module docstring); ``run()`` fills ``recording`` and ``activity``."""

    def __init__(self, config: Config, market: MarketData, options: BacktestOptions) -> None:
        self.config = config
        self.market = market
        self.cfg = sim = sim_config(config)
        feed = market.feed
        self.step_s = feed.step_seconds
        self.start_s, self.end_s = replay_period(feed, self.step_s, options)
        self.funding = funding_plan(market, sim, self.start_s, self.end_s, options)
        self.sim = engine(market, sim, self.funding, self.start_s)
        hedge = config.hedge
        for symbol in self.sim.markets():  # the daemon's prepare(): mode and leverage
            self.sim.set_margin_mode(symbol, hedge.margin_mode)
            self.sim.set_leverage(symbol, hedge.leverage)
        self.rules: tuple[HedgeRule, ...] = tuple(build_rule(r) for r in config.rules)
        self.book = RuleBook(self.rules)
        self.settings = PlannerSettings.from_config(config.hedge, config.limits)
        self.terms, self.collateral = collateral_settings(config)
        self.margin_check = MarginCheck(self.terms, self.collateral)
        self.usage = UsageWindow()
        self.owned: Ownership = {}
        self._margin = MarginInputs(self.margin_check, {}, {})
        self.estimates = Estimates(feed, self.rules)
        self.reader = SnapshotReader(
            self.sim, config.holdings, [r.asset for r in self.rules], self.funding
        )
        self.stable = dict.fromkeys(STABLECOINS, 1.0)
        self.states: dict[str, RuleState] = {}
        self.recording = Recording()
        self.activity = Activity()
        self.ticks_total = (self.end_s - self.start_s) // self.step_s + 1
        self._dated = any(m.expiry is not None for m in self.sim.markets().values())
        self._valued_key: object = None
        self._valued: list[str] = []
        self._next_settlement = 0  # epoch s of the next funding grid instant
        self._setup_books()
        self._quiet_plan: QuietPlan | None = None  # the test of the next quiet ticks
        self._window = quiet_window(self, options.skip_ahead)

    def _setup_books(self) -> None:
        """The unhedged book (``unhedged_book``) and each rule's hedge coin at the start."""
        self.bag, self.cash = unhedged_book(
            self.cfg.balances, self.config.holdings.static, self.rules, self.sim.price
        )
        markets = self.sim.markets()
        self._hedge_coin: dict[str, str] = {}
        # rules whose instrument can change (dated contracts are rolled; a listing of any
        # other than the rule's ``instrument``); the others hedge with its base throughout
        start = from_epoch(self.start_s)
        self._varying = [
            r.asset
            for r in self.rules
            if isinstance(r, InstrumentListing)
            and (self._dated or not set(r.instruments(markets, start)) <= {r.instrument})
        ]
        for rule in self.rules:
            market = markets.get(rule.instrument)
            self._hedge_coin[rule.asset] = market.base if market else rule.asset
            self.recording.hedge_coin[rule.asset] = [self._hedge_coin[rule.asset]]

    def run(self, progress: Progress | None = None, every: int = 500) -> None:
        # Everything alive now (the candles, the engine, the modules) lives through the run:
        # kept out of the collector's generations, a full collection scans only what the replay
        # makes (hundreds of thousands of objects fewer; one such scan costs a tenth of a
        # second).
        gc.freeze()
        try:
            self._run(progress, every)
        finally:
            gc.unfreeze()

    def _run(self, progress: Progress | None, every: int) -> None:
        sim = self.sim
        change: Change = "all"
        tick = 0
        while True:
            placed = self._tick(tick, change)
            tick += 1
            if progress is not None and tick % every == 0:
                progress(tick, self.ticks_total)
            now_s = sim.now_ms // 1000
            if now_s + self.step_s > self.end_s:
                break
            settled = self._settle_until(now_s + self.step_s)
            sim.next_step()
            change = self._change(placed, settled, now_s)
        if progress is not None:
            progress(tick, self.ticks_total)

    def _change(self, placed: bool, settled: bool, since_s: int) -> Change:
        """What the account went through since the tick at ``since_s``: orders or liquidations
        ("all"), funding settlements only ("balances"), or nothing ("none"). The engine's
        executions are looked at only when something may have happened: a settlement, a
        price at or past a liquidation price, or a dated market (delivery)."""
        if placed:
            return "all"
        if not (settled or self._dated or self.reader.liquidation_possible()):
            return "none"
        kinds = {e.kind for e in self.sim.executions(since=from_epoch(since_s + 1))}
        if kinds - {"funding"}:
            return "all"
        return "balances" if kinds else "none"

    def _settle_until(self, close_s: int) -> bool:
        """Set each coin's real rate before every settlement up to the next candle close; one
        that falls between two closes is reached with ``set_time``. True if any falls there."""
        if close_s < self._next_settlement:
            return False
        grid = self.funding.grid_hours * 3600
        sim = self.sim
        at = first = (sim.now_ms // 1000 // grid + 1) * grid
        self._next_settlement = (close_s // grid + 1) * grid
        while at <= close_s:
            for coin, rate in self.funding.rates_at(at).items():
                sim.set_funding_rate(coin, rate)
            if at < close_s:
                sim.set_time(from_epoch(at))
            at += grid
        return first <= close_s

    def _tick(self, tick: int, change: Change) -> bool:
        plan = self._quiet_plan
        if plan is not None and change == "none" and plan.quiet(tick):  # ``.skip``
            record_quiet(self, plan)
            return False
        self._quiet_plan = None
        now = self.sim.now
        snapshot = self.reader.read(self.book.instruments(self.reader.markets, now), change, now)
        key = (self.reader.coin_key, tuple(snapshot.margin))
        if key != self._valued_key:  # valued_assets reads only these keys: cache its answer
            self._valued_key, self._valued = key, valued_assets(snapshot, self.rules)
        margin = self._margin  # updated in place: one object for the run
        margin.states = self.reader.wallet_states(self.terms.leverage)
        margin.prices = self.reader.prices_f
        margin.usage = self.usage.usage(self.sim.now_ms // 1000)
        if plan is not None and change == "balances" and self._settled_quiet(plan, snapshot, tick):
            return False  # no β the window's rules read falls due in it: no refresh either
        if self.estimates.needed:
            self.estimates.refresh(now)
        return self._judge(tick, change, snapshot, margin)

    def _settled_quiet(self, plan: QuietPlan, snapshot: Snapshot, tick: int) -> bool:
        """A tick after funding settlements only, inside a window: with the balances read
        again, the window's terms (the rules' factors stay: they do not depend on balances;
        funding modifiers are stepped with the new rates, ``refunded``) make a new plan; when
        it finds this tick quiet, the tick is recorded as the full path records a quiet one
        (the account changed: its shorts and wallets too) and the window goes on with the new
        plan."""
        window = self._window
        if window is None:
            return False
        terms, states = plan.terms, self.states
        if terms.funded:
            funded = refunded(self, terms, snapshot)
            if funded is None:
                return False
            terms, states = funded
        renewed = window.renew(self, plan, snapshot, self._margin.states, terms)
        if renewed is None or not renewed.quiet(tick):
            return False
        self.states = states  # a funding modifier's clock may have started or stopped
        window.settled += 1
        self._record((), False, True, True)
        if plan.terms.events:
            self.activity.events.update(plan.terms.events)
        self.recording.shortfall.append(False)
        self._quiet_plan = renewed
        return True

    def _judge(self, tick: int, change: Change, snapshot: Snapshot, margin: MarginInputs) -> bool:
        """The tick's band check, and ``decide()`` with its orders when it is not quiet (the
        module docstring's steps 2 and 3). True when an order went out or a coin moved."""
        check = self._plain_check(snapshot, margin)
        if check is not None:  # plain ratio rules: no targets built, no events, no states
            self._record((), check.outside, check.quiet, change != "none")
            if check.quiet:
                steady = self._skip(snapshot, check, tick)
                self.states = {}
                if steady:
                    self._open_window(snapshot, margin.states, None)
                return False
        else:
            exposure = self.book.exposures(snapshot, self._valued)
            inputs = RuleInputs.from_snapshot(
                snapshot,
                exposure,
                betas=self.estimates.betas.view(),
                realized_vol=self.estimates.vols,
                states=self.states,
            )
            book = self.book.evaluate(inputs)
            check = in_band(
                book.targets,
                snapshot,
                self.settings,
                self.reader.held,
                margin=margin,
                owned=self.owned,
            )
            self._record(book.targets, check.outside, check.quiet, change != "none")
            for kind in {event.kind for event in book.events}:
                self.activity.events[kind] += 1
            if check.quiet:
                if self._skip(snapshot, check, tick):
                    self._open_window(snapshot, margin.states, (book, exposure, inputs))
                self.states = dict(book.states)
                return False
        snapshot = self.reader.with_tickers(snapshot)
        decision = self._decide(snapshot, tick, self.book.recalling)
        self.states = dict(decision.states)
        self.owned = decision.plan.owned
        self.recording.shortfall.append(bool(decision.plan.shortfalls))
        self.activity.decisions += 1
        return execute_decision(
            self.sim,
            decision,
            snapshot,
            self.usage,
            self.activity,
            self.config.execution.max_slippage,
        )

    def ticks_before(self, instant_s: int) -> int:
        """The number of ticks of the run that come before epoch second ``instant_s`` (tick
        ``k`` is at ``start_s + k × step_s``)."""
        return max(0, -(-(instant_s - self.start_s) // self.step_s))

    def _open_window(
        self,
        snapshot: Snapshot,
        states: Mapping[str, WalletState],
        judged: tuple[BookResult, Mapping[str, Exposure], RuleInputs] | None,
    ) -> None:
        """After a quiet tick with ``owned`` unchanged and no shortfall: the test of the next
        ticks (``.skip``), for plain ratio rules (``judged`` None) or for the rules the
        general path evaluated (its result, exposures and inputs; ``self.states`` still the
        ones it was given), when their answers are steady. Rules that moved their state this
        tick (a clock started, a proxy chosen) are asked again with the new states: when they
        answer the same targets and keep those states, the window opens from them."""
        window = self._window
        if window is None:
            return
        terms = plain_terms(self) if judged is None else window_terms(self, *judged)
        if terms is not None:
            self._quiet_plan = window.plan(self, snapshot, states, terms)

    def _decide(self, snapshot: Snapshot, tick: int, rules: Sequence[HedgeRule]) -> Decision:
        """``decide()`` on the tick's snapshot (with tickers) and the replay's inputs; ``rules``:
        the rules, or the book's ``recalling`` (the same answers, this tick's already known)."""
        now_s = self.sim.now_ms // 1000
        return decide(
            snapshot,
            rules,
            self.settings,
            f"backtest:{tick}",
            betas=self.estimates.betas.view(),
            realized_vol=self.estimates.vols,
            states=self.states,
            margin=self.terms,
            collateral=self.collateral,
            usage=None if self.collateral is None else self.usage.usage(now_s),
            owned=self.owned,
        )

    def _skip(self, snapshot: Snapshot, check: BandCheck, tick: int) -> bool:
        """A tick without a decision (``snapshot``: its snapshot, without tickers; ``tick``:
        its number): keep what its plan would have said. True when that is steady: the same
        ``owned`` as before and no shortfall (the condition for a window, ``.skip``)."""
        steady = check.owned == self.owned and not check.shortfall
        if check.owned is not None:
            self.owned = check.owned
        self.recording.shortfall.append(check.shortfall)
        return steady

    def _plain_check(self, snapshot: Snapshot, margin: MarginInputs) -> BandCheck | None:
        """``in_band`` of the book's targets when every rule is a plain ratio rule
        (``RuleBook.plain_totals``), each on an instrument of its own: such rules have no
        state or events, and nothing recorded needs the targets themselves (no rule's
        instrument varies). None: the general path."""
        owners = self.book.plain_owners
        if snapshot.unknown_positions or owners is None or self._varying:
            return None
        totals = self.book.plain_totals(snapshot, self._valued)
        if totals is None:
            return None
        return in_band_totals(
            totals,
            snapshot,
            self.settings,
            self.reader.held,
            owners=owners,
            margin=margin,
            owned=self.owned,
        )

    def _record(
        self,
        targets: tuple[HedgeTarget, ...],
        outside: bool,
        quiet: bool,
        changed: bool,
    ) -> None:
        rec = self.recording
        rec.times.append(self.sim.now_ms // 1000)
        rec.hedged.append(self.reader.account_value(self.stable))
        if changed or not rec.shorts:
            rec.shorts.append(self.reader.shorts())
            rec.wallets.append(self.reader.wallet_states(self.terms.leverage))
        rec.short_index.append(len(rec.shorts) - 1)
        if self._varying:
            markets = self.reader.markets
            best: dict[str, HedgeTarget] = {}
            for target in targets:
                held = best.get(target.asset)
                if target.target_short_usd > (ZERO if held is None else held.target_short_usd):
                    best[target.asset] = target
            for asset in self._varying:
                chosen = best.get(asset)
                if chosen is not None and chosen.instrument in markets:
                    self._hedge_coin[asset] = markets[chosen.instrument].base
                rec.hedge_coin[asset].append(self._hedge_coin[asset])
        rec.outside.append(outside)
        rec.quiet.append(quiet)
