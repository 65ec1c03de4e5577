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

Seconds = Annotated[float, Field(ge=0, le=365 * 86_400)]
Fraction = Annotated[Decimal, Field(ge=0, le=1)]
Annualized = Annotated[Decimal, Field(gt=-100, lt=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AlertCooldown(_Strict):
    enabled: bool = True
    cooldown_seconds: Seconds = 300.0
    repeat_after_seconds: Annotated[float, Field(gt=0, le=365 * 86_400)] | None = None
    announce_clear: bool = True


class FundingAlerts(AlertCooldown):
    """Funding of each hedge instrument, annualized: rate × 8760 / interval_hours.

    A positive rate pays the short; ``low_annualized`` (warning) is the level below which the hedge
    costs too much; ``high_annualized`` (info) flags crowded longs; ``sign_flip`` (warning) says
    when the rate turns negative (the short starts paying) and, as its clearing, when it is
    positive again.
    """

    high_annualized: Annualized | None = Decimal("1")
    low_annualized: Annualized | None = Decimal("-0.2")
    sign_flip: bool = True

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

    max_cost_per_day_usd: Annotated[Decimal, Field(gt=0)] | None = None
    max_cost_per_month_usd: Annotated[Decimal, Field(gt=0)] | None = None


class MarginRatioAlerts(AlertCooldown):
    """Maintenance margin ÷ margin balance (1 = liquidation): warning and critical levels."""

    warning: Fraction = Decimal("0.5")
    critical: Fraction = Decimal("0.8")
    repeat_after_seconds: Annotated[float, Field(gt=0, le=365 * 86_400)] | None = 3600.0

    @model_validator(mode="after")
    def _ordered(self) -> MarginRatioAlerts:
        if self.critical < self.warning:
            raise ValueError("critical must not be below warning (a higher ratio is worse)")
        return self


class LiquidationAlerts(AlertCooldown):
    """Fractional price rise from mark to the short's liquidation price (0.2 = 20 %)."""

    warning: Annotated[Decimal, Field(ge=0, le=100)] = Decimal("0.3")
    critical: Annotated[Decimal, Field(ge=0, le=100)] = Decimal("0.15")
    repeat_after_seconds: Annotated[float, Field(gt=0, le=365 * 86_400)] | None = 3600.0

    @model_validator(mode="after")
    def _ordered(self) -> LiquidationAlerts:
        if self.critical > self.warning:
            raise ValueError("critical must not be above warning (a smaller distance is worse)")
        return self


class DriftAlerts(AlertCooldown):
    """The hedge outside its band (over- or under-hedged) for more than ``ticks`` ticks running."""

    ticks: Annotated[int, Field(ge=0, le=10_000)] = 3


class ProxyAlerts(AlertCooldown):
    """Proxy hedges: correlation below ``min_rho``; |basis| above ``max_basis`` (null: off)."""

    min_rho: Annotated[Decimal, Field(ge=-1, le=1)] | None = Decimal("0.5")
    max_basis: Annotated[Decimal, Field(gt=0, le=10)] | None = Decimal("0.02")


class DaemonAlerts(AlertCooldown):
    """Started (info) and stopped (warning; its clearing); a crash is reported at the next start."""

    cooldown_seconds: Seconds = 0.0


class AlertRulesConfig(_Strict):
    funding: FundingAlerts = Field(default_factory=FundingAlerts)
    carry: CarryAlerts = Field(default_factory=CarryAlerts)
    margin_ratio: MarginRatioAlerts = Field(default_factory=MarginRatioAlerts)
    liquidation_distance: LiquidationAlerts = Field(default_factory=LiquidationAlerts)
    drift: DriftAlerts = Field(default_factory=DriftAlerts)
    proxy: ProxyAlerts = Field(default_factory=ProxyAlerts)
    prices: AlertCooldown = Field(default_factory=AlertCooldown)  # stale or outlier prices
    order_rejected: AlertCooldown = Field(default_factory=AlertCooldown)
    unknown_order: AlertCooldown = Field(default_factory=AlertCooldown)
    exchange: AlertCooldown = Field(default_factory=AlertCooldown)  # paused or banned
    kill_switch: AlertCooldown = Field(default_factory=AlertCooldown)
    daemon: DaemonAlerts = Field(default_factory=DaemonAlerts)
