"""The replay's fast paths against the daemon's own code, tick by tick.

``SnapshotReader`` vs ``bot.daemon.snapshot.read_snapshot`` (through the simulated exchange
port), ``Estimates`` vs ``bot.daemon.estimates.EstimateCache``, ``RuleBook`` vs
``strategies.book.evaluate_book``, ``bot.core.exposure.exposures`` and ``all_instruments``:
equal at every tick of a run that trades, settles funding and gets liquidated.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bot.backtest import BacktestOptions, MarketData, load_for
from bot.backtest.decision import MarginInputs, in_band, in_band_totals
from bot.backtest.estimates import Estimates
from bot.backtest.runner import Replay
from bot.backtest.snapshot import Change
from bot.config.models import Config
from bot.core.exposure import exposures
from bot.core.planner import aggregate_targets
from bot.core.types import Snapshot
from bot.daemon.decide import Decision, valued_assets
from bot.daemon.estimates import EstimateCache, fetch_candles
from bot.daemon.snapshot import all_instruments, read_snapshot
from bot.exchange.sim_port import SimExchangePort
from bot.stats.returns import CloseSeries
from strategies.base import HedgeRule, RuleInputs
from strategies.book import evaluate_book
from strategies.state import RuleState
from tests.backtest.helpers import REPO, sim_config, utc, write_candles

REPLAY = REPO / "data" / "replay"
BETA_RULE = """\
  - kind: beta
    asset: SOL
    ratio: 1
    hedge_with: BTC
    rho_floor: 0.3
    estimator: {interval: 1h, window: 240, method: ols, refresh_minutes: 60, max_age_hours: 3}
    vol_trigger: {window_hours: 24, enter_above: 0.6, exit_below: 0.4}
  - kind: beta
    asset: ETH
    ratio: 0.5
    hedge_with: BTC
    rho_floor: 0.3
    estimator: {interval: 1h, aggregate_to: 1d, window: 5, min_observations: 3,
                refresh_minutes: 240, max_age_hours: 48}
    funding_modifier: {max_cost_annualized: 0.05, restore_below_annualized: 0.01,
                       after_hours: 2, restore_after_hours: 2}
