"""Plain, JSON-ready views of a decision (for ``hedgebot plan`` and the demo output)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.core.exposure import face_usd, short_contracts
from bot.core.inverse import annualized_rate
from bot.core.sizing import contracts_for_usd
from bot.daemon.decide import Decision

if TYPE_CHECKING:
    from bot.daemon.tick import TickOutcome


def _num(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def decision_report(decision: Decision) -> dict[str, Any]:
    """``{exposures, hedges, orders, notes}`` with numbers as exact decimal strings."""
    snapshot = decision.snapshot
    exposures = [
        {
            "asset": e.asset,
            "spot": _num(e.spot),
            "collateral": _num(e.collateral),
            "price": _num(e.price),
            "exposure_usd": _num(e.exposure_usd),
        }
        for e in decision.exposures.values()
    ]
    hedges = []
    for target in decision.targets:
        market = snapshot.markets.get(target.instrument)
        position = snapshot.positions.get(target.instrument)
        price = (
            position.mark_price
            if position is not None and position.mark_price is not None
            else snapshot.prices.get(market.base)
            if market is not None
            else None
        )
        target_contracts = current = current_usd = None
        if market is not None and price is not None:
            target_contracts = contracts_for_usd(market, target.target_short_usd, price)
            current = short_contracts(position)
            current_usd = face_usd(market, current, price)
        hedges.append(
            {
                "asset": target.asset,
                "instrument": target.instrument,
                "ratio": _num(target.ratio),
                "beta": _num(target.beta),
                "rho": _num(target.rho),
                "proxy": target.proxy,
                "reason": target.reason,
                "target_short_usd": _num(target.target_short_usd),
                "current_short_usd": _num(current_usd),
                "target_contracts": _num(target_contracts),
                "current_contracts": _num(current),
            }
        )
    orders = [
        {
            "symbol": o.symbol,
            "side": o.side,
            "contracts": _num(o.contracts),
            "reduce_only": o.reduce_only,
            "client_order_id": o.client_order_id,
            "reason": o.reason,
        }
        for o in decision.plan.orders
    ]
    instruments = [
        {
            "instrument": h.instrument,
            "target_short_usd": _num(h.target_short_usd),
            "current_short_usd": _num(h.current_short_usd),
            "target_contracts": _num(h.target_contracts),
            "current_contracts": _num(h.current_contracts),
            "notes": list(h.notes),
        }
        for h in decision.plan.hedges
    ]
    return {
        "exchange_time": snapshot.taken_at.isoformat(),
        "exposures": exposures,
        "hedges": hedges,
        "instruments": instruments,
        "orders": orders,
        "notes": list(decision.plan.notes),
    }


def state_summary(outcome: TickOutcome) -> dict[str, Any]:
    """One account's state after a tick: exposures, targets, hedges, margin, funding, orders
    (the MQTT ``state`` payload and the HTTP ``/status`` body)."""
    report = decision_report(outcome.decision)
    snapshot = outcome.decision.snapshot
    return {
        "tick_id": outcome.tick_id,
        "exchange_time": report["exchange_time"],
        "exposures": report["exposures"],
        "hedges": report["hedges"],
        "instruments": report["instruments"],
        "margin": [
            {
                "symbol": check.symbol,
                "mark_price": _num(check.mark_price),
                "liquidation_price": _num(check.price),
                "liquidation_source": check.source,
                "own_liquidation_price": _num(check.own_price),
                "formula": check.formula,
                "distance": _num(check.distance),
                "margin_ratio": _num(check.margin_ratio),
            }
            for check in outcome.risk
        ],
        "funding": [
            {
                "symbol": symbol,
                "rate": _num(rate.rate),
                "interval_hours": _num(rate.interval_hours),
                "annualized": _num(annualized_rate(rate.rate, rate.interval_hours)),
                "next_funding_time": rate.next_funding_time.isoformat()
                if rate.next_funding_time
                else None,
            }
            for symbol, rate in sorted(snapshot.funding.items())
        ],
        "orders": [
            {
                "symbol": o.symbol,
                "side": o.side,
                "contracts": _num(o.contracts),
                "reduce_only": o.reduce_only,
                "client_order_id": o.client_order_id,
            }
            for o in outcome.orders
        ],
        "held": [{"symbol": o.symbol, "reason": reason} for o, reason in outcome.held],
    }
