"""``bot.backtest.estimates``: the shortcuts it takes give the daemon's numbers.

- the returns of a β request are cut from the two coins' whole histories: the same floats as
  those of the fetched candles, at any time, window, horizon and gap pattern;
- a due β is computed only when a rule reads it, as of the tick it fell due.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.backtest.estimates import Estimates
from bot.backtest.history import History
from bot.daemon.estimates import EstimateCache
from bot.exchange.sim_port import SimExchangePort
from bot.sim.engine import SimExchange
from bot.sim.feed import ReplayFeed
from bot.sim.params import SimParams
from bot.sim.series import Series, from_epoch
from bot.stats.returns import CloseSeries, aligned_returns
from strategies import build_rule
from strategies.base import HedgeRule
from strategies.requests import BetaParams, BetaRequest
from tests.backtest.helpers import config, utc

START = 1_704_067_200  # 2024-01-01T00:00:00Z
HOUR = 3600
HOURS = 10 * 24


def series(
    coin: str, missing: frozenset[int], drift: int, step: int = HOUR, count: int = HOURS
) -> Series:
    """``count`` candles of ``step`` seconds, without the ones numbered in ``missing``."""
    out = Series(coin, step)
    for hour in range(count):
        if hour in missing:
            continue
        close = Decimal(100 + (hour * drift) % 37) + Decimal(hour) / 100
        out.opens.append(START + hour * step)
        for column in (out.open, out.high, out.low, out.close):
            column.append(close)
        out.volume.append(Decimal(1))
    out.build_slots()
    return out


gaps = st.frozensets(st.integers(min_value=1, max_value=HOURS - 2), max_size=40)


@settings(max_examples=80, deadline=None)
@given(
    asset_missing=gaps,
    hedge_missing=gaps,
    now_hours=st.integers(min_value=1, max_value=HOURS),
    now_minutes=st.sampled_from([0, 17]),
    window=st.integers(min_value=2, max_value=60),
    aggregate_hours=st.sampled_from([None, 1, 2, 4, 24]),
)
def test_returns_cut_from_the_whole_history_equal_the_fetched_candles_returns(
    asset_missing: frozenset[int],
    hedge_missing: frozenset[int],
    now_hours: int,
    now_minutes: int,
    window: int,
    aggregate_hours: int | None,
) -> None:
    feed = ReplayFeed.from_series(
        [series("SOL", asset_missing, 7), series("BTC", hedge_missing, 3)]
    )
    history = History(feed)
    aggregate = None if aggregate_hours is None else aggregate_hours * HOUR
    params = BetaParams(
        "1h", HOUR, window, "ols", None, aggregate, 2, timedelta(hours=48), timedelta(hours=1)
    )
    request = BetaRequest("SOL", "BTC", params)
    now_s = START + now_hours * HOUR + now_minutes * 60
    count = params.candles_needed
    fetched = [history.closes(coin, HOUR, count, now_s) for coin in ("SOL", "BTC")]
    theirs = aligned_returns(fetched[0], fetched[1], aggregate)
    ours = history.aligned(request, now_s)
    if ours is None:  # allowed only where the cut does not apply
        assert not all(len(f) for f in fetched) or not len(theirs)
        return
    assert ours.horizon_seconds == theirs.horizon_seconds
    assert ours.ends.tolist() == theirs.ends.tolist()
    assert ours.asset.tolist() == theirs.asset.tolist()  # the same floats, not just close
    assert ours.hedge.tolist() == theirs.hedge.tolist()


MINUTE = 60
MINUTES = 3 * 24 * 60
minute_gaps = st.frozensets(st.integers(min_value=1, max_value=MINUTES - 2), max_size=200)


@settings(max_examples=40, deadline=None)
@given(
    asset_missing=minute_gaps,
    hedge_missing=minute_gaps,
    missing_hour=st.integers(min_value=0, max_value=71),
    now_minutes=st.integers(min_value=60, max_value=MINUTES),
    interval_minutes=st.sampled_from([15, 60]),
    window=st.integers(min_value=2, max_value=40),
    aggregate_hours=st.sampled_from([None, 1, 4]),
)
def test_returns_at_a_longer_interval_than_the_data_equal_the_feeds_candles_returns(
    asset_missing: frozenset[int],
    hedge_missing: frozenset[int],
    missing_hour: int,
    now_minutes: int,
    interval_minutes: int,
    window: int,
    aggregate_hours: int | None,
) -> None:
    """1-minute data, estimates on 15-minute or hourly candles: what the simulated exchange
    answers for that timeframe (``ReplayFeed.candles``), including buckets with missing
    minutes and a whole hour missing from one coin."""
    whole_hour = frozenset(range(missing_hour * 60, missing_hour * 60 + 60))
    feed = ReplayFeed.from_series(
        [
            series("SOL", asset_missing | whole_hour, 7, MINUTE, MINUTES),
            series("BTC", hedge_missing, 3, MINUTE, MINUTES),
        ]
    )
    history = History(feed)
    interval = interval_minutes * MINUTE
    aggregate = None if aggregate_hours is None else aggregate_hours * HOUR
    if aggregate is not None and aggregate < interval:
        aggregate = None
    params = BetaParams(
        "x", interval, window, "ols", None, aggregate, 2, timedelta(hours=48), timedelta(hours=1)
    )
    request = BetaRequest("SOL", "BTC", params)
    now_s = START + now_minutes * MINUTE
    count = params.candles_needed
    first = -(-(now_s - interval * count) // interval) * interval
    fetched = []
    for coin in ("SOL", "BTC"):
        candles = feed.candles(
            coin, from_epoch(now_s), count, since=from_epoch(first), timeframe=interval
        )
        theirs_closes = CloseSeries.from_candles(candles[-count:], interval)
        ours_closes = history.closes(coin, interval, count, now_s)
        assert ours_closes.opens.tolist() == theirs_closes.opens.tolist()
        assert ours_closes.closes.tolist() == theirs_closes.closes.tolist()
        fetched.append(theirs_closes)
    theirs = aligned_returns(fetched[0], fetched[1], aggregate)
    ours = history.aligned(request, now_s)
    if ours is None:
        assert not all(len(f) for f in fetched) or not len(theirs)
        return
    assert ours.horizon_seconds == theirs.horizon_seconds
    assert ours.ends.tolist() == theirs.ends.tolist()
    assert ours.asset.tolist() == theirs.asset.tolist()
    assert ours.hedge.tolist() == theirs.hedge.tolist()


def test_closes_are_the_fetched_window_of_the_whole_series() -> None:
    feed = ReplayFeed.from_series([series("SOL", frozenset({5, 6, 55}), 7)])
    history = History(feed)
    now_s = START + 60 * HOUR + 600  # the last 10 hours: candles opened at 51:00 .. 59:00
    closes = history.closes("SOL", HOUR, 10, now_s)
    assert closes.opens.tolist() == [START + h * HOUR for h in range(51, 60) if h != 55]
    data = feed.series("SOL")
    by_open = dict(zip(data.opens, data.close, strict=True))
    assert closes.closes.tolist() == [float(by_open[t]) for t in closes.opens.tolist()]
    assert history.closes("SOL", HOUR, 100, START + 3 * HOUR).opens.tolist() == [
        START,
        START + HOUR,
        START + 2 * HOUR,
    ]


AUTO_RULE = """
  - kind: beta
    asset: SOL
    ratio: 1
    hedge_with: {hedge_with}
    candidates: [BTC]
    rho_floor: 0
    estimator: {{interval: 1h, aggregate_to: 4h, window: 20, refresh_minutes: 60}}
