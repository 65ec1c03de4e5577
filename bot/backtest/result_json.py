"""The machine-readable form of a ``BacktestResult`` (``to_json``): the dict the CLI writes as
JSON and the HTML plot page shows beside the chart."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from bot.backtest.result_types import BacktestResult, BookSummary


def to_json(result: BacktestResult) -> dict[str, Any]:
    """The machine-readable report (USD as floats rounded to cents)."""

    def usd(value: float | Decimal | None) -> float | None:
        return None if value is None else round(float(value), 2)

    def ratio(value: float | None) -> float | None:
        return None if value is None else round(value, 6)

    def book(summary: BookSummary) -> dict[str, Any]:
        return {
            "start_value_usd": usd(summary.start_value),
            "final_value_usd": usd(summary.final_value),
            "pnl_usd": usd(summary.pnl),
            "daily_pnl_vol_usd": usd(summary.daily_vol),
            "max_drawdown_usd": usd(summary.max_drawdown),
            "max_drawdown_fraction": ratio(summary.max_drawdown_fraction),
        }

    costs = result.costs
    moves = result.collateral
    return {
        "name": result.name,
        "start": result.start.isoformat(),
        "end": result.end.isoformat(),
        "step_seconds": result.step_seconds,
        "ticks": result.ticks,
        "days": result.days,
        "band": "fee-aware" if result.band is None else str(result.band),
        "fee_rate": str(result.fee_rate),
        "effectiveness": ratio(result.effectiveness),
        "ceiling": ratio(result.ceiling),
        "effectiveness_vs_ceiling": ratio(result.vs_ceiling),
        "ceilings": [
            {
                "asset": c.asset,
                "hedge": c.hedge,
                "rho": ratio(c.rho),
                "rho2": ratio(c.rho2),
                "beta_star": ratio(c.beta_star),
                "days": c.days,
            }
            for c in result.ceilings
        ],
        "hedged": book(result.hedged),
        "unhedged": book(result.unhedged),
        "max_drawdown_hedged": usd(result.hedged.max_drawdown),
        "max_drawdown_unhedged": usd(result.unhedged.max_drawdown),
        "fees_usd": usd(costs.fees),
        "funding_usd": usd(costs.funding_net),
        "funding_received_usd": usd(costs.funding_received),
        "funding_paid_usd": usd(costs.funding_paid),
        "orders": result.orders,
        "fills": costs.fills,
        "turnover_usd": usd(costs.turnover),
        "liquidations": costs.liquidations,
        "refused_orders": len(result.rejected),
        "rejected_orders": list(result.rejected),
        "held_orders": result.held,
        "decide_calls": result.decisions,
        "outside_band_share": ratio(result.outside_band_share),
        "rule_events": dict(sorted(result.events.items())),
        "margin": {
            peak.coin: {
                "peak_used": None if math.isinf(peak.peak_used) else ratio(peak.peak_used),
                "peak_used_at": peak.peak_at.isoformat(),
                "peak_required_coin": round(peak.peak_required, 8),
                "peak_required_usd": usd(peak.peak_required_usd),
            }
            for peak in result.margin
        },
        "margin_shortfall_ticks": result.shortfall_ticks,
        "margin_shortfall_hours": round(result.shortfall_hours, 2),
        "transfers": {
            "count": moves.transfers,
            "usd": usd(moves.transferred_usd),
            "to_margin": moves.to_margin,
            "to_margin_usd": usd(moves.to_margin_usd),
            "to_spot": moves.to_spot,
            "to_spot_usd": usd(moves.to_spot_usd),
        },
        "conversions": {"count": moves.conversions, "usd": usd(moves.converted_usd)},
        "collateral_failed": moves.failed,
        "increases_held_unfunded": moves.held_increases,
        "gaps": [
            {"coin": g.coin, "from": g.from_open.isoformat(), "to": g.to_open.isoformat()}
            for g in result.gaps
        ],
        "notes": list(result.notes),
        "runtime_seconds": round(result.runtime_seconds, 3),
    }
