"""``kind: ratio``: hedge a fixed fraction of an asset's exposure on one instrument (β = 1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from bot.config.models import CollateralMode, RatioRuleConfig
from bot.core.types import HedgeTarget
from strategies.base import RuleInputs, own_inverse_perp, register

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RatioRule:
    """Target short USD = ratio × exposure USD (spot + collateral, at the valuation price)."""

    asset: str
    ratio: Decimal
    instrument: str
    collateral: CollateralMode = "neutral"  # see strategies.collateral

    def targets(self, inputs: RuleInputs) -> Sequence[HedgeTarget]:
        exposure = inputs.exposures.get(self.asset)
        exposure_usd = exposure.exposure_usd if exposure is not None else ZERO
        return (
            HedgeTarget(
                asset=self.asset,
                instrument=self.instrument,
                ratio=self.ratio,
                target_short_usd=self.ratio * exposure_usd if exposure_usd > 0 else ZERO,
                proxy=self.proxy,
            ),
        )

    # Hedged on another coin's contract (β taken as 1 by this rule); fixed at construction.
    proxy: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "proxy", self.instrument != own_inverse_perp(self.asset))


@register("ratio")
def build_ratio_rule(config: RatioRuleConfig) -> RatioRule:
    """Factory for ``kind: ratio`` rules."""
    return RatioRule(
        asset=config.asset,
        ratio=config.ratio,
        instrument=config.instrument or own_inverse_perp(config.asset),
        collateral=config.collateral,
    )
