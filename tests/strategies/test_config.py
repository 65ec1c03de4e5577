"""The rules schema: a union on ``kind`` (default ``ratio``) and the beta rule's factory."""

from __future__ import annotations

import textwrap
from datetime import time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.config.loader import ConfigError, parse_config
from bot.config.models import BetaRuleConfig, Config, RatioRuleConfig
from strategies import build_rule
from strategies.beta import BetaRule
from strategies.ratio import RatioRule
from strategies.windows import OneOffWindow, WeeklyWindow

HEAD = """\
exchange:
  id: sim
  sim:
    prices: {BTC: 50000, ETH: 3000, SOL: 150}
rules:
"""

BETA = """\
  - asset: BTC
    ratio: 1
  - asset: SOL
    kind: beta
    ratio: 0.7
    candidates: [BTC, ETH]
    rho_floor: 0.75
    on_low_rho: hedge_anyway
    estimator:
      interval: 1h
      window: 90
      method: ewma
      half_life: 20
      aggregate_to: 1d
      max_age_hours: 72
    funding_modifier:
      max_cost_annualized: 0.20
      after_hours: 24
      floor_ratio: 0.3
      restore_below_annualized: 0.05
      restore_after_hours: 12
    windows:
      - {every: weekly, day: sun, at: "20:00", duration_hours: 12}
      - {every: once, start: "2024-06-01T00:00:00Z", end: "2024-06-02T00:00:00Z"}
    vol_trigger: {window_hours: 48, enter_above: 1.2, exit_below: 0.8}
    collateral: ignore
"""


def load(rules: str) -> Config:
    return parse_config(HEAD + textwrap.dedent(rules), base_dir=Path("."))


def problems(rules: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(rules)
    return [str(problem) for problem in caught.value.problems]


def test_kind_defaults_to_ratio_and_ratio_rules_are_unchanged() -> None:
    config = load("  - {asset: BTC, ratio: 1}\n  - {asset: ETH, ratio: 0.7, instrument: X/USD:X}\n")
    btc, eth = config.rules
    assert isinstance(btc, RatioRuleConfig)
    assert (btc.kind, btc.instrument, btc.collateral) == ("ratio", None, "neutral")
    assert build_rule(btc) == RatioRule("BTC", Decimal(1), "BTC/USD:BTC")
    assert build_rule(eth) == RatioRule("ETH", Decimal("0.7"), "X/USD:X")


def test_beta_rule_config_builds_the_rule() -> None:
    config = load(BETA)
    sol = config.rules[1]
    assert isinstance(sol, BetaRuleConfig)
    rule = build_rule(sol)
    assert isinstance(rule, BetaRule)
    assert (rule.asset, rule.ratio, rule.hedge_with, rule.candidates) == (
        "SOL",
        Decimal("0.7"),
        "auto",
        ("BTC", "ETH"),
    )
    assert (rule.rho_floor, rule.on_low_rho, rule.collateral) == (
        Decimal("0.75"),
        "hedge_anyway",
        "ignore",
    )
    est = rule.estimator
    assert (est.interval_seconds, est.window, est.method, est.half_life) == (3600, 90, "ewma", 20)
    assert (est.aggregate_seconds, est.min_observations, est.max_age) == (
        86_400,
        45,
        timedelta(hours=72),
    )
    assert est.candles_needed == 92 * 24
    assert rule.funding is not None
    assert (rule.funding.after, rule.funding.floor_ratio) == (timedelta(hours=24), Decimal("0.3"))
    assert rule.gating.windows[0] == WeeklyWindow(6, time(20, 0), timedelta(hours=12))
    assert isinstance(rule.gating.windows[1], OneOffWindow)
    assert rule.gating.vol_trigger is not None
    assert rule.gating.vol_window_hours == 48
    assert [(r.coin, r.window) for r in rule.vol_requests()] == [("SOL", 48)]


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            "  - {asset: SOL, ratio: 0.7, kind: beta, rho_flor: 0.5}\n",
            ["rules.0.rho_flor (line 6): unknown key 'rho_flor' (did you mean 'rho_floor'?)"],
        ),
        (
            "  - {asset: SOL, ratio: 0.7, kind: gamma}\n",
            ["rules.0.kind (line 6): unknown rule kind 'gamma' (known kinds: beta, ratio)"],
        ),
        (
            "  - asset: SOL\n    kind: beta\n    ratio: 0.7\n    estimator:\n      windw: 5\n",
            ["rules.0.estimator.windw (line 10): unknown key 'windw' (did you mean 'window'?)"],
        ),
        (
            "  - {asset: SOL, kind: beta, ratio: 0.7, estimator: {method: ewma}}\n",
            ["rules.0.estimator (line 6): method 'ewma' needs half_life (bars)"],
        ),
        (
            "  - asset: SOL\n    kind: beta\n    ratio: 0.7\n    funding_modifier:\n"
            "      max_cost_annualized: 0.1\n      restore_below_annualized: 0.1\n",
            [
                "rules.0.funding_modifier (line 9): restore_below_annualized must be strictly "
                "lower than max_cost_annualized (a band between them keeps the ratio from "
                "flapping)"
            ],
        ),
        (
            "  - {asset: SOL, kind: beta, ratio: 0.7, windows: [{every: daily, at: '08:00'}]}\n",
            ["rules.0.windows.0 (line 6): every: daily needs duration_hours"],
        ),
        (
            "  - {asset: SOL, kind: beta, ratio: 0.7, hedge_with: btc}\n",
            [
                "rules.0.hedge_with (line 6): 'btc' is not valid: expected a coin symbol in "
                "upper case, like 'BTC' (A-Z, 0-9, at most 20)"
            ],
        ),
        (
            "  - {asset: SOL, kind: beta, ratio: 0.7, estimator: {aggregate_to: 90m}}\n",
            [
                "rules.0.estimator (line 6): aggregate_to '90m' must be a multiple of interval "
                "'1h' and longer"
            ],
        ),
        (
            "  - {asset: SOL, ratio: 0.7}\n  - {asset: SOL, kind: beta, ratio: 0.5}\n",
            ["rules.1.asset (line 7): asset 'SOL' already has a rule (rules.0)"],
        ),
    ],
)
def test_problems_name_the_rule_path(rules: str, expected: list[str]) -> None:
    assert problems(rules) == expected
