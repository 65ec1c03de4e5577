"""Watch checks: correlation breakdown of proxies in use, and perp-vs-spot basis."""

from __future__ import annotations

from bot.core.types import HedgeTarget, Ticker
from strategies.watch import basis, basis_events, correlation_breakdown
from tests.core.factories import BTC, ETH, SOL, inverse

from .helpers import D, estimate, markets

LISTED = markets(inverse(BTC), inverse(ETH, 10), inverse(SOL, 10))


def proxy(asset: str, instrument: str, usd: int = 100_000) -> HedgeTarget:
    return HedgeTarget(asset, instrument, D("0.7"), D(usd), D("1.4"), D("0.8"), proxy=True)


def test_breakdown_only_for_proxies_in_use_below_the_floor() -> None:
    targets = [
        proxy("SOL", BTC),
        proxy("AVAX", ETH),
        proxy("ADA", BTC, usd=0),  # lifted: not in use
        HedgeTarget("BTC", BTC, D(1), D(5_000)),  # not a proxy
    ]
    estimates = {
        ("SOL", "BTC"): estimate(1.4, 0.62),
        ("AVAX", "ETH"): estimate(1.1, 0.75),
        ("ADA", "BTC"): estimate(1.2, 0.1),
    }
    (event,) = correlation_breakdown(targets, LISTED, estimates, D("0.7"))
    assert (event.kind, event.asset, event.instrument, event.severity) == (
        "correlation_breakdown",
        "SOL",
        BTC,
        "critical",
    )
    assert event.values["rho"] == "0.62"
    assert "at most 38% of the variance" in event.message
    per_asset = correlation_breakdown(targets, LISTED, estimates, {"AVAX": D("0.8")})
    assert [e.asset for e in per_asset] == ["AVAX"]


def test_basis_beyond_threshold() -> None:
    assert basis(D(60_060), D(60_000)) == D("0.001")
    tickers = {
        BTC: Ticker(BTC, last=D(60_060)),  # +10 bp
        ETH: Ticker(ETH, last=D("2994")),  # −20 bp
        SOL: Ticker(SOL, last=D(150)),  # no spot price: skipped
    }
    spot = {"BTC": D(60_000), "ETH": D(3_000)}
    events = basis_events(tickers, spot, LISTED, D("0.0015"))
    assert [(e.kind, e.instrument, e.values["basis"]) for e in events] == [
        ("basis_beyond_threshold", ETH, "-0.002")
    ]
    assert len(basis_events(tickers, spot, LISTED, D("0.0005"))) == 2
