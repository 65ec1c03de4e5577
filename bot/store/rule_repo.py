"""Store access for the rules' records: β estimates, position risk, margin state, manual
controls."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.core.margin import InstrumentMargin
from bot.stats.beta import BetaEstimate
from bot.store.margin_models import MarginStateRow
from bot.store.rule_models import BetaEstimateRow, ControlRow, PositionRiskRow
from strategies.risk import LiquidationCheck

ControlMode = Literal["active", "paused", "hedge_off"]


@dataclass(frozen=True)
class Control:
    """The manual override in force for an account."""

    mode: ControlMode
    at: datetime
    reason: str
    source: str


class RuleRecords:
    """Each method is its own transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def record_beta_estimate(
        self, account: str, asset: str, hedge: str, estimate: BetaEstimate
    ) -> None:
        async with self._sessions.begin() as session:
            session.add(
                BetaEstimateRow(
                    account=account,
                    asset=asset,
                    hedge=hedge,
                    state=estimate.state,
                    beta=estimate.beta,
                    rho=estimate.rho,
                    beta_se=_finite(estimate.beta_se),
                    method=estimate.method,
                    window=estimate.window,
                    half_life=estimate.half_life,
                    horizon_seconds=estimate.horizon_seconds,
                    n=estimate.n,
                    data_start=estimate.data_start,
                    data_end=estimate.data_end,
                    estimated_at=estimate.estimated_at,
                    reason=estimate.reason,
                )
            )

    async def latest_beta_estimates(self, account: str) -> list[BetaEstimateRow]:
        """The newest estimate per (asset, hedge)."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(BetaEstimateRow)
                    .where(BetaEstimateRow.account == account)
                    .order_by(BetaEstimateRow.estimated_at.desc(), BetaEstimateRow.id.desc())
                )
            ).all()
        latest: dict[tuple[str, str], BetaEstimateRow] = {}
        for row in rows:
            latest.setdefault((row.asset, row.hedge), row)
        return list(latest.values())

    async def record_position_risk(
        self, tick_id: int, account: str, checks: Sequence[LiquidationCheck]
    ) -> None:
        if not checks:
            return
        async with self._sessions.begin() as session:
            session.add_all(
                PositionRiskRow(
                    account=account,
                    tick_id=tick_id,
                    symbol=check.symbol,
                    mark_price=check.mark_price,
                    entry_price=check.entry_price,
                    exchange_liquidation_price=check.exchange_price,
                    own_liquidation_price=check.own_price,
                    formula=check.formula,
                    distance=check.distance,
                    margin_ratio=check.margin_ratio,
                )
                for check in checks
            )

    async def record_margin_state(
        self, tick_id: int, account: str, views: Sequence[InstrumentMargin]
    ) -> None:
        """One ``margin_state`` row per inverse hedge instrument of the tick (exact Decimals)."""
        if not views:
            return
        async with self._sessions.begin() as session:
            session.add_all(
                MarginStateRow(
                    account=account,
                    tick_id=tick_id,
                    instrument=view.instrument,
                    coin=view.coin,
                    balance=view.balance,
                    equity=view.equity,
                    required=view.required,
                    short_usd=view.short_usd,
                    shortfall_usd=view.shortfall_usd,
                    coins_missing=view.coins_missing,
                )
                for view in views
            )

    async def margin_state(self, tick_id: int) -> list[InstrumentMargin]:
        """The margin views recorded for ``tick_id``, in the order they were written."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(MarginStateRow)
                .where(MarginStateRow.tick_id == tick_id)
                .order_by(MarginStateRow.id)
            )
            return [
                InstrumentMargin(
                    instrument=row.instrument,
                    coin=row.coin,
                    balance=row.balance,
                    equity=row.equity,
                    required=row.required,
                    short_usd=row.short_usd,
                    shortfall_usd=row.shortfall_usd,
                    coins_missing=row.coins_missing,
                )
                for row in rows
            ]

    async def set_control(
        self, account: str, mode: ControlMode, at: datetime, reason: str = "", source: str = "cli"
    ) -> None:
        async with self._sessions.begin() as session:
            session.add(ControlRow(account=account, at=at, mode=mode, reason=reason, source=source))

    async def current_control(self, account: str) -> Control | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(ControlRow)
                .where(ControlRow.account == account)
                .order_by(ControlRow.at.desc(), ControlRow.id.desc())
                .limit(1)
            )
        if row is None:
            return None
        mode: ControlMode = (
            "paused"
            if row.mode == "paused"
            else ("hedge_off" if row.mode == "hedge_off" else "active")
        )
        return Control(mode=mode, at=row.at, reason=row.reason, source=row.source)


def _finite(value: float | None) -> float | None:
    """``value`` when it is a finite number (an infinite standard error is stored as NULL)."""
    return value if value is not None and math.isfinite(value) else None
