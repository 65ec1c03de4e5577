"""Watch checks: proxy correlation breakdown and perp-vs-spot basis. Pure, event-producing.

Both are level-triggered (an event on every check while the condition holds); ``RuleEvent.key``
lets the alerting side de-duplicate.

- Correlation breakdown: for every proxy hedge in use (a target with ``proxy=True``), the
  rolling ρ of the asset against the hedge coin (an ok ``BetaEstimate``, e.g. over a shorter
  window than the rule's) below the floor. ρ² is the best variance reduction the proxy can give
  (hedging-math.md §3).
- Basis: ``|perp / spot − 1|`` above a threshold (fraction; 0.005 = 50 bp). The shared data
  README measured a p99 of about 10-14 bp for BTC/ETH/SOL mark vs spot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from bot.core.types import HedgeTarget, Market, Ticker
from bot.stats.beta import BetaEstimate
from strategies.events import RuleEvent

ONE = Decimal(1)


def correlation_breakdown(
    targets: Sequence[HedgeTarget],
    markets: Mapping[str, Market],
    estimates: Mapping[tuple[str, str], BetaEstimate],
    rho_floor: Decimal | Mapping[str, Decimal],
) -> list[RuleEvent]:
    """One ``correlation_breakdown`` event per proxy in use whose ρ is below its floor.

    ``rho_floor``: one floor, or one per asset (assets missing from the mapping are skipped).
    Proxies with no ok estimate are left to the rule's own ``beta_unavailable`` event.
    """
    events: list[RuleEvent] = []
    seen: set[tuple[str, str]] = set()
    for target in targets:
        market = markets.get(target.instrument)
        if not target.proxy or market is None or target.target_short_usd <= 0:
            continue
        key = (target.asset, market.base)
        floor = rho_floor if isinstance(rho_floor, Decimal) else rho_floor.get(target.asset)
        estimate = estimates.get(key)
        if key in seen or floor is None or estimate is None or estimate.rho is None:
            continue
        seen.add(key)
        if not estimate.ok or Decimal(repr(estimate.rho)) >= floor:
            continue
        rho = Decimal(repr(round(estimate.rho, 4)))
        message = (
            f"rolling rho({target.asset}, {market.base}) {rho} over {estimate.n} returns is "
            f"below {floor}: the proxy removes at most {rho * rho:.0%} of the variance"
        )
        values = {
            "rho": str(rho),
            "rho_floor": str(floor),
            "n": str(estimate.n),
            "window": str(estimate.window),
            "hedge": market.base,
        }
        events.append(
            RuleEvent(
                "correlation_breakdown",
                "critical",
                target.asset,
                target.instrument,
                message,
                values,
            )
        )
    return events


def basis(perp_price: Decimal, spot_price: Decimal) -> Decimal:
    """perp / spot − 1 (signed fraction; positive: the perp trades above spot)."""
    return perp_price / spot_price - ONE


def basis_events(
    tickers: Mapping[str, Ticker],
    spot_prices: Mapping[str, Decimal],
    markets: Mapping[str, Market],
    threshold: Decimal,
) -> list[RuleEvent]:
    """A ``basis_beyond_threshold`` event for each perpetual whose |basis| exceeds ``threshold``.

    ``tickers``: by perp symbol (last traded price used); ``spot_prices``: spot USD per coin by
    coin (e.g. ``COIN/USDT`` last), NOT the snapshot's valuation prices (those may be the perp's
    own mark). Symbols without a spot price are skipped.
    """
    events: list[RuleEvent] = []
    for symbol, ticker in sorted(tickers.items()):
        market = markets.get(symbol)
        if market is None or market.expiry is not None:
            continue
        spot = spot_prices.get(market.base)
        if spot is None or spot <= 0:
            continue
        value = basis(ticker.last, spot)
        if abs(value) <= threshold:
            continue
        message = (
            f"{symbol} trades {value:+.4%} from {market.base} spot ({ticker.last} vs {spot}), "
            f"beyond {threshold:.4%}"
        )
        values = {
            "basis": str(value),
            "perp": str(ticker.last),
            "spot": str(spot),
            "threshold": str(threshold),
        }
        events.append(
            RuleEvent("basis_beyond_threshold", "warning", market.base, symbol, message, values)
        )
    return events
