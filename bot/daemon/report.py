"""Plain, JSON-ready views of a decision (for ``hedgebot plan`` and the demo output)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.core.exposure import face_usd, short_contracts
from bot.core.inverse import annualized_rate
from bot.core.margin import InstrumentMargin
from bot.core.sizing import contracts_for_usd
from bot.core.types import CollateralAction
from bot.daemon.collateral import ActionReport
from bot.daemon.decide import Decision
from strategies.risk import LiquidationCheck

if TYPE_CHECKING:
    from bot.daemon.tick_outcome import TickOutcome


def _num(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def decision_report(decision: Decision) -> dict[str, Any]:
    """``{exposures, hedges, instruments, orders, shortfalls, collateral_actions, notes}`` with
    numbers as exact decimal strings."""
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
                "beta_se": _num(target.beta_se),
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
        "shortfalls": [
            {
                "instrument": f.instrument,
                "coin": f.coin,
                "target_usd": _num(f.target_usd),
                "carried_usd": _num(f.carried_usd),
                "short_usd": _num(f.short_usd),
                "coins_missing": _num(f.coins_missing),
            }
            for f in decision.plan.shortfalls
        ],
        "collateral_actions": [
            {
                "action_id": a.action_id,
                "kind": a.kind,
                "coin": a.coin,
                "amount": _num(a.amount),
                "usd_value": _num(a.usd_value),
                "source": a.source,
                "destination": a.destination,
                "symbol": a.symbol,
                "side": a.side,
                "reason": a.reason,
            }
            for a in decision.collateral.actions
        ],
        "notes": [*decision.plan.notes, *decision.collateral.notes],
    }


def action_outcome(report: ActionReport | None, action_id: str) -> str:
    """What became of one of the tick's collateral actions: SUCCESS, FAILED, UNKNOWN (looked up
    next tick), NOT_SENT (an earlier step of its chain did not succeed) or DRY_RUN (the desk
    reports every action it sends, so one it does not report was only recorded)."""
    if report is None:
        return "DRY_RUN"
    for outcome, ids in (
        ("SUCCESS", report.succeeded),
        ("FAILED", report.failed),
        ("UNKNOWN", report.unknown),
        ("NOT_SENT", report.skipped),
    ):
        if action_id in ids:
            return outcome
    return "DRY_RUN"


def collateral_entry(action: CollateralAction, outcome: str) -> dict[str, Any]:
    return {
        "action_id": action.action_id,
        "kind": action.kind,
        "coin": action.coin,
        "amount": _num(action.amount),
        "usd_value": _num(action.usd_value),
        "source": action.source,
        "destination": action.destination,
        "symbol": action.symbol,
        "side": action.side,
        "reason": action.reason,
        "outcome": outcome,
    }


def _risk_fields(check: LiquidationCheck | None) -> dict[str, Any]:
    if check is None:  # no short on the instrument: nothing to liquidate
        return dict.fromkeys(
            (
                "mark_price",
                "liquidation_price",
                "liquidation_source",
                "own_liquidation_price",
                "formula",
                "distance",
                "margin_ratio",
            )
        )
    return {
        "mark_price": _num(check.mark_price),
        "liquidation_price": _num(check.price),
        "liquidation_source": check.source,
        "own_liquidation_price": _num(check.own_price),
        "formula": check.formula,
        "distance": _num(check.distance),
        "margin_ratio": _num(check.margin_ratio),
    }


def _wallet_fields(view: InstrumentMargin | None) -> dict[str, Any]:
    if view is None:  # not an inverse hedge (a linear short): no coin wallet behind it
        return dict.fromkeys(
            ("coin", "balance", "equity", "required", "short_usd", "shortfall_usd", "coins_missing")
        )
    return {
        "coin": view.coin,
        "balance": _num(view.balance),
        "equity": _num(view.equity),
        "required": _num(view.required),
        "short_usd": _num(view.short_usd),
        "shortfall_usd": _num(view.shortfall_usd),
        "coins_missing": _num(view.coins_missing),
    }


def margin_entries(
    risk: Sequence[LiquidationCheck], margin: Sequence[InstrumentMargin]
) -> list[dict[str, Any]]:
    """Per instrument, the liquidation view of its short merged with its wallet's margin: the
    hedge instruments' margin views first (with or without a short), then shorts without one."""
    views = {view.instrument: view for view in margin}
    checks = {check.symbol: check for check in risk}
    symbols = list(views) + [symbol for symbol in checks if symbol not in views]
    return [
        {"symbol": symbol} | _risk_fields(checks.get(symbol)) | _wallet_fields(views.get(symbol))
        for symbol in symbols
    ]


def state_summary(outcome: TickOutcome) -> dict[str, Any]:
    """One account's state after a tick: exposures, targets, hedges, margin (liquidation and
    wallet per instrument), the tick's collateral actions with their outcome, funding, orders
    (the MQTT ``state`` payload and the HTTP ``/status`` body)."""
    report = decision_report(outcome.decision)
    snapshot = outcome.decision.snapshot
    return {
        "tick_id": outcome.tick_id,
        "exchange_time": report["exchange_time"],
        "exposures": report["exposures"],
        "hedges": report["hedges"],
        "instruments": report["instruments"],
        "margin": margin_entries(outcome.risk, outcome.margin),
        "collateral": [
            collateral_entry(action, action_outcome(outcome.collateral, action.action_id))
            for action in outcome.decision.collateral.actions
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