"""


class CheckedReplay(Replay):
    """Compares every tick with the daemon's code before running it."""

    def __init__(self, config: Config, market: MarketData, options: BacktestOptions) -> None:
        super().__init__(config, market, options)
        self.daemon_cache = EstimateCache(SimExchangePort(self.sim))
        self.previous: dict[str, RuleState] = {}
        self.changes: Counter[str] = Counter()
        self.checked = 0
        self.decided = 0

    def _tick(self, tick: int, change: Change) -> bool:
        port = SimExchangePort(self.sim)
        now = self.sim.now
        daemon = asyncio.run(read_snapshot(port, self.config.holdings, self.rules))
        instruments = self.book.instruments(self.reader.markets, now)
        assert instruments == all_instruments(self.rules, daemon.markets, now)
        ours = self.reader.with_tickers(self.reader.read(instruments, change, now))
        assert replace(ours, funding=daemon.funding) == daemon
        assert set(ours.funding) == set(daemon.funding)
        for symbol, rate in ours.funding.items():
            base = ours.markets[symbol].base
            assert rate == self.funding.funding_rate(base, symbol, self.sim.now_ms // 1000)
        self.changes[change] += 1
        placed = super()._tick(tick, change)
        cache = self.daemon_cache
        asyncio.run(cache.refresh(self.rules, now))
        assert cache.betas == self.estimates.betas
        assert cache.vols == self.estimates.vols
        exposure = exposures(ours, valued_assets(ours, self.rules))
        assert self.book.exposures(ours, valued_assets(ours, self.rules)) == exposure
        inputs = RuleInputs.from_snapshot(
            ours, exposure, betas=cache.betas, realized_vol=cache.vols, states=self.previous
        )
        assert self.book.evaluate(inputs) == evaluate_book(self.rules, inputs)
        self.previous = dict(self.states)
        self.checked += 1
        return placed

    def _decide(self, snapshot: Snapshot, tick: int, rules: Sequence[HedgeRule]) -> Decision:
        """The decision with the book's recalled answers is the one with the rules."""
        recalled = self.book.recalled
        decision = super()._decide(snapshot, tick, rules)
        assert self.book.recalled == recalled + len(self.rules)  # every rule answered
        assert decision == super()._decide(snapshot, tick, self.rules)
        self.decided += 1
        return decision


def test_fast_paths_equal_the_daemon() -> None:
    cfg = sim_config(
        rules=BETA_RULE,
        spot="{SOL: 1000, ETH: 20}",
        margin="{BTC: 0.3}",
        band="0.02",
        leverage="20",
        # liquidation 1 % away is allowed: the margin sizing lets the hedge outgrow its wallet
        extra="collateral: {min_liquidation_distance: 0.01}",
    )
    options = BacktestOptions(start=utc(2024, 3, 4), end=utc(2024, 3, 12))
    replay = CheckedReplay(cfg, load_for([cfg], REPLAY, options), options)
    replay.run()
    assert replay.checked == 8 * 24 + 1
    assert replay.decided == replay.activity.decisions > 0
    assert all(replay.changes[kind] for kind in ("all", "balances", "none"))  # every read path
    kinds = {e.kind for e in replay.sim.executions()}
    assert {"trade", "funding", "liquidation"} <= kinds
    assert replay.estimates.vols
    betas = replay.estimates.betas
    assert {key: betas[key].state for key in betas} == {("SOL", "BTC"): "ok", ("ETH", "BTC"): "ok"}
    assert betas[("ETH", "BTC")].horizon_seconds == 86_400  # daily, from the hourly candles


def test_closes_equal_the_daemons_candles_on_minute_data(tmp_path: Path) -> None:
    """1-minute candles, 1 h and 4 h estimation intervals, clocks on and off the hour."""
    start = utc(2024, 1, 1)
    closes = [Decimal(100) + Decimal(i % 97) / 10 for i in range(3 * 24 * 60)]
    write_candles(tmp_path, "SOL", start, closes)
    path = tmp_path / "binance_spot_SOLUSDT_1h.csv"
    path.rename(tmp_path / "binance_spot_SOLUSDT_1m.csv")
    text = (tmp_path / "binance_spot_SOLUSDT_1m.csv").read_text().splitlines()
    minute = [text[0]]
    for i, line in enumerate(text[1:]):
        minute.append(line.replace(line.split(",")[0], _minute(start, i), 1))
    (tmp_path / "binance_spot_SOLUSDT_1m.csv").write_text("\n".join(minute) + "\n")
    cfg = sim_config(rules="  - {asset: SOL, ratio: 1}", spot="{SOL: 1}")
    market = load_for([cfg], tmp_path)
    estimates = Estimates(market.feed, [])
    replay = Replay(cfg, market, BacktestOptions())
    port = SimExchangePort(replay.sim)
    for minutes in (2 * 24 * 60, 2 * 24 * 60 + 37, 3 * 24 * 60 - 1):
        replay.sim.set_time(start + timedelta(minutes=minutes))
        now = replay.sim.now
        for interval, seconds, count in (("1h", 3600, 30), ("4h", 14_400, 10)):
            candles = asyncio.run(fetch_candles(port, "SOL", interval, seconds, count, now))
            ours = estimates.closes("SOL", seconds, count, replay.sim.now_ms // 1000)
            theirs = CloseSeries.from_candles(candles, seconds)
            assert ours.opens.tolist() == theirs.opens.tolist()
            assert ours.closes.tolist() == theirs.closes.tolist()


def _minute(start: datetime, i: int) -> str:
    return (start + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ")


class PlainCheckedReplay(Replay):
    """Checks the plain-ratio shortcut (``RuleBook.plain_totals``) against the general path."""

    def __init__(self, config: Config, market: MarketData, options: BacktestOptions) -> None:
        super().__init__(config, market, options)
        self.fast = self.slow = 0

    def _tick(self, tick: int, change: Change) -> bool:
        now = self.sim.now
        snapshot = self.reader.read(self.book.instruments(self.reader.markets, now), change, now)
        valued = valued_assets(snapshot, self.rules)
        inputs = RuleInputs.from_snapshot(snapshot, exposures(snapshot, valued))
        book = evaluate_book(self.rules, inputs)
        totals = self.book.plain_totals(snapshot, valued)
        if totals is None:
            self.slow += 1
        else:
            self.fast += 1
            assert totals == aggregate_targets(book.targets)
            assert [str(v) for v in totals.values()] == [
                str(v) for v in aggregate_targets(book.targets).values()
            ]
            held = self.reader.held
            margin = MarginInputs(
                self.margin_check,
                self.reader.wallet_states(self.terms.leverage),
                self.reader.prices_f,
            )
            owners = self.book.plain_owners
            assert owners is not None
            for kept in (None, margin):  # without and with margin terms
                fast = in_band_totals(
                    dict(totals), snapshot, self.settings, held, owners=owners, margin=kept
                )
                assert fast == in_band(book.targets, snapshot, self.settings, held, margin=kept)
        return super()._tick(tick, change)


def test_plain_ratio_totals_equal_the_book() -> None:
    rules = "  - {asset: SOL, ratio: 0.7}\n  - {asset: ETH, ratio: 1}"
    cases = (("{SOL: 150, ETH: 4}", True), ("{SOL: 150, ETH: 4, BTC: 0.2}", False))
    for margin, fast_only in cases:
        cfg = sim_config(rules=rules, spot="{SOL: 1000, ETH: 10}", margin=margin, band="0.01")
        options = BacktestOptions(start=utc(2024, 3, 4), end=utc(2024, 3, 8))
        replay = PlainCheckedReplay(cfg, load_for([cfg], REPLAY, options), options)
        replay.run()
        assert replay.book.plain
        assert replay.activity.orders
        if fast_only:
            assert replay.fast == 4 * 24 + 1
            assert not replay.slow
        else:
            assert replay.slow  # BTC margin without a BTC rule: a collateral target