"""


def rule(hedge_with: str) -> HedgeRule:
    cfg = config(
        "exchange: {id: sim, sim: {replay: {path: ../data/replay}}}\nrules:"
        + AUTO_RULE.format(hedge_with=hedge_with)
    )
    return build_rule(cfg.rules[0])


def test_a_due_beta_is_computed_when_read_as_of_when_it_fell_due() -> None:
    feed = ReplayFeed.from_series(
        [series("SOL", frozenset({30, 31, 100}), 7), series("BTC", frozenset({55}), 3)]
    )
    beta_rule = rule("BTC")
    estimates = Estimates(feed, [beta_rule])
    sim = SimExchange(feed, SimParams(), start=from_epoch(START + 6 * 24 * HOUR))
    daemon = EstimateCache(SimExchangePort(sim))
    due_at = sim.now
    estimates.refresh(due_at)
    asyncio.run(daemon.refresh([beta_rule], due_at))
    later = due_at + timedelta(minutes=30)  # not due again: still the estimate of ``due_at``
    estimates.refresh(later)
    assert (estimates.due, estimates.betas.computed) == (1, 0)
    assert estimates.betas.view() is estimates.betas  # still to be computed on first read
    assert estimates.betas[("SOL", "BTC")] == daemon.betas[("SOL", "BTC")]
    assert estimates.betas[("SOL", "BTC")].estimated_at == due_at
    assert estimates.betas[("SOL", "BTC")].ok
    assert estimates.betas.computed == 1  # read twice, computed once
    view = estimates.betas.view()  # all computed: a plain dict of the same entries
    assert type(view) is dict
    assert view == daemon.betas
    estimates.refresh(due_at + timedelta(days=1))  # due again: lazy again
    assert estimates.due == 2
    assert estimates.betas.view() is estimates.betas


def test_a_beta_no_rule_reads_is_never_computed() -> None:
    feed = ReplayFeed.from_series([series("SOL", frozenset(), 7), series("BTC", frozenset(), 3)])
    estimates = Estimates(feed, [rule("auto")])
    for hour in range(5 * 24, 6 * 24):
        estimates.refresh(from_epoch(START + hour * HOUR))
    assert estimates.due == 24  # every hour, as the daemon schedules it
    assert estimates.betas.computed == 0
    assert list(estimates.betas) == [("SOL", "BTC")]
    assert estimates.betas[("SOL", "BTC")].estimated_at == utc(2024, 1, 6, 23)
    assert estimates.betas.computed == 1
