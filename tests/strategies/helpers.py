"""Builders for the strategy tests: estimates, exposures, inputs and beta rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.core.types import Exposure, FundingRate, Market, Position
from bot.stats.beta import BetaEstimate, EstimateState
from strategies.base import RuleInputs
from strategies.beta import BetaRule
from strategies.requests import BetaParams
from strategies.state import RuleState

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
PARAMS = BetaParams(
    interval="1h",
    interval_seconds=3600,
    window=720,
    method="ols",
    half_life=None,
    aggregate_seconds=None,
    min_observations=360,
    max_age=timedelta(hours=48),
    refresh=timedelta(hours=1),
)


def D(value: str | int) -> Decimal:
    return Decimal(value)


def estimate(
    beta: float | None,
    rho: float | None,
    *,
    state: EstimateState = "ok",
    age: timedelta = timedelta(hours=1),
    now: datetime = NOW,
) -> BetaEstimate:
    """An estimate made at ``now`` whose newest return ended ``age`` before it."""
    ok = state == "ok"
    return BetaEstimate(
        state=state,
        beta=beta if ok else None,
        rho=rho if ok else None,
        n=720 if ok else 12,
        window=720,
        method="ols",
        half_life=None,
        horizon_seconds=3600,
        data_start=now - age - timedelta(hours=720),
        data_end=now - age,
        estimated_at=now,
        reason="" if ok else f"{state} for the test",
    )


def exposure(
    asset: str, coins: Decimal | str | int, price: str | int, collateral: Decimal | str | int = 0
) -> Exposure:
    return Exposure(asset, Decimal(coins), Decimal(collateral), D(price))


def inputs(
    exposures: list[Exposure],
    markets: Mapping[str, Market],
    betas: Mapping[tuple[str, str], BetaEstimate] | None = None,
    *,
    now: datetime = NOW,
    funding: Mapping[str, FundingRate] | None = None,
    realized_vol: Mapping[str, float] | None = None,
    positions: Mapping[str, Position] | None = None,
    states: Mapping[str, RuleState] | None = None,
) -> RuleInputs:
    return RuleInputs(
        exposures={e.asset: e for e in exposures},
        markets=dict(markets),
        now=now,
        betas=dict(betas or {}),
        funding=dict(funding or {}),
        realized_vol=dict(realized_vol or {}),
        positions=dict(positions or {}),
        states=dict(states or {}),
    )


def beta_rule(asset: str, ratio: str = "0.7", **changes: Any) -> BetaRule:
    return replace(BetaRule(asset=asset, ratio=D(ratio), estimator=PARAMS), **changes)


def markets(*items: Market) -> dict[str, Market]:
    return {m.symbol: m for m in items}
