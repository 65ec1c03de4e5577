"""``QuietWindow.renew``: a window's plan after funding settlements, made from the one before,
is the plan ``QuietWindow.plan`` makes anew, figure for figure."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from bot.backtest import BacktestOptions, load_for
from bot.backtest.runner import Replay
from bot.backtest.skip import QuietWindow
from bot.backtest.skip_plan import QuietPlan
from bot.backtest.skip_terms import Terms
from bot.backtest.wallets import WalletState
from bot.core.types import Snapshot
from tests.backtest.helpers import REPO
from tests.shared_data import SHARED_DATA, require


@pytest.mark.parametrize("book", ["funding", "ratio", "beta"])
def test_renewed_plan_is_the_plan_made_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, book: str
) -> None:
    """Over a year of real hourly candles and Binance funding (the bench's books), every
    renewal is compared with ``plan`` on the same inputs; most take the short path."""
    sys.path.insert(0, str(REPO / "bench"))
    import backtest_bench as bench

    require(SHARED_DATA / "spot_1h")
    bench.write_hourly(SHARED_DATA, tmp_path / "hourly")
    config = bench.config(bench.TEN, "0.05", book)
    market = load_for([config], tmp_path / "hourly")
    renew = QuietWindow.renew
    counts = {"short": 0, "anew": 0}

    def checked(
        window: QuietWindow,
        replay: Replay,
        plan: QuietPlan,
        snapshot: Snapshot,
        states: Mapping[str, WalletState],
        terms: Terms,
    ) -> QuietPlan | None:
        renewed = renew(window, replay, plan, snapshot, states, terms)
        fresh = window.plan(replay, snapshot, states, terms)
        if renewed is None or fresh is None:
            assert renewed is fresh
            return renewed
        assert renewed.instruments == fresh.instruments
        assert renewed.coins == fresh.coins
        assert (renewed.until, renewed.terms) == (fresh.until, fresh.terms)
        assert (renewed.idle is None) == (fresh.idle is None)
        assert renewed.made_from is not None
        assert fresh.made_from is not None
        assert renewed.made_from[:2] == fresh.made_from[:2]
        counts["short" if renewed.made_from is plan.made_from else "anew"] += 1
        return renewed

    monkeypatch.setattr(QuietWindow, "renew", checked)
    replay = Replay(config, market, BacktestOptions())
    replay.run()
    assert counts["short"] > 500, counts
