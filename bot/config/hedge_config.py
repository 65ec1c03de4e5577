"""The hedge's own sections: the band it is kept in, what may be sent, and how orders are worked.

``hedge`` (band, fee-aware no-trade region, order minimum, leverage, margin), ``watch`` (proxy
correlation and perp basis events), ``limits`` (order and total caps, kill switch) and
``execution`` (market or limit). Re-exported by ``bot.config.models``; an account
(``accounts:``) may override each of them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from bot.config.fields import ConfigPath, EnvVarName, Fraction, PositiveUsd, Strict


class NoTradeConfig(Strict):
    """The fee-aware no-trade region (bot.core.no_trade): the band of each hedge weighs the fee
    of a trade against the risk of staying off target. Defaults chosen on real data
    (bench/hedge_quality.py; README, "Hedge quality")."""

    fee_rate: Annotated[Decimal, Field(ge=0, le=Decimal("0.01"))] = Field(
        Decimal("0.00055"),
        description="Taker fee the rule prices a trade at (fraction of notional).",
    )
    risk_aversion: Annotated[Decimal, Field(gt=0, le=1000)] = Field(
        Decimal("0.4"),
        description="Weight of the risk of staying off target against fees (higher: tighter).",
    )
    min_band: Fraction = Field(
        Decimal("0.02"),
        description="Narrowest band (fraction of target); also the band of hedges whose "
        "target does not wander (own contract, ratio rules, margin held USD-neutral).",
    )
    max_band: Fraction = Field(Decimal("0.5"), description="Widest band (fraction of target).")
    trade_to: Fraction = Field(
        Decimal("0.35"),
        description="Where a trade out of the band stops: this fraction of the band short of "
        "the target (0: at the target; 1: at the band's edge).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> NoTradeConfig:
        if self.min_band > self.max_band:
            raise ValueError("min_band cannot exceed max_band")
        return self


class HedgeConfig(Strict):
    """How close the hedge is kept to its target, and the margin settings of the shorts."""

    band: Fraction | None = Field(
        None,
        description="Act only when |target − current| exceeds this fraction of the target; "
        "unset: the fee-aware band of no_trade.",
    )
    no_trade: NoTradeConfig = Field(
        default_factory=NoTradeConfig,
        description="The fee-aware band used when band is unset.",
    )
    # Above a million USD the minimum would silence every hedge of all but the largest books.
    min_order_usd: Annotated[Decimal, Field(ge=0, le=1_000_000)] = Field(
        Decimal(10), description="Orders smaller than this (USD) are not sent."
    )
    leverage: Annotated[Decimal, Field(ge=1, le=100)] = Field(
        Decimal(1), description="Leverage set on every instrument the plan trades."
    )
    margin_mode: Literal["isolated", "cross"] = Field(
        "cross", description="Margin mode set on every instrument the plan trades."
    )
    # Maintenance margin rate of the exchange's first risk tier (Bybit inverse: 0.5 %), for our
    # own liquidation price; the exchange's own figure is used when it reports one.
    maintenance_margin_rate: Annotated[Decimal, Field(gt=0, lt=Decimal("0.5"))] = Field(
        Decimal("0.005"),
        description="Maintenance margin rate for our own liquidation price (the exchange's "
        "figure wins when it reports one).",
    )
    maintenance_basis: Literal["entry", "mark"] = Field(
        "mark",
        description="Maintenance margin measured on the position's value at entry or at mark.",
    )


class WatchConfig(Strict):
    """Market watch: events (for alerts) when a proxy's correlation or a perp's basis drifts."""

    rho_floor: Fraction = Field(
        Decimal("0.7"),
        description="A proxy hedge's correlation ρ below this raises a breakdown event.",
    )
    basis_threshold: Annotated[Decimal, Field(gt=0, le=1)] = Field(
        Decimal("0.01"), description="|perp / spot − 1| above this raises a basis event."
    )


class LimitsConfig(Strict):
    """Hard limits on what the plan may send, and the kill switch."""

    max_order_usd: PositiveUsd = Field(
        Decimal(100_000), description="No single order above this (USD); see oversize."
    )
    max_total_short_usd: PositiveUsd = Field(
        Decimal(1_000_000),
        description="Cap on the sum of all shorts after the plan (USD); increases are clamped, "
        "reductions always allowed.",
    )
    oversize: Literal["split", "clamp"] = Field(
        "split",
        description="An order above max_order_usd: split into several, or clamp it and finish "
        "next tick.",
    )
    # Kill switch: while this file exists, or this environment variable is "1", no order may
    # add exposure; reduce-only orders still go out.
    kill_switch_file: ConfigPath | None = Field(
        None,
        description="Kill switch: while this file exists, only reduce-only orders are sent.",
    )
    kill_switch_env: EnvVarName | None = Field(
        "HEDGEBOT_KILL",
        description='Kill switch: while this environment variable is "1", only reduce-only '
        "orders are sent.",
    )


class ExecutionConfig(Strict):
    """How orders are worked: at market, or as limits near the mark that fall back to market."""

    style: Literal["market", "limit"] = Field(
        "market",
        description="Send orders at market, or as passive limits near the mark that fall back "
        "to market.",
    )
    limit_offset: Annotated[Decimal, Field(ge=0, le=Decimal("0.05"))] = Field(
        Decimal("0.0005"),
        description="style limit: distance of the limit price from the mark, on the passive "
        "side (fraction).",
    )
    post_only: bool = Field(
        True, description="style limit: post-only, to pay maker fees where the exchange has them."
    )
    # A limit left resting (or a symbol worked) for more than a day is no longer "near the mark".
    reprice_after_seconds: Annotated[float, Field(gt=0, le=86_400)] = Field(
        30.0,
        description="style limit: cancel a resting limit after this long; the next plan "
        "re-prices the rest.",
    )
    market_after_seconds: Annotated[float, Field(gt=0, le=86_400)] = Field(
        120.0,
        description="style limit: once a symbol has been worked this long, send the remainder "
        "at market.",
    )
    # Refuse a market order when last and mark disagree by more than this fraction.
    max_slippage: Annotated[Decimal, Field(gt=0, le=Decimal("0.5"))] = Field(
        Decimal("0.01"),
        description="Hold a market order while last and mark price differ by more than this "
        "fraction.",
    )
