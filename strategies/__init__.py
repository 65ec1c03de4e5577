"""Pluggable hedge rules, selected in YAML by ``kind``. Importing this package registers them."""

from strategies import ratio as _ratio  # noqa: F401  (registers kind "ratio")
from strategies.base import HedgeRule, RuleInputs, build_rule, own_inverse_perp

__all__ = ["HedgeRule", "RuleInputs", "build_rule", "own_inverse_perp"]
