"""Acceptance figures of ``hedgebot backtest`` on the whole shared data (not a timed test).

    .venv/bin/python bench/backtest_acceptance.py [--data ../shared/data]

1. BTC hedged 100% with its own inverse perp, 2019-05-01 .. 2020-06-30 (the Deribit index as
   the price: the inverse funding histories end in 2020, before the spot files start), with the
   Deribit and then the BitMEX funding history: effectiveness >= 0.97.
2. SOL hedged with BTC, beta-adjusted (``kind: beta``, OLS on daily returns), 2022-04-01 to the
   end of the spot data: effectiveness >= 0.97 × its ρ² ceiling.
3. The same with a band of 0 (rebalance every tick) against 5 %: the band saves fees at equal
   effectiveness (within 1 percentage point); 2 % and 10 % bands, EWMA β and the 70 % hedge
   for comparison.

Prints the side-by-side tables and a one-line verdict per criterion; exit 1 if one fails.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.backtest import BacktestOptions, BacktestResult, load_for, run_backtest  # noqa: E402
from bot.backtest.report import print_comparison  # noqa: E402
from bot.config.loader import load_config  # noqa: E402

CONFIGS = REPO / "config"


def runs(
    names: list[str], data: Path, options: BacktestOptions, labels: list[str] | None = None
) -> list[BacktestResult]:
    configs = [load_config(CONFIGS / f"backtest-{name}.yaml") for name in names]
    market = load_for(configs, data, options)
    return [
        run_backtest(config, market, options, name=label)
        for config, label in zip(configs, labels or names, strict=True)
    ]


def verdict(ok: bool, text: str) -> bool:
    print(f"{'PASS' if ok else 'FAIL'}: {text}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    console = Console(width=200)
    results: list[bool] = []

    btc = BacktestOptions(
        start=datetime(2019, 5, 1, tzinfo=UTC), end=datetime(2020, 6, 30, tzinfo=UTC)
    )
    deribit = runs(["btc-inverse"], args.data, btc, ["btc-inverse-deribit"])[0]
    bitmex_options = BacktestOptions(start=btc.start, end=btc.end, funding={"BTC": "bitmex"})
    bitmex = runs(["btc-inverse"], args.data, bitmex_options, ["btc-inverse-bitmex"])[0]
    print_comparison(console, [deribit, bitmex])
    for result in (deribit, bitmex):
        eff = result.effectiveness or 0.0
        results.append(verdict(eff >= 0.97, f"{result.name}: effectiveness {eff:.5f} >= 0.97"))

    sol = BacktestOptions(start=datetime(2022, 4, 1, tzinfo=UTC))
    names = ["sol-btc-full", "sol-btc-band0", "sol-btc-band2", "sol-btc-band10"]
    names += ["sol-btc-ewma", "sol-btc"]
    sol_runs = runs(names, args.data, sol)
    print_comparison(console, sol_runs)
    full, band0 = sol_runs[0], sol_runs[1]
    eff, ceiling = full.effectiveness or 0.0, full.ceiling or 1.0
    results.append(
        verdict(
            eff >= 0.97 * ceiling,
            f"SOL/BTC beta, band 5%: effectiveness {eff:.4f} >= 0.97 × ceiling {ceiling:.4f} "
            f"({eff / ceiling:.1%} of it)",
        )
    )
    gap = (band0.effectiveness or 0.0) - eff
    results.append(
        verdict(
            abs(gap) <= 0.01 and band0.costs.fees > full.costs.fees,
            f"band 0 vs 5%: fees {float(band0.costs.fees):,.2f} vs {float(full.costs.fees):,.2f} "
            f"USD, effectiveness {band0.effectiveness:.4f} vs {eff:.4f} ({gap * 100:+.2f} pp)",
        )
    )
    raise SystemExit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
