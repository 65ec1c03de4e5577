"""The per-instrument alert rules: funding, carry, margin and liquidation levels, drift, proxy
correlation and basis, prices."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from bot.alerts.checks import (
    CENT,
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    DEFAULT_FUNDING_INTERVAL_HOURS,
    HOURS_PER_YEAR,
    Check,
    Number,
    _check,
    _pct,
)
from bot.alerts.conditions import (
    AlertSpec as AlertSpec,
)
from bot.alerts.conditions import (
    ConditionState as ConditionState,
)
from bot.alerts.conditions import (
    Cooldown as Cooldown,
)
from bot.alerts.conditions import (
    evaluate as evaluate,
)
from bot.alerts.model import Severity
from bot.alerts.observations import (
    InstrumentObservation as InstrumentObservation,
)
from bot.alerts.observations import (
    OrderEvent as OrderEvent,
)
from bot.alerts.observations import (
    TickObservation as TickObservation,
)
from bot.config.alert_params import AlertRulesConfig


def _instrument_checks(item: InstrumentObservation, rules: AlertRulesConfig) -> Iterator[Check]:
    yield from _funding_checks(item, rules)
    yield from _carry_checks(item, rules)
    yield from _level_checks(item, rules)
    yield from _drift_checks(item, rules)
    yield from _proxy_checks(item, rules)
    yield from _price_checks(item, rules)


def _funding_checks(item: InstrumentObservation, rules: AlertRulesConfig) -> Iterator[Check]:
    config, rate = rules.funding, item.funding_rate
    if not config.enabled or rate is None:
        return
    cooldown = Cooldown.from_config(config)
    hours = item.funding_interval_hours or DEFAULT_FUNDING_INTERVAL_HOURS
    annual = rate * HOURS_PER_YEAR / hours
    values: dict[str, Number] = {"funding_rate": rate, "interval_hours": hours}
    values["annualized"] = annual
    name = item.instrument
    now = f"{_pct(annual)}/yr annualized, {rate} per {hours} h"
    if (high := config.high_annualized) is not None:
        says = (
            f"funding on {name} is {now}, above {_pct(high)}",
            f"funding on {name} is back at {now}, not above {_pct(high)}",
        )
        both = {**values, "threshold_annualized": high}
        yield _check(item, "funding", "high", annual > high, cooldown, Severity.INFO, both, says)
    if (low := config.low_annualized) is not None:
        says = (
            f"funding on {name} is {now}, below {_pct(low)}: the short hedge pays",
            f"funding on {name} is back at {now}, not below {_pct(low)}",
        )
        both = {**values, "threshold_annualized": low}
        yield _check(item, "funding", "low", annual < low, cooldown, Severity.WARNING, both, says)
    if config.sign_flip:
        says = (
            f"funding on {name} turned negative ({now}): the short hedge now pays funding",
            f"funding on {name} is no longer negative ({now}): the short hedge stops paying",
        )
        negative = rate < 0
        yield _check(
            item, "funding", "negative", negative, cooldown, Severity.WARNING, values, says
        )


def _annualized_carry(item: InstrumentObservation) -> Decimal | None:
    if item.annualized_carry is not None:
        return item.annualized_carry
    if item.funding_rate is None:
        return None
    hours = item.funding_interval_hours or DEFAULT_FUNDING_INTERVAL_HOURS
    return item.funding_rate * HOURS_PER_YEAR / hours


def _carry_checks(item: InstrumentObservation, rules: AlertRulesConfig) -> Iterator[Check]:
    config = rules.carry
    per_day, per_month = config.max_cost_per_day_usd, config.max_cost_per_month_usd
    carry = _annualized_carry(item)
    if not config.enabled or (per_day is None and per_month is None) or carry is None:
        return
    short = abs(item.short_usd) if item.short_usd is not None else Decimal(0)
    cost_day = max(Decimal(0), -carry) * short / DAYS_PER_YEAR
    cost_month = cost_day * DAYS_PER_MONTH
    values: dict[str, Number] = {
        "cost_per_day_usd": cost_day.quantize(CENT),
        "cost_per_month_usd": cost_month.quantize(CENT),
        "annualized_carry": carry,
        "short_usd": short,
    }
    active, limits = False, []
    if per_day is not None:
        values["max_cost_per_day_usd"] = per_day
        limits.append(f"{per_day} USD/day")
        active = cost_day > per_day
    if per_month is not None:
        values["max_cost_per_month_usd"] = per_month
        limits.append(f"{per_month} USD/month")
        active = active or cost_month > per_month
    name, limit, cost = item.instrument, " or ".join(limits), f"{cost_day:.2f} USD/day"
    says = (
        f"holding the short on {name} costs {cost} ({cost_month:.2f} USD/month) at the current "
        f"funding, above {limit}",
        f"the carry cost of the short on {name} is back to {cost}, within {limit}",
    )
    cooldown = Cooldown.from_config(config)
    yield _check(item, "carry", "cost", active, cooldown, Severity.WARNING, values, says)


LEVELS = (("critical", Severity.CRITICAL), ("warning", Severity.WARNING))


def _level_checks(item: InstrumentObservation, rules: AlertRulesConfig) -> Iterator[Check]:
    name, ratio, distance = item.instrument, item.margin_ratio, item.liquidation_distance
    margin, liquidation = rules.margin_ratio, rules.liquidation_distance
    for level, severity in LEVELS if margin.enabled else ():
        threshold: Decimal = getattr(margin, level)
        values: dict[str, Number] = {"threshold": threshold}
        if ratio is not None:
            values["margin_ratio"] = ratio
        says = (
            f"the margin ratio on {name} is {ratio}, at or above the {level} level {threshold} "
            f"(1 = liquidation)",
            f"the margin ratio on {name} is back below the {level} level {threshold} (now {ratio})",
        )
        active = ratio is not None and ratio >= threshold
        cooldown = Cooldown.from_config(margin)
        yield _check(item, "margin_ratio", level, active, cooldown, severity, values, says)
    for level, severity in LEVELS if liquidation.enabled else ():
        threshold = getattr(liquidation, level)
        values = {"threshold": threshold}
        if distance is not None:
            values["liquidation_distance"] = distance
        shown = "unreachable" if distance is None else _pct(distance)
        says = (
            f"the short on {name} is {shown} from liquidation, within the {level} distance "
            f"{_pct(threshold)}",
            f"the short on {name} is back beyond the {level} distance {_pct(threshold)} from "
            f"liquidation (now {shown})",
        )
        active = distance is not None and distance <= threshold
        cooldown = Cooldown.from_config(liquidation)
        section = "liquidation_distance"
        yield _check(item, section, level, active, cooldown, severity, values, says)


def _drift_checks(item: InstrumentObservation, rules: AlertRulesConfig) -> Iterator[Check]:
    config, drift, band = rules.drift, item.drift, item.band
    if not config.enabled or drift is None or band is None:
        return
    cooldown = Cooldown.from_config(config, hold_ticks=config.ticks)
    values: dict[str, Number] = {"drift": drift, "band": band, "ticks": config.ticks}
    name = item.instrument
    for check, active in (("over", drift > band), ("under", drift < -band)):
        says = (
            f"the hedge on {name} is {check}-hedged by {_pct(abs(drift))}, beyond its band "
            f"{_pct(band)} for more than {config.ticks} tick(s)",
            f"the hedge on {name} is no longer {check}-hedged beyond its band "
            f"(drift {_pct(drift)}, band {_pct(band)})",
        )
        yield _check(item, "drift", check, active, cooldown, Severity.WARNING, values, says)


def _proxy_checks(item: InstrumentObservation, rules: AlertRulesConfig) -> Iterator[Check]:
    config, name, rho, basis = rules.proxy, item.instrument, item.proxy_rho, item.basis
    if not config.enabled:
        return
    cooldown = Cooldown.from_config(config)
    if (floor := config.min_rho) is not None and rho is not None:
        says = (
            f"the proxy hedge of {item.asset or 'its asset'} on {name} has broken down: "
            f"correlation {rho} is below {floor}",
            f"the proxy hedge on {name} is correlated again: {rho} (minimum {floor})",
        )
        values: dict[str, Number] = {"rho": rho, "min_rho": floor}
        yield _check(item, "proxy", "rho", rho < floor, cooldown, Severity.WARNING, values, says)
    if (limit := config.max_basis) is not None and basis is not None:
        says = (
            f"the basis on {name} is {_pct(basis)}, beyond ±{_pct(limit)}",
            f"the basis on {name} is back within ±{_pct(limit)} (now {_pct(basis)})",
        )
        values = {"basis": basis, "max_basis": limit}
        wide = abs(basis) > limit
        yield _check(item, "proxy", "basis", wide, cooldown, Severity.WARNING, values, says)


def _price_checks(item: InstrumentObservation, rules: AlertRulesConfig) -> Iterator[Check]:
    config, name, age = rules.prices, item.instrument, item.price_age_seconds
    if not config.enabled:
        return
    cooldown = Cooldown.from_config(config)
    values: dict[str, Number] = {} if age is None else {"price_age_seconds": age}
    old = "" if age is None else f" ({age} s old)"
    says = (f"the price of {name} is stale{old}", f"the price of {name} is fresh again")
    stale = item.price_stale
    yield _check(item, "prices", "stale", stale, cooldown, Severity.WARNING, values, says)
    says = (
        f"the price of {name} is an outlier: it disagrees with its references",
        f"the price of {name} agrees with its references again",
    )
    outlier = item.price_outlier
    yield _check(item, "prices", "outlier", outlier, cooldown, Severity.WARNING, {}, says)
