"""``bot.backtest.ols_windows``: an OLS β from prefix sums is the daemon's, field for field.

The backtest's estimate (``History.ols``: prefix sums over the whole history) against the
daemon's (``estimate_for`` on the candles the feed answers, and ``EstimateCache`` through the
simulated exchange), compared with ``==``: every field, floats bit for bit. On real hourly data
(shared/data spot_1h) with random gap patterns, hourly, 4-hourly and daily horizons, and every
state (ok, insufficient, stale); and on windows with returns beyond the int64 sums' range.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from functools import cache

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.backtest.estimates import Estimates
from bot.backtest.history import History
from bot.backtest.ols_windows import OlsWindows
from bot.daemon.estimates import EstimateCache
from bot.exchange.sim_port import SimExchangePort
from bot.sim.engine import SimExchange
from bot.sim.feed import ReplayFeed
from bot.sim.params import SimParams
from bot.sim.series import Series, from_epoch
from bot.stats.beta import BetaEstimate, estimate_from_returns
from bot.stats.ols_exact import MAX_STEP, MAX_WINDOW, QUANTUM, quantise
from bot.stats.returns import AlignedReturns
from strategies import build_rule
from strategies.base import HedgeRule
from strategies.requests import BetaParams, BetaRequest, estimate_for
from tests.backtest.helpers import config
from tests.stats.realdata import hourly_closes

HOUR = 3600
DAY = 86_400
START = 1_640_995_200  # 2022-01-01T00:00:00Z: LUNA and FTX are in the year
HOURS = 365 * 24
COINS = ("SOL", "BTC", "ETH")


@cache
def real_rows(coin: str) -> tuple[tuple[int, ...], tuple[Decimal, ...]]:
    """A year of ``coin``'s real hourly candles from START: open times and closes."""
    closes = hourly_closes(coin)
    keep = (closes.opens >= START) & (closes.opens < START + HOURS * HOUR)
    values = closes.closes[keep].tolist()
    return tuple(closes.opens[keep].tolist()), tuple(Decimal(repr(v)) for v in values)


def real_series(coin: str, missing: frozenset[int] = frozenset()) -> Series:
    """The year of real candles without those whose hour (from START) is in ``missing``."""
    out = Series(coin, HOUR)
    for opened, close in zip(*real_rows(coin), strict=True):
        if (opened - START) // HOUR in missing:
            continue
        out.opens.append(opened)
        for column in (out.open, out.high, out.low, out.close):
            column.append(close)
        out.volume.append(Decimal(1))
    out.build_slots()
    return out


def real_feed(gaps: dict[str, frozenset[int]]) -> ReplayFeed:
    return ReplayFeed.from_series(
        [real_series(coin, gaps.get(coin, frozenset())) for coin in COINS]
    )


def request(
    asset: str,
    hedge: str,
    *,
    interval: int = HOUR,
    window: int = 720,
    aggregate: int | None = None,
    min_observations: int = 168,
    max_age_hours: int = 48,
) -> BetaRequest:
    params = BetaParams(
        "x",
        interval,
        window,
        "ols",
        None,
        aggregate,
        min_observations,
        timedelta(hours=max_age_hours),
        timedelta(hours=1),
    )
    return BetaRequest(asset, hedge, params)


