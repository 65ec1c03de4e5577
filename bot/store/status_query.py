"""The current state of each account, read from the database (``hedgebot status``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.store.alert_models import AlertConditionRow
from bot.store.models import (
    ExposureRow,
    FundingPaymentRow,
    InstrumentHedgeRow,
    OrderRow,
    SnapshotRow,
    TargetRow,
    TickRow,
)
from bot.store.rule_models import BetaEstimateRow, ControlRow, PositionRiskRow


def _num(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


async def account_status(engine: AsyncEngine, account: str, orders: int = 5) -> dict[str, Any]:
    """Exposure, target, hedge and drift per asset, β/ρ, margin, funding, last orders, open
    alerts and the last tick time of ``account``, from its newest successful tick."""
    async with AsyncSession(engine) as session:
        last_tick = await session.scalar(
            select(TickRow).where(TickRow.account == account).order_by(TickRow.id.desc()).limit(1)
        )
        ok_tick = await session.scalar(
            select(TickRow)
            .where(TickRow.account == account, TickRow.status == "ok")
            .order_by(TickRow.id.desc())
            .limit(1)
        )
        result: dict[str, Any] = {
            "account": account,
            "last_tick": None
            if last_tick is None
            else {
                "id": last_tick.id,
                "status": str(last_tick.status.value),
                "started_at": last_tick.started_at.isoformat(),
                "error": last_tick.error,
            },
        }
        if ok_tick is None:
            return result
        tick_id = ok_tick.id
        exposures = (
            await session.scalars(select(ExposureRow).where(ExposureRow.tick_id == tick_id))
        ).all()
        targets = (
            await session.scalars(select(TargetRow).where(TargetRow.tick_id == tick_id))
        ).all()
        hedges = {
            h.instrument: h
            for h in (
                await session.scalars(
                    select(InstrumentHedgeRow).where(InstrumentHedgeRow.tick_id == tick_id)
                )
            ).all()
        }
        risk = (
            await session.scalars(select(PositionRiskRow).where(PositionRiskRow.tick_id == tick_id))
        ).all()
        snapshot = await session.scalar(select(SnapshotRow).where(SnapshotRow.tick_id == tick_id))
        recent = (
            await session.scalars(
                select(OrderRow)
                .where(OrderRow.account == account)
                .order_by(OrderRow.id.desc())
                .limit(orders)
            )
        ).all()
        alerts = (
            await session.scalars(
                select(AlertConditionRow).where(
                    AlertConditionRow.account == account, AlertConditionRow.active.is_(True)
                )
            )
        ).all()
        betas = (
            await session.scalars(
                select(BetaEstimateRow)
                .where(BetaEstimateRow.account == account)
                .order_by(BetaEstimateRow.estimated_at.desc())
            )
        ).all()
        funding_paid = (
            await session.scalars(
                select(FundingPaymentRow)
                .where(FundingPaymentRow.account == account)
                .order_by(FundingPaymentRow.ts.desc())
                .limit(10)
            )
        ).all()
        control = await session.scalar(
            select(ControlRow)
            .where(ControlRow.account == account)
            .order_by(ControlRow.at.desc(), ControlRow.id.desc())
            .limit(1)
        )
    latest_beta: dict[tuple[str, str], BetaEstimateRow] = {}
    for row in betas:
        latest_beta.setdefault((row.asset, row.hedge), row)
    assets = []
    by_asset = {e.asset: e for e in exposures}
    for target in targets:
        exposure = by_asset.get(target.asset)
        hedge = hedges.get(target.instrument)
        share = (
            target.target_short_usd / hedge.target_short_usd
            if hedge is not None and hedge.target_short_usd
            else Decimal(0)
        )
        current = hedge.current_short_usd * share if hedge is not None else Decimal(0)
        drift = (
            (hedge.current_short_usd - hedge.target_short_usd) / hedge.target_short_usd
            if hedge is not None and hedge.target_short_usd
            else None
        )
        hedge_coin = target.instrument.split("/")[0]
        estimate = latest_beta.get((target.asset, hedge_coin))
        assets.append(
            {
                "asset": target.asset,
                "instrument": target.instrument,
                "exposure_usd": _num(exposure.exposure_usd if exposure else None),
                "ratio": _num(target.ratio),
                "target_short_usd": _num(target.target_short_usd),
                "hedge_usd": _num(current),
                "drift": _num(drift),
                "beta": _num(target.beta),
                "rho": _num(target.rho),
                "proxy": target.proxy,
                "beta_estimated_at": estimate.estimated_at.isoformat() if estimate else None,
                "reason": target.reason,
            }
        )
    result.update(
        {
            "last_ok_tick": {"id": tick_id, "at": ok_tick.started_at.isoformat()},
            "control": None
            if control is None
            else {"mode": control.mode, "at": control.at.isoformat(), "reason": control.reason},
            "assets": assets,
            "margin": [
                {
                    "symbol": r.symbol,
                    "liquidation_price": _num(
                        r.exchange_liquidation_price or r.own_liquidation_price
                    ),
                    "own_liquidation_price": _num(r.own_liquidation_price),
                    "formula": r.formula,
                    "distance": _num(r.distance),
                    "margin_ratio": _num(r.margin_ratio),
                }
                for r in risk
            ],
            "funding": {
                "rates": snapshot.funding if snapshot is not None else {},
                "recent_payments": [
                    {
                        "symbol": p.symbol,
                        "at": p.ts.isoformat(),
                        "rate": _num(p.rate),
                        "amount": _num(p.amount),
                        "currency": p.currency,
                    }
                    for p in funding_paid
                ],
            },
            "orders": [
                {
                    "client_order_id": o.client_order_id,
                    "symbol": o.symbol,
                    "side": o.side,
                    "contracts": _num(o.contracts),
                    "state": str(o.state.value),
                    "created_at": o.created_at.isoformat(),
                }
                for o in recent
            ],
            "open_alerts": [
                {
                    "condition": a.condition_key,
                    "since": a.since.isoformat() if a.since else None,
                    "asset": a.asset,
                    "instrument": a.instrument,
                }
                for a in alerts
            ],
        }
    )
    return result
