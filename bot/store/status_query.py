"""The current state of each account, read from the database (``hedgebot status``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.store.alert_models import AlertConditionRow
from bot.store.collateral_models import CollateralActionRow
from bot.store.margin_models import MarginStateRow
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
from strategies.collateral import STABLECOINS

COLLATERAL_ACTIONS = 10  # the newest collateral actions shown
RECENT_PAYMENTS = 10  # the newest funding payments listed
CARRY_DAYS = 30  # the longer funding carry window
DAYS_PER_YEAR = 365


def _num(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _beta_se(target: TargetRow, estimate: BetaEstimateRow | None) -> str | None:
    """The standard error of the target's beta: the target's own, else (a proxy target stored
    before targets carried one) the newest estimate's for its pair; None for a beta that is not
    estimated (own-perp hedges, ratio rules)."""
    if target.beta_se is not None:
        return _num(target.beta_se)
    if not target.proxy or estimate is None or estimate.beta_se is None:
        return None
    return _num(Decimal(repr(estimate.beta_se)))


def _liquidation(check: PositionRiskRow) -> tuple[Decimal | None, str]:
    """The liquidation price to act on (the exchange's when given, else our own) and its source."""
    if check.exchange_liquidation_price is not None:
        return check.exchange_liquidation_price, "exchange"
    if check.own_liquidation_price is not None:
        return check.own_liquidation_price, "own"
    return None, "unreachable"


def _wallet(view: MarginStateRow | None) -> dict[str, Any]:
    fields = ("balance", "equity", "required", "short_usd", "shortfall_usd", "coins_missing")
    if view is None:
        return {"coin": None} | dict.fromkeys(fields)
    return {"coin": view.coin} | {name: _num(getattr(view, name)) for name in fields}


def _risk(check: PositionRiskRow | None) -> dict[str, Any]:
    if check is None:
        return {
            "mark_price": None,
            "liquidation_price": None,
            "liquidation_source": None,  # no short: nothing to liquidate
            "own_liquidation_price": None,
            "formula": None,
            "distance": None,
            "margin_ratio": None,
        }
    price, source = _liquidation(check)
    return {
        "mark_price": _num(check.mark_price),
        "liquidation_price": _num(price),
        "liquidation_source": source,
        "own_liquidation_price": _num(check.own_liquidation_price),
        "formula": check.formula,
        "distance": _num(check.distance),
        "margin_ratio": _num(check.margin_ratio),
    }


def _margin(
    views: Sequence[MarginStateRow], risk: Sequence[PositionRiskRow]
) -> list[dict[str, Any]]:
    """Per instrument: its wallet's margin (inverse hedges) joined with its short's liquidation
    view. An instrument with only one of the two still appears: an inverse hedge with no short
    yet (no liquidation), a short with no margin view (a linear one)."""
    wallets = {v.instrument: v for v in views}
    checks = {r.symbol: r for r in risk}
    symbols = list(wallets) + [symbol for symbol in checks if symbol not in wallets]
    return [
        {"symbol": symbol} | _wallet(wallets.get(symbol)) | _risk(checks.get(symbol))
        for symbol in symbols
    ]


def _collateral(rows: Sequence[CollateralActionRow]) -> list[dict[str, Any]]:
    return [
        {
            "action_id": a.action_id,
            "tick_id": a.tick_id,
            "created_at": a.created_at.isoformat(),
            "updated_at": a.updated_at.isoformat(),
            "kind": a.kind,
            "coin": a.coin,
            "amount": _num(a.amount),
            "usd_value": _num(a.usd_value),
            "source": a.source,
            "destination": a.destination,
            "symbol": a.symbol,
            "side": a.side,
            "state": a.state,
            "reason": a.reason,
            "error": a.error,
        }
        for a in rows
    ]


def _price(coin: str, prices: Mapping[str, Any]) -> Decimal | None:
    """USD per ``coin`` at the last tick (a stablecoin without a price of its own: 1)."""
    if coin in prices:
        return Decimal(str(prices[coin]))
    return Decimal(1) if coin in STABLECOINS else None


def _usd(payments: Sequence[FundingPaymentRow], prices: Mapping[str, Any]) -> Decimal | None:
    """The payments' coins at the last tick's prices (None when a coin has no price)."""
    total = Decimal(0)
    for payment in payments:
        price = _price(payment.currency, prices)
        if price is None:
            return None
        total += payment.amount * price
    return total


def _coins(payments: Sequence[FundingPaymentRow]) -> Decimal | None:
    """The payments' coins summed (None when they settle in more than one coin)."""
    if len({p.currency for p in payments}) > 1:
        return None
    return sum((p.amount for p in payments), Decimal(0))


def _annualised(rate: Mapping[str, Any]) -> Decimal | None:
    """A rate per settlement as a yearly rate: rate x settlements a day x 365."""
    if rate.get("rate") is None or not rate.get("interval_hours"):
        return None
    per_day = Decimal(24) / Decimal(str(rate["interval_hours"]))
    return Decimal(str(rate["rate"])) * per_day * DAYS_PER_YEAR


def funding_carry(
    rates: Mapping[str, Mapping[str, Any]],
    payments: Sequence[FundingPaymentRow],
    prices: Mapping[str, Any],
    as_of: datetime,
) -> list[dict[str, Any]]:
    """Per instrument (those with a rate at the last tick, then those only paid): the rate, its
    yearly equivalent, the next settlement, and the carry received (positive) or paid
    (negative) over the UTC day of ``as_of`` and the ``CARRY_DAYS`` days up to it: the
    recorded payments' coins summed, and valued in USD at the last tick's price of their coin
    (the coins received are held as coins). ``payments``: at least those of the 30 days."""
    day_start = as_of.replace(hour=0, minute=0, second=0, microsecond=0)
    window_start = as_of - timedelta(days=CARRY_DAYS)
    symbols = list(rates) + sorted({p.symbol for p in payments} - set(rates))
    rows = []
    for symbol in symbols:
        month = [p for p in payments if p.symbol == symbol and window_start < p.ts <= as_of]
        today = [p for p in month if p.ts >= day_start]
        rate = rates.get(symbol, {})
        rows.append(
            {
                "symbol": symbol,
                "rate": rate.get("rate"),
                "interval_hours": rate.get("interval_hours"),
                "annualised": _num(_annualised(rate)),
                "next_funding_time": rate.get("next_funding_time"),
                "predicted_rate": rate.get("predicted_rate"),
                "currency": month[0].currency if month else None,
                "payments_today": len(today),
                "payments_30d": len(month),
                "carry_today": _num(_coins(today)),
                "carry_30d": _num(_coins(month)),
                "carry_today_usd": _num(_usd(today, prices)),
                "carry_30d_usd": _num(_usd(month, prices)),
            }
        )
    return rows


async def account_status(engine: AsyncEngine, account: str, orders: int = 5) -> dict[str, Any]:
    """Exposure, target, hedge and drift per asset, β/ρ, margin per instrument (wallet, required,
    liquidation, shortfall), funding (rates, carry today and over 30 days), last orders, the
    newest collateral actions, open alerts and the last tick time of ``account``, from its
    newest successful tick."""
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
        margin_views = (
            await session.scalars(
                select(MarginStateRow)
                .where(MarginStateRow.tick_id == tick_id)
                .order_by(MarginStateRow.id)
            )
        ).all()
        collateral = (
            await session.scalars(
                select(CollateralActionRow)
                .where(CollateralActionRow.account == account)
                .order_by(CollateralActionRow.created_at.desc(), CollateralActionRow.id.desc())
                .limit(COLLATERAL_ACTIONS)
            )
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
                .order_by(BetaEstimateRow.estimated_at.desc(), BetaEstimateRow.id.desc())
            )
        ).all()
        funding_paid = (
            await session.scalars(
                select(FundingPaymentRow)
                .where(FundingPaymentRow.account == account)
                .order_by(FundingPaymentRow.ts.desc())
                .limit(RECENT_PAYMENTS)
            )
        ).all()
        # the carry is counted up to the exchange's clock at the last tick (the replay's, too)
        as_of = snapshot.taken_at if snapshot is not None else ok_tick.started_at
        carried = (
            await session.scalars(
                select(FundingPaymentRow).where(
                    FundingPaymentRow.account == account,
                    FundingPaymentRow.ts > as_of - timedelta(days=CARRY_DAYS),
                    FundingPaymentRow.ts <= as_of,
                )
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
                "beta_se": _beta_se(target, estimate),
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
            "margin": _margin(margin_views, risk),
            "collateral_actions": _collateral(collateral),
            "funding": {
                "rates": snapshot.funding if snapshot is not None else {},
                "as_of": as_of.isoformat(),
                "instruments": funding_carry(
                    snapshot.funding if snapshot is not None else {},
                    carried,
                    snapshot.prices if snapshot is not None else {},
                    as_of,
                ),
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
