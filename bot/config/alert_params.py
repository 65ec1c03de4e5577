"""Thresholds and cooldowns of the alert rules (``alerts.rules.*``); ``AlertsConfig`` is in models.

Every rule section shares the cooldown keys of :class:`AlertCooldown`:

* ``cooldown_seconds``: after a notification about a condition, the same condition is not raised
  again for this long, even if it cleared and came back (no flapping);
* ``repeat_after_seconds``: re-notify while the condition still holds this long after the last
  notification (``null``: never repeat);
* ``announce_clear``: announce once (severity info) when a notified condition no longer holds;
* ``enabled``: ``false`` silences the rule.

Units are in the key names: ``_annualized`` (fraction per year, 0.2 = 20 %), ``_usd``,
``_seconds``; ratios and distances are fractions (0.5 = 50 %).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.core.bounds import MAX_USD

Seconds = Annotated[float, Field(ge=0, le=365 * 86_400)]
Fraction = Annotated[Decimal, Field(ge=0, le=1)]
Annualized = Annotated[Decimal, Field(gt=-100, lt=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AlertCooldown(_Strict):
    """The keys every alert rule takes: enabled, cooldown_seconds, repeat_after_seconds and
    announce_clear."""

    enabled: bool = Field(True, description="false silences this rule.")
    cooldown_seconds: Seconds = Field(
        300.0,
        description="After a notification, the same condition is not raised again for this long.",
    )
    repeat_after_seconds: Annotated[float, Field(gt=0, le=365 * 86_400)] | None = Field(
        None,
        description="Notify again while the condition still holds this long after (null: never).",
    )
    announce_clear: bool = Field(
        True, description="Announce once (info) when a notified condition no longer holds."
    )


class FundingAlerts(AlertCooldown):
    """Funding of each hedge instrument, annualized: rate × 8760 / interval_hours.

    A positive rate pays the short; ``low_annualized`` (warning) is the level below which the hedge
    costs too much; ``high_annualized`` (info) flags crowded longs; ``sign_flip`` (warning) says
    when the rate turns negative (the short starts paying) and, as its clearing, when it is
    positive again.
    """

    high_annualized: Annualized | None = Field(
        Decimal("1"), description="Info above this annualized rate: crowded longs (null: off)."
    )
    low_annualized: Annualized | None = Field(
        Decimal("-0.2"),
        description="Warning below this annualized rate: the hedge costs too much (null: off).",
    )
    sign_flip: bool = Field(
        True, description="Warn when the rate turns negative (the short starts paying)."
    )

    @model_validator(mode="after")
    def _ordered(self) -> FundingAlerts:
        low, high = self.low_annualized, self.high_annualized
        if low is not None and high is not None and low >= high:
            raise ValueError("low_annualized must be lower than high_annualized")
        return self


class CarryAlerts(AlertCooldown):
    """Projected cost of holding the short at the current funding (warning); off when both null.

    Cost per day = max(0, −annualized carry) × short USD ÷ 365; per month = per day × 30.
    """

    max_cost_per_day_usd: Annotated[Decimal, Field(gt=0, le=MAX_USD)] | None = Field(
        None, description="Warn when the projected funding cost per day exceeds this (USD)."
    )
    max_cost_per_month_usd: Annotated[Decimal, Field(gt=0, le=MAX_USD)] | None = Field(
        None, description="Warn when the projected funding cost per 30 days exceeds this (USD)."
    )


class MarginRatioAlerts(AlertCooldown):
    """Maintenance margin ÷ margin balance (1 = liquidation): warning and critical levels."""

    warning: Fraction = Field(Decimal("0.5"), description="Warning at or above this ratio.")
    critical: Fraction = Field(Decimal("0.8"), description="Critical at or above this ratio.")
    repeat_after_seconds: Annotated[float, Field(gt=0, le=365 * 86_400)] | None = Field(
        3600.0,
        description="Notify again while the condition still holds this long after (null: never).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> MarginRatioAlerts:
        if self.critical < self.warning:
            raise ValueError("critical must not be below warning (a higher ratio is worse)")
        return self


class LiquidationAlerts(AlertCooldown):
    """Fractional price rise from mark to the short's liquidation price (0.2 = 20 %)."""

    warning: Annotated[Decimal, Field(ge=0, le=100)] = Field(
        Decimal("0.3"), description="Warning at or below this distance to liquidation."
    )
    critical: Annotated[Decimal, Field(ge=0, le=100)] = Field(
        Decimal("0.15"), description="Critical at or below this distance to liquidation."
    )
    repeat_after_seconds: Annotated[float, Field(gt=0, le=365 * 86_400)] | None = Field(
        3600.0,
        description="Notify again while the condition still holds this long after (null: never).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> LiquidationAlerts:
        if self.critical > self.warning:
            raise ValueError("critical must not be above warning (a smaller distance is worse)")
        return self


class DriftAlerts(AlertCooldown):
    """The hedge outside its band (over- or under-hedged) for more than ``ticks`` ticks running."""

    ticks: Annotated[int, Field(ge=0, le=10_000)] = Field(
        3, description="Ticks running outside the band before the alert is raised."
    )


class ProxyAlerts(AlertCooldown):
    """Proxy hedges: correlation below ``min_rho``; |basis| above ``max_basis`` (null: off)."""

    min_rho: Annotated[Decimal, Field(ge=-1, le=1)] | None = Field(
        Decimal("0.5"), description="Alert when a proxy's ρ falls below this (null: off)."
    )
    max_basis: Annotated[Decimal, Field(gt=0, le=10)] | None = Field(
        Decimal("0.02"), description="Alert when |perp / spot − 1| exceeds this (null: off)."
    )


class DaemonAlerts(AlertCooldown):
    """Started (info) and stopped (warning; its clearing); a crash is reported at the next start."""

    cooldown_seconds: Seconds = Field(
        0.0,
        description="After a notification, the same condition is not raised again for this long.",
    )


class AlertRulesConfig(_Strict):
    """``alerts.rules``: one section per alert rule."""

    funding: FundingAlerts = Field(
        default_factory=FundingAlerts,
        description="funding_high, funding_low, funding_sign_flip: the hedge's funding rate.",
    )
    carry: CarryAlerts = Field(
        default_factory=CarryAlerts, description="carry_cost: projected cost of holding the short."
    )
    margin_ratio: MarginRatioAlerts = Field(
        default_factory=MarginRatioAlerts,
        description="margin_ratio: maintenance margin ÷ margin balance (1 = liquidation).",
    )
    liquidation_distance: LiquidationAlerts = Field(
        default_factory=LiquidationAlerts,
        description="liquidation_distance: price rise from mark to the short's liquidation.",
    )
    drift: DriftAlerts = Field(
        default_factory=DriftAlerts,
        description="over_hedged, under_hedged: the hedge outside its band for too long.",
    )
    proxy: ProxyAlerts = Field(
        default_factory=ProxyAlerts,
        description="proxy_correlation, basis: a proxy hedge's correlation and basis.",
    )
    prices: AlertCooldown = Field(
        default_factory=AlertCooldown, description="price_stale, price_outlier: bad prices."
    )
    order_rejected: AlertCooldown = Field(
        default_factory=AlertCooldown, description="order_rejected: the exchange refused an order."
    )
    unknown_order: AlertCooldown = Field(
        default_factory=AlertCooldown,
        description="unknown_order_outcome (critical): an order's fate is not known.",
    )
    exchange: AlertCooldown = Field(
        default_factory=AlertCooldown,
        description="exchange_paused, exchange_banned: the exchange is unavailable.",
    )
    kill_switch: AlertCooldown = Field(
        default_factory=AlertCooldown, description="kill_switch: the kill switch is engaged."
    )
    daemon: DaemonAlerts = Field(
        default_factory=DaemonAlerts, description="daemon_started, daemon_stopped."
    )
