"""Acceptance figures of the collateral policy in the backtest (not a timed test).

    .venv/bin/python bench/collateral_acceptance.py [--data ../shared/data] [--caps]

10,000 SOL hedged 100 % beta-adjusted on BTC/USD:BTC, 2022-04-01 .. 2026-05-15, leverage 5,
BTC margin worth 10 % of the SOL book at the start price, no spot BTC
(config/backtest-collateral-*.yaml):

- ``collateral-spot`` (fund_from: spot, convert: true): no liquidation, no refused order,
  effectiveness no worse than 1 percentage point below ``collateral-unlimited`` (the same rule
  with margin worth 10 x the book and nothing moved); prints peak margin, transfers and
  conversions;
- ``collateral-none`` (fund_from: none): no liquidation, no refused order, and the shortfall
  reported (margin shortfall hours > 0).

The conversions sell SOL for BTC held USD-neutral (never released to spot), so collateral-spot
ends with a smaller SOL book than it started with, and its effectiveness (measured against the
unhedged starting book) is not comparable to collateral-unlimited's. The like-for-like
references replay the rule with collateral-spot's own actions (the same SOL sold for the same
BTC, moved to margin at the same ticks) and margin that never binds: ``same book, 1x`` with BTC
margin worth the SOL book at the start (26.98 BTC), ``same book, 10x`` with collateral-unlimited's
269.8 BTC (whose extra BTC held USD-neutral adds its own daily PnL: funding on its short, and
its drift inside its band). Criterion: collateral-spot within 1 pp of ``same book, 1x``.

``--caps`` also replays collateral-spot with other daily caps (transfer / convert, USD) and
prints the shortfall they leave, in all and after the first 30 days (the first conversions
are capped by design; after that, a shortfall means a rally outran the caps).

Prints the side-by-side table and a PASS/FAIL line per criterion; exit 1 if one fails.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from rich.console import Console

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.backtest import (  # noqa: E402
    BacktestOptions,
    BacktestResult,
    MarketData,
    load_for,
    run_backtest,
)
from bot.backtest.collateral import Done, execute_actions  # noqa: E402
from bot.backtest.report import print_comparison  # noqa: E402
from bot.backtest.result import summarize  # noqa: E402
from bot.backtest.runner import Replay  # noqa: E402
from bot.backtest.snapshot import Change  # noqa: E402
from bot.config.loader import load_config, parse_config  # noqa: E402
from bot.config.models import Config  # noqa: E402
from bot.core.types import CollateralAction  # noqa: E402

CONFIGS = REPO / "config"
PERIOD = BacktestOptions(
    start=datetime(2022, 4, 1, tzinfo=UTC), end=datetime(2026, 5, 15, tzinfo=UTC)
)
NAMES = ("collateral-spot", "collateral-none", "collateral-unlimited")
CAPS = ((100_000, 50_000), (250_000, 100_000), (250_000, 250_000), (500_000, 250_000))
MONTH_S = 30 * 86_400


def verdict(ok: bool, text: str) -> bool:
    print(f"{'PASS' if ok else 'FAIL'}: {text}")
    return ok


def late_shortfall_hours(result: BacktestResult) -> float:
    """Hours with a margin shortfall after the first 30 days."""
    series = result.series
    late = series.shortfall[series.times >= series.times[0] + MONTH_S]
    return float(np.sum(late)) * result.step_seconds / 3600


def figures(result: BacktestResult) -> str:
    moves = result.collateral
    peaks = ", ".join(
        f"{p.coin} {p.peak_used:.1%} at {p.peak_at:%Y-%m-%d %H:%M}, required up to "
        f"{p.peak_required:,.4f} {p.coin} / {p.peak_required_usd:,.0f} USD"
        for p in result.margin
    )
    return (
        f"{result.name}: effectiveness {result.effectiveness:.4f} (ceiling "
        f"{result.ceiling:.4f}); liquidations {result.costs.liquidations}, refused orders "
        f"{len(result.rejected)}; margin shortfall {result.shortfall_hours:,.0f} h "
        f"({late_shortfall_hours(result):,.0f} h after the first 30 days); peak margin used "
        f"{peaks or '-'}; transfers to margin {moves.to_margin} ({moves.to_margin_usd:,.0f} USD)"
        f", to spot {moves.to_spot} ({moves.to_spot_usd:,.0f} USD); conversions "
        f"{moves.conversions} ({moves.converted_usd:,.0f} USD of SOL sold); collateral "
        f"actions refused {moves.failed}, increases held {moves.held_increases}; fees "
        f"{result.costs.fees:,.0f} USD; runtime {result.runtime_seconds:.1f} s"
    )


class Scripted(Replay):
    """A replay that runs given collateral actions (by epoch second) before those ticks."""

    def __init__(
        self,
        config: Config,
        market: MarketData,
        options: BacktestOptions,
        script: dict[int, list[CollateralAction]],
    ) -> None:
        super().__init__(config, market, options)
        self.script = script

    def _tick(self, tick: int, change: Change) -> bool:
        actions = self.script.get(self.sim.now_ms // 1000)
        if actions:
            outcome = execute_actions(self.sim, actions)
            self.activity.collateral.extend(outcome.done)
            change = "all"
        return super()._tick(tick, change)


def replay(
    config: Config, market: MarketData, name: str, script: dict[int, list[CollateralAction]]
) -> tuple[BacktestResult, list[Done]]:
    began = time.perf_counter()
    run = Scripted(config, market, PERIOD, script)
    run.run()
    return summarize(run, name, time.perf_counter() - began), run.activity.collateral


def with_caps(config_text: str, transfer: int, convert: int) -> Config:
    text = re.sub(
        r"max_transfer_per_day_usd: \d+", f"max_transfer_per_day_usd: {transfer}", config_text
    )
    text = re.sub(r"max_convert_per_day_usd: \d+", f"max_convert_per_day_usd: {convert}", text)
    return parse_config(text, base_dir=CONFIGS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--caps", action="store_true", help="replay other daily caps too")
    args = parser.parse_args()
    configs = [load_config(CONFIGS / f"backtest-{name}.yaml") for name in NAMES]
    began = time.perf_counter()
    market = load_for(configs, args.data, PERIOD)
    print(f"data loaded in {time.perf_counter() - began:.1f} s")
    spot, done = replay(configs[0], market, NAMES[0], {})
    none, unlimited = (
        run_backtest(config, market, PERIOD, name=name)
        for config, name in zip(configs[1:], NAMES[1:], strict=True)
    )
    script: dict[int, list[CollateralAction]] = {}
    for step in done:
        if step.ok:
            script.setdefault(step.at_s, []).append(step.action)
    text = (CONFIGS / "backtest-collateral-unlimited.yaml").read_text()
    one_x = parse_config(text.replace("BTC: 269.8", "BTC: 26.98"), base_dir=CONFIGS)
    same, scripted = replay(one_x, market, "same book, 1x", script)
    same_10x, _ = replay(configs[2], market, "same book, 10x", script)
    print_comparison(Console(width=160), [spot, none, unlimited, same, same_10x])
    for result in (spot, none, unlimited, same, same_10x):
        print(figures(result))
    sold = sum(s.action.amount for s in done if s.ok and s.action.kind == "spot_sell")
    replayed = sum(1 for s in scripted if not s.ok)
    print(
        f"SOL sold by conversions: {sold:,.2f} of 10,000; actions replayed on the "
        f"same book: {len(scripted)} ({replayed} refused)"
    )
    eff, reference = spot.effectiveness or 0.0, unlimited.effectiveness or 0.0
    like, like_10x = same.effectiveness or 0.0, same_10x.effectiveness or 0.0
    results = [
        verdict(
            spot.costs.liquidations == 0, f"collateral-spot: {spot.costs.liquidations} liquidations"
        ),
        verdict(not spot.rejected, f"collateral-spot: {len(spot.rejected)} refused orders"),
        verdict(
            eff >= reference - 0.01,
            f"collateral-spot effectiveness {eff:.4f} vs {reference:.4f} with unlimited margin "
            f"({(eff - reference) * 100:+.2f} pp; no worse than -1 pp)",
        ),
        verdict(
            none.costs.liquidations == 0, f"collateral-none: {none.costs.liquidations} liquidations"
        ),
        verdict(not none.rejected, f"collateral-none: {len(none.rejected)} refused orders"),
        verdict(
            none.shortfall_hours > 0,
            f"collateral-none: margin shortfall {none.shortfall_hours:,.0f} h reported",
        ),
    ]
    print(
        f"note: within 1 pp both ways: {'yes' if abs(eff - reference) <= 0.01 else 'no'} "
        f"({(eff - reference) * 100:+.2f} pp)"
    )
    results.append(
        verdict(
            abs(eff - like) <= 0.01 and same.shortfall_ticks == 0,
            f"collateral-spot effectiveness {eff:.4f} vs {like:.4f} on the same book with margin "
            f"that never binds ({(eff - like) * 100:+.2f} pp, shortfall "
            f"{same.shortfall_hours:,.0f} h; within 1 pp both ways)",
        )
    )
    print(
        f"note: same book with collateral-unlimited's 269.8 BTC: {like_10x:.4f} "
        f"({(eff - like_10x) * 100:+.2f} pp)"
    )
    if args.caps:
        text = (CONFIGS / "backtest-collateral-spot.yaml").read_text()
        print("== collateral-spot with other daily caps (transfer / convert, USD)")
        for transfer, convert in CAPS:
            result = run_backtest(
                with_caps(text, transfer, convert), market, PERIOD, name=f"{transfer}/{convert}"
            )
            moves = result.collateral
            print(
                f"caps {transfer:,} / {convert:,}: effectiveness {result.effectiveness:.4f}, "
                f"shortfall {result.shortfall_hours:,.0f} h ({late_shortfall_hours(result):,.0f}"
                f" h after 30 days), transfers {moves.transfers} ({moves.transferred_usd:,.0f} "
                f"USD), conversions {moves.conversions} ({moves.converted_usd:,.0f} USD), "
                f"liquidations {result.costs.liquidations}, refused {len(result.rejected)}"
            )
    raise SystemExit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
