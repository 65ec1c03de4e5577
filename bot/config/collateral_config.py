"""The ``collateral:`` config section: how far each short's liquidation must stay, and whether the
daemon may move coins (spot <-> contract wallet) or convert a proxy-hedged asset's spot into the
margin coin to keep it there.

Not to be confused with a rule's own ``collateral: neutral|ignore`` (``CollateralMode``), which
says whether a margin coin is hedged. Distances are fractions of the mark price: ``0.5`` keeps
the liquidation price at least 50 % above the mark.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from bot.config.fields import Coin, PositiveCoins, PositiveUsd, Strict, error_at

Distance = Annotated[Decimal, Field(gt=0, le=10)]


class CollateralConfig(Strict):
    """``collateral:`` (top level, or per account): the margin policy of the plan.

    Moving coins is opt-in (``fund_from: spot``); converting is opt-in on top of it
    (``convert: true``), since converted coins land in spot and must be transferred. Top-ups aim
    at ``target_distance``; surplus above ``release_distance`` goes back to spot, down to the
    target. Both caps are per rolling 24 h; the USD cap counts both directions.
    """

    min_liquidation_distance: Distance = Field(
        Decimal("0.5"),
        description="Keep each short's liquidation at least this far above the mark (0.5 = 50 %).",
    )
    fee_rate: Annotated[Decimal, Field(ge=0, le=Decimal("0.01"))] = Field(
        Decimal("0.001"), description="Fee reserved per increase when sizing a hedge to margin."
    )
    fund_from: Literal["none", "spot"] = Field(
        "none",
        description="none: only report shortfalls; spot: move the margin coin between wallets.",
    )
    target_liquidation_distance: Distance | None = Field(
        None, description="Where top-ups aim (default: 1.5 × min_liquidation_distance)."
    )
    release_above_distance: Distance | None = Field(
        None,
        description="Above this, surplus margin goes back to spot (default: 3 × the minimum).",
    )
    max_transfer_per_day_usd: PositiveUsd = Field(
        Decimal(100_000), description="Cap on transfers per rolling 24 h, both directions (USD)."
    )
    max_transfer_per_day: dict[Coin, PositiveCoins] = Field(
        default_factory=dict, description="Cap on transfers per rolling 24 h, in coins by coin."
    )
    convert: bool = Field(
        False,
        description="Sell part of a proxy-hedged asset's spot for its margin coin (needs "
        "fund_from: spot).",
    )
    max_convert_per_day_usd: PositiveUsd = Field(
        Decimal(50_000), description="Cap on conversions per rolling 24 h (USD)."
    )

    @property
    def target_distance(self) -> Decimal:
        """Where a top-up aims: ``target_liquidation_distance``, else 1.5 x the minimum."""
        if self.target_liquidation_distance is not None:
            return self.target_liquidation_distance
        return self.min_liquidation_distance * Decimal("1.5")

    @property
    def release_distance(self) -> Decimal:
        """Above this, surplus margin goes back to spot: ``release_above_distance``, else 3 x
        the minimum."""
        if self.release_above_distance is not None:
            return self.release_above_distance
        return self.min_liquidation_distance * 3

    @model_validator(mode="after")
    def _consistent(self) -> CollateralConfig:
        if self.target_distance < self.min_liquidation_distance:
            raise error_at(
                f"must be at least min_liquidation_distance ({self.min_liquidation_distance})",
                "target_liquidation_distance",
            )
        if self.release_distance <= self.target_distance:
            if self.release_above_distance is not None:
                target = (
                    f"target_liquidation_distance ({self.target_distance})"
                    if self.target_liquidation_distance is not None
                    else f"the target distance (1.5 x min_liquidation_distance = "
                    f"{self.target_distance})"
                )
                raise error_at(f"must be above {target}", "release_above_distance")
            # The release distance is the default: the target written is what is too high.
            raise error_at(
                f"must be below release_above_distance (default 3 x min_liquidation_distance "
                f"= {self.release_distance}); lower it or set release_above_distance",
                "target_liquidation_distance",
            )
        if self.convert and self.fund_from == "none":
            raise error_at(
                "convert: true needs fund_from: spot (converted coins land in spot and must be "
                "transferred to the contract wallet)",
                "convert",
            )
        return self