def daemons(feed: ReplayFeed, wanted: BetaRequest, now_s: int) -> BetaEstimate:
    """``estimate_for`` on the candles the feed (the simulated exchange) answers at ``now_s``."""
    p = wanted.params
    interval, count = p.interval_seconds, p.candles_needed
    first = -(-(now_s - interval * count) // interval) * interval
    candles = [
        feed.candles(coin, from_epoch(now_s), count, since=from_epoch(first), timeframe=interval)[
            -count:
        ]
        for coin in (wanted.asset, wanted.hedge)
    ]
    return estimate_for(wanted, candles[0], candles[1], from_epoch(now_s))


def backtests(history: History, wanted: BetaRequest, now_s: int) -> BetaEstimate | None:
    return history.ols(wanted, now_s, from_epoch(now_s))


def test_equal_at_many_random_points_of_real_data() -> None:
    """600 random instants and estimators over a year of real SOL, BTC and ETH hours with
    random holes (single hours, runs of a day or more): every field equal."""
    rng = np.random.default_rng(14)
    gaps = {
        coin: frozenset(
            {int(h) for h in rng.integers(0, HOURS, 60)}
            | {h for start in rng.integers(0, HOURS - 60, 3) for h in range(start, start + 40)}
        )
        for coin in COINS
    }
    feed = real_feed(gaps)
    history = History(feed)
    states: Counter[str] = Counter()
    for _ in range(600):
        asset, hedge = rng.permutation(COINS)[:2].tolist()
        horizon = [HOUR, 4 * HOUR, DAY][int(rng.integers(0, 3))]
        interval = HOUR if horizon == HOUR or rng.random() < 0.7 else 4 * HOUR
        window = int(rng.integers(2, 900 if horizon == HOUR else 60))
        wanted = request(
            asset,
            hedge,
            interval=interval,
            window=window,
            aggregate=None if horizon == interval else horizon,
            min_observations=int(rng.integers(2, window + 1)),
            max_age_hours=int(rng.choice([1, 2, 6, 48])),
        )
        now_s = START + int(rng.integers(0, HOURS + 72)) * HOUR + int(rng.choice([0, 1, 1799]))
        ours = backtests(history, wanted, now_s)
        theirs = daemons(feed, wanted, now_s)
        if ours is None:  # only where no window can be cut: the daemon has no return either
            assert theirs.n == 0
            continue
        assert ours == theirs
        states[ours.state] += 1
    assert min(states[s] for s in ("ok", "insufficient_data", "stale")) >= 10, states


gap_sets = st.frozensets(st.integers(min_value=0, max_value=HOURS - 1), max_size=300)


@settings(max_examples=40, deadline=None)
@given(
    asset_gaps=gap_sets,
    hedge_gaps=gap_sets,
    hole=st.integers(min_value=0, max_value=HOURS - 200),
    hole_hours=st.integers(min_value=0, max_value=150),
    now_hours=st.integers(min_value=0, max_value=HOURS + 100),
    aggregate=st.sampled_from([None, 4 * HOUR, DAY]),
    window=st.integers(min_value=2, max_value=800),
    min_fraction=st.floats(min_value=0.0, max_value=1.0),
    max_age_hours=st.sampled_from([1, 3, 48]),
)
def test_equal_on_random_gap_patterns(
    asset_gaps: frozenset[int],
    hedge_gaps: frozenset[int],
    hole: int,
    hole_hours: int,
    now_hours: int,
    aggregate: int | None,
    window: int,
    min_fraction: float,
    max_age_hours: int,
) -> None:
    if aggregate is not None:
        window = max(2, window // 10)
    feed = real_feed(
        {"SOL": asset_gaps | frozenset(range(hole, hole + hole_hours)), "BTC": hedge_gaps}
    )
    wanted = request(
        "SOL",
        "BTC",
        window=window,
        aggregate=aggregate,
        min_observations=2 + int(min_fraction * (window - 2)),
        max_age_hours=max_age_hours,
    )
    now_s = START + now_hours * HOUR + 600
    ours = backtests(History(feed), wanted, now_s)
    theirs = daemons(feed, wanted, now_s)
    if ours is None:
        assert theirs.n == 0
    else:
        assert ours == theirs


# --- the overflow guard in the bulk path -----------------------------------------------------


def dyadic_returns(rng: np.random.Generator, size: int) -> AlignedReturns:
    """Returns that are multiples of 2**-20 (quantised exactly), with some beyond MAX_STEP: up
    to 2**19, whose limb products (2**78) wrap in int64 (no log return of prices is that large,
    but the guard must hold for any quantisable value)."""
    hedge = rng.normal(0, 0.02, size)
    asset = 1.2 * hedge + rng.normal(0, 0.02, size)
    for i in rng.integers(0, size, max(1, size // 200)):
        asset[i] = rng.choice([-1.0, 1.0]) * 2 ** rng.uniform(2, 19)
        hedge[i] = rng.choice([-1.0, 1.0]) * 2 ** rng.uniform(2, 19)
    asset, hedge = np.round(asset * 2**20) / 2**20, np.round(hedge * 2**20) / 2**20
    ends = START + HOUR * np.cumsum(rng.integers(1, 3, size)).astype(np.int64)
    return AlignedReturns(HOUR, ends, asset, hedge)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    size=st.integers(min_value=1, max_value=3000),
    window=st.integers(min_value=2, max_value=1500),
    bounds=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    late_hours=st.integers(min_value=0, max_value=5),
)
def test_prefix_windows_equal_the_daemons_with_returns_beyond_the_int64_range(
    seed: int, size: int, window: int, bounds: tuple[float, float], late_hours: int
) -> None:
    rng = np.random.default_rng(seed)
    whole = dyadic_returns(rng, size)
    lo, hi = sorted(int(b * size) for b in bounds)
    wanted = request("A", "B", window=window, min_observations=2, max_age_hours=3)
    now = from_epoch(int(whole.ends[hi - 1] if hi else whole.ends[0]) + late_hours * HOUR)
    windows = OlsWindows.of(whole, whole.ends.tolist(), {})
    assert windows is not None
    part = AlignedReturns(HOUR, whole.ends[lo:hi], whole.asset[lo:hi], whole.hedge[lo:hi])
    p = wanted.params
    theirs = estimate_from_returns(
        part,
        method="ols",
        window=window,
        half_life=None,
        min_observations=2,
        max_age=p.max_age,
        now=now,
    )
    assert windows.estimate(lo, hi, p.window, 2, p.max_age, now) == theirs


def test_a_huge_return_in_the_window_is_summed_exactly_on_both_paths() -> None:
    rng = np.random.default_rng(3)
    whole = dyadic_returns(rng, 2000)
    assert int(np.abs(quantise(whole.asset)).max()) >= MAX_STEP  # the guard is needed
    windows = OlsWindows.of(whole, whole.ends.tolist(), {})
    assert windows is not None
    now = from_epoch(int(whole.ends[-1]))
    for window in (720, MAX_WINDOW + 1):  # a long window: no int64 sums at all
        wanted = request("A", "B", window=window, min_observations=2)
        ours = windows.estimate(0, 2000, window, 2, wanted.params.max_age, now)
        theirs = estimate_from_returns(
            whole,
            method="ols",
            window=window,
            half_life=None,
            min_observations=2,
            max_age=wanted.params.max_age,
            now=now,
        )
        assert ours == theirs
        assert ours.state == "ok"
        used = slice(max(0, 2000 - window), 2000)
        a, b = whole.asset[used], whole.hedge[used]
        assert np.array_equal(np.rint(a / QUANTUM) * QUANTUM, a)  # nothing to round
        da, db = a - a.mean(), b - b.mean()
        assert ours.beta is not None
        assert abs(ours.beta / (float(da @ db) / float(db @ db)) - 1) < 1e-12


def test_returns_that_cannot_be_quantised_use_the_daemons_path() -> None:
    whole = AlignedReturns(
        HOUR,
        START + HOUR * np.arange(1, 4, dtype=np.int64),
        np.array([0.01, np.nan, 0.02]),
        np.array([0.01, 0.02, 0.03]),
    )
    assert OlsWindows.of(whole, whole.ends.tolist(), {}) is None


# --- against EstimateCache, tick by tick -----------------------------------------------------

RULES = """
  - kind: beta
    asset: SOL
    ratio: 1
    hedge_with: BTC
    estimator: {interval: 1h, window: 720, refresh_minutes: 60}
  - kind: beta
    asset: ETH
    ratio: 1
    hedge_with: BTC
    estimator: {interval: 1h, aggregate_to: 1d, window: 30, min_observations: 10,
                refresh_minutes: 120, max_age_hours: 30}
"""


def rules() -> list[HedgeRule]:
    cfg = config("exchange: {id: sim, sim: {replay: {path: ../data/replay}}}\nrules:" + RULES)
    return [build_rule(rule) for rule in cfg.rules]


def test_estimates_equal_the_daemons_cache_tick_by_tick_on_real_data() -> None:
    """Across the LUNA crash (May 2022), with an ETH hole of 30 hours: every tick's βs."""
    luna = 128 * 24  # hours from START to 2022-05-09
    feed = real_feed({"ETH": frozenset(range(luna + 20, luna + 50))})
    beta_rules = rules()
    estimates = Estimates(feed, beta_rules)
    sim = SimExchange(feed, SimParams(), start=from_epoch(START + luna * HOUR))
    daemon = EstimateCache(SimExchangePort(sim))
    states: Counter[str] = Counter()
    for hour in range(luna, luna + 96):
        now = from_epoch(START + hour * HOUR + 120)
        sim.set_time(now)
        estimates.refresh(now)
        asyncio.run(daemon.refresh(beta_rules, now))
        assert dict(estimates.betas) == daemon.betas
        states.update(e.state for e in daemon.betas.values())
    assert states["ok"]
    assert states["stale"]
