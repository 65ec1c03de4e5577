"""Pluggable hedge rules, selected in YAML by ``kind``. Importing this package registers them."""

from strategies import beta_factory as _beta  # noqa: F401  (registers kind "beta")
from strategies import ratio as _ratio  # noqa: F401  (registers kind "ratio")
from strategies.base import (
    HedgeRule,
    RuleInputs,
    build_rule,
    evaluate_rule,
    own_inverse_perp,
    rule_instruments,
)
from strategies.events import RuleEvent, RuleResult

__all__ = [
    "HedgeRule",
    "RuleEvent",
    "RuleInputs",
    "RuleResult",
    "build_rule",
    "evaluate_rule",
    "own_inverse_perp",
    "rule_instruments",
]
