"""Factory for ``kind: beta``: the validated config (``BetaRuleConfig``) -> ``BetaRule``."""

from __future__ import annotations

from datetime import timedelta

from bot.config.models import BetaRuleConfig
from bot.config.rule_params import WEEKDAYS, WindowConfig, timeframe_seconds
from strategies.base import register
from strategies.beta import BetaRule
from strategies.beta_gating import Gating
from strategies.modifiers import FundingModifierParams
from strategies.requests import BetaParams
from strategies.windows import DailyWindow, OneOffWindow, TimeWindow, VolTrigger, WeeklyWindow


@register("beta")
def build_beta_rule(config: BetaRuleConfig) -> BetaRule:
    """Factory for ``kind: beta`` rules (config units -> timedelta / seconds)."""
    est = config.estimator
    params = BetaParams(
        interval=est.interval,
        interval_seconds=est.interval_seconds,
        window=est.window,
        method=est.method,
        half_life=est.half_life,
        aggregate_seconds=timeframe_seconds(est.aggregate_to) if est.aggregate_to else None,
        min_observations=est.min_returns,
        max_age=timedelta(hours=est.max_age_hours),
        refresh=timedelta(minutes=est.refresh_minutes),
    )
    fm = config.funding_modifier
    funding = None
    if fm is not None:
        funding = FundingModifierParams(
            max_cost_annualized=fm.max_cost_annualized,
            after=timedelta(hours=fm.after_hours),
            floor_ratio=fm.floor_ratio,
            restore_below_annualized=fm.restore_below_annualized,
            restore_after=timedelta(hours=fm.restore_after_hours),
        )
    trigger = config.vol_trigger
    gating = Gating(
        windows=tuple(time_window(w) for w in config.windows),
        vol_trigger=None
        if trigger is None
        else VolTrigger(
            trigger.enter_above, trigger.exit_below, timedelta(hours=trigger.min_active_hours)
        ),
        vol_window_hours=trigger.window_hours if trigger is not None else 24,
    )
    return BetaRule(
        asset=config.asset,
        ratio=config.ratio,
        estimator=params,
        hedge_with=config.hedge_with,
        candidates=tuple(config.candidates),
        contract=config.contract,
        roll_hours_before_expiry=config.roll_hours_before_expiry,
        rho_floor=config.rho_floor,
        rho_taper=config.rho_taper,
        rho_breakdown=timedelta(hours=config.rho_breakdown_hours),
        on_low_rho=config.on_low_rho,
        switch_margin=config.switch_margin,
        funding=funding,
        gating=gating,
        collateral=config.collateral,
    )


def time_window(config: WindowConfig) -> TimeWindow:
    """The window a ``windows`` config entry describes."""
    if config.every == "once":
        return OneOffWindow(config.start_at, config.end_at)
    duration = timedelta(hours=config.duration_hours or 0)
    if config.every == "daily":
        return DailyWindow(config.at_time, duration)
    return WeeklyWindow(WEEKDAYS.index(config.day or "mon"), config.at_time, duration)
