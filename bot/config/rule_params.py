"""Parameter sections of the hedge rules (``rules[*].estimator``, ``funding_modifier``, ...).

Frozen pydantic models, unknown keys rejected, like the rest of the schema (``models.py``), which
holds the rule models themselves. Units are in the key names: ``_hours``, ``_minutes``,
``_annualized`` (fraction per year, 0.2 = 20 %), bars (candles at the estimation horizon).
"""

from __future__ import annotations

import re
from datetime import datetime, time
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86_400}


def timeframe_seconds(timeframe: str) -> int:
    """``"1h"`` -> 3600, ``"15m"`` -> 900, ``"1d"`` -> 86400; ValueError otherwise."""
    match = re.fullmatch(r"([1-9]\d{0,3})([mhd])", timeframe)
    if match is None:
        raise ValueError(f"expected a candle interval like '1h', '4h' or '1d', got {timeframe!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _timeframe(text: str) -> str:
    timeframe_seconds(text)
    return text


def _utc_timestamp(text: str) -> str:
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("expected an ISO 8601 timestamp like '2024-01-01T00:00:00Z'") from None
    if stamp.utcoffset() is None:
        raise ValueError("the timestamp needs a UTC offset, e.g. '2024-01-01T00:00:00Z'")
    return text


def _clock(text: str) -> str:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
        raise ValueError("expected a UTC time of day like '08:30' (HH:MM)")
    return text


Timeframe = Annotated[str, AfterValidator(_timeframe)]
UtcTimestamp = Annotated[str, AfterValidator(_utc_timestamp)]
ClockTime = Annotated[str, AfterValidator(_clock)]
Hours = Annotated[float, Field(ge=0, le=24 * 366)]
# Annualized volatility (1.2 = 120 % a year). Bitcoin's hourly returns run near 0.5, small coins
# in a crash reach a few units; 100 (10,000 % a year) is beyond any market.
AnnualizedVolatility = Annotated[float, Field(gt=0, le=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# The stated minimum history for a β: a week of hourly returns. Measured on the development pairs
# (bench/hedge_quality.py), a week-old estimate already hedges better than none.
DEFAULT_MIN_RETURNS = 168


class BetaEstimatorConfig(_Strict):
    """How β and ρ are estimated from spot candles of the asset and of the hedge coin.

    ``window`` and ``min_observations`` count returns at the estimation horizon (``aggregate_to``
    when given, else ``interval``); ``half_life`` is in those bars too (EWMA only).
    """

    interval: Timeframe = Field("1h", description="Interval of the candles fetched.")
    window: Annotated[int, Field(ge=2, le=100_000)] = Field(
        720, description="Returns used, in bars (720 hours: 30 days)."
    )
    method: Literal["ols", "ewma"] = Field(
        "ols", description="Estimator: ordinary least squares, or exponentially weighted."
    )
    # Bars, like window (and bounded like it): a longer half-life weighs every return alike.
    half_life: Annotated[float, Field(gt=0, le=100_000)] | None = Field(
        None, description="EWMA half-life in bars (needed by, and only for, method ewma)."
    )
    aggregate_to: Timeframe | None = Field(
        None, description="Estimate on coarser returns, e.g. 1d: daily returns from 1h candles."
    )
    min_observations: Annotated[int, Field(ge=2, le=100_000)] | None = Field(
        None,
        description="Fewest returns for an estimate (default: 168, a week of hourly returns, "
        "or half the window if that is less); until the window fills, all returns are used.",
    )
    max_age_hours: Annotated[float, Field(gt=0, le=24 * 366)] = Field(
        48.0, description="An estimate whose newest return is older than this is stale."
    )
    refresh_minutes: Annotated[int, Field(ge=1, le=10_080)] = Field(
        60, description="Re-estimate this often."
    )

    @property
    def interval_seconds(self) -> int:
        return timeframe_seconds(self.interval)

    @property
    def horizon_seconds(self) -> int:
        """Length of one return used in the estimate (seconds)."""
        return timeframe_seconds(self.aggregate_to or self.interval)

    @property
    def min_returns(self) -> int:
        return self.min_observations or max(2, min(self.window // 2, DEFAULT_MIN_RETURNS))

    @model_validator(mode="after")
    def _consistent(self) -> BetaEstimatorConfig:
        if self.method == "ewma" and self.half_life is None:
            raise ValueError("method 'ewma' needs half_life (bars)")
        if self.method == "ols" and self.half_life is not None:
            raise ValueError("half_life applies to method 'ewma' only")
        if self.aggregate_to is not None:
            coarse, fine = timeframe_seconds(self.aggregate_to), self.interval_seconds
            if coarse <= fine or coarse % fine:
                raise ValueError(
                    f"aggregate_to {self.aggregate_to!r} must be a multiple of interval "
                    f"{self.interval!r} and longer"
                )
        if self.min_observations is not None and self.min_observations > self.window:
            raise ValueError("min_observations cannot exceed window")
        if self.max_age_hours * 3600 <= self.horizon_seconds:
            raise ValueError("max_age_hours must exceed one return horizon, or it is always stale")
        return self


class FundingModifierConfig(_Strict):
    """Lower the ratio while holding the short costs too much funding (hysteresis, no flapping).

    Cost is the annualized funding the SHORT pays: −rate × 8760 / interval_hours (a positive
    rate pays the short, so its cost is negative).
    """

    max_cost_annualized: Annotated[Decimal, Field(gt=-10, le=100)] = Field(
        description="Annualized funding cost of the short above which the ratio drops "
        "(0.20 = 20 % a year)."
    )
    after_hours: Hours = Field(
        24.0, description="The cost stays above max_cost_annualized this long before it drops."
    )
    floor_ratio: Annotated[Decimal, Field(ge=0, le=1)] = Field(
        Decimal(0), description="The ratio the rule drops to while funding is too expensive."
    )
    restore_below_annualized: Annotated[Decimal, Field(gt=-10, le=100)] = Field(
        description="Annualized cost below which the ratio is restored (below max_cost_annualized)."
    )
    restore_after_hours: Hours = Field(
        24.0, description="The cost stays below restore_below_annualized this long first."
    )

    @model_validator(mode="after")
    def _hysteresis(self) -> FundingModifierConfig:
        if self.restore_below_annualized >= self.max_cost_annualized:
            raise ValueError(
                "restore_below_annualized must be strictly lower than max_cost_annualized "
                "(a band between them keeps the ratio from flapping)"
            )
        return self


class WindowConfig(_Strict):
    """A UTC time window in which the rule hedges.

    ``every: once`` needs ``start`` and ``end`` (ISO timestamps with an offset); ``daily`` needs
    ``at`` (HH:MM UTC) and ``duration_hours``; ``weekly`` also needs ``day`` (mon..sun).
    """

    every: Literal["once", "daily", "weekly"] = Field(
        description="once (start, end), daily (at, duration_hours) or weekly (day too)."
    )
    start: UtcTimestamp | None = Field(
        None, description="every once: when the window opens (ISO timestamp with offset)."
    )
    end: UtcTimestamp | None = Field(
        None, description="every once: when it closes (ISO timestamp with offset)."
    )
    day: Weekday | None = Field(None, description="every weekly: the day it opens.")
    at: ClockTime | None = Field(
        None, description="every daily or weekly: the UTC time it opens (HH:MM)."
    )
    duration_hours: Annotated[float, Field(gt=0, le=24 * 7)] | None = Field(
        None, description="every daily (at most 24) or weekly: how long it stays open."
    )

    @model_validator(mode="after")
    def _fields_for_kind(self) -> WindowConfig:
        needed = {"once": ("start", "end"), "daily": ("at", "duration_hours")}.get(
            self.every, ("day", "at", "duration_hours")
        )
        allowed = set(needed)
        missing = [name for name in needed if getattr(self, name) is None]
        extra = [
            name
            for name in ("start", "end", "day", "at", "duration_hours")
            if name not in allowed and getattr(self, name) is not None
        ]
        if missing:
            raise ValueError(f"every: {self.every} needs {', '.join(missing)}")
        if extra:
            raise ValueError(f"every: {self.every} does not use {', '.join(extra)}")
        if self.every == "once" and self.start_at >= self.end_at:
            raise ValueError("end must be after start")
        if self.every == "daily" and (self.duration_hours or 0) > 24:
            raise ValueError("a daily window lasts at most 24 hours")
        return self

    @property
    def start_at(self) -> datetime:
        """``start`` as an aware datetime (``every: once``)."""
        return datetime.fromisoformat(self.start or "")

    @property
    def end_at(self) -> datetime:
        """``end`` as an aware datetime (``every: once``)."""
        return datetime.fromisoformat(self.end or "")

    @property
    def at_time(self) -> time:
        """``at`` as a UTC time of day (``daily``/``weekly``)."""
        return time.fromisoformat(self.at or "")


class VolTriggerConfig(_Strict):
    """Hedge while the asset's realized volatility is high (annualized, hourly log returns)."""

    window_hours: Annotated[int, Field(ge=2, le=24 * 366)] = Field(
        24, description="Hours of hourly returns the volatility is measured over."
    )
    enter_above: AnnualizedVolatility = Field(
        description="Start hedging above this annualized volatility (1.2 = 120 % a year)."
    )
    exit_below: AnnualizedVolatility = Field(
        description="Stop hedging below this annualized volatility (below enter_above)."
    )
    min_active_hours: Hours = Field(0.0, description="Once on, stay on at least this long.")

    @model_validator(mode="after")
    def _hysteresis(self) -> VolTriggerConfig:
        if self.exit_below >= self.enter_above:
            raise ValueError("exit_below must be strictly lower than enter_above")
        return self
