"""Hedge rule sections (``rules:``): one model per ``kind``, chosen by ``kind`` (default ``ratio``).

Re-exported by ``bot.config.models``; ``strategies/`` builds a rule from each.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from bot.config.fields import Coin, Fraction, Strict, _coin, error_at
from bot.config.rule_params import (
    BetaEstimatorConfig,
    FundingModifierConfig,
    VolTriggerConfig,
    WindowConfig,
)
from bot.config.schema_paths import unknown_key_message

CollateralMode = Literal["neutral", "ignore"]

# A derivatives market as ccxt names it: BASE/QUOTE:SETTLE (a perpetual), with -YYMMDD after the
# settle coin for a dated future. The exchange adapter keeps only derivatives markets, so `run`
# refuses any other symbol ("lists no market ... (rules name them)"); check-config refuses it too.
_CONTRACT_SYMBOL = re.compile(r"[^\s/:]+/[^\s/:]+:[^\s/:]+")


def _contract_symbol(symbol: str) -> str:
    if not _CONTRACT_SYMBOL.fullmatch(symbol):
        raise ValueError(
            "expected a contract's market symbol BASE/QUOTE:SETTLE, like 'SOL/USD:SOL' (inverse) "
            "or 'SOL/USDT:USDT' (linear): exchanges list no other market a hedge can short"
        )
    return symbol


class RatioRuleConfig(Strict):
    """``kind: ratio`` (the default): hedge ``ratio`` of the asset on one instrument (β = 1)."""

    asset: Coin = Field(description="The coin to hedge.")
    ratio: Fraction = Field(description="Share of the asset's exposure to hedge (1 = all of it).")
    instrument: str | None = Field(
        None,
        description="Market symbol to short, e.g. SOL/USD:SOL (default: the asset's own inverse "
        "perpetual).",
    )
    kind: Literal["ratio"] = Field("ratio", description="Rule kind (ratio is the default).")
    # The coin margining this rule's hedge (when it has no rule of its own): hedged USD-neutral
    # on its own inverse perp ("neutral", hedging-math.md Example 2.2) or left alone ("ignore").
    collateral: CollateralMode = Field(
        "neutral",
        description="The margin coin, when it has no rule of its own: hedged USD-neutral on its "
        "own perp, or ignored.",
    )

    @field_validator("instrument")
    @classmethod
    def _instrument(cls, value: str | None) -> str | None:
        return None if value is None else _contract_symbol(value)


class BetaRuleConfig(Strict):
    """``kind: beta``: short ratio × exposure × β(asset, hedge coin) USD (hedging-math.md §3).

    ``hedge_with``: ``auto`` (the asset's own contract when listed, else the ``candidates`` coin
    with the highest ρ), a coin (its contract of type ``contract``) or an exact market symbol.
    """

    kind: Literal["beta"] = Field(description="Rule kind: beta.")
    asset: Coin = Field(description="The coin to hedge.")
    ratio: Fraction = Field(
        description="Share of the asset's exposure to hedge, before β (1 = all of it)."
    )
    hedge_with: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        "auto",
        description="auto (own contract if listed, else the candidate with the highest ρ), a "
        "coin, or a market symbol.",
    )
    candidates: Annotated[list[Coin], Field(min_length=1)] = Field(
        default_factory=lambda: ["BTC", "ETH"],
        description="Proxy coins hedge_with: auto chooses from.",
    )
    contract: Literal["inverse_perp", "linear_perp", "inverse_future"] = Field(
        "inverse_perp", description="Contract type of the hedge coin to trade."
    )
    roll_hours_before_expiry: Annotated[float, Field(ge=0, le=24 * 90)] = Field(
        24.0, description="inverse_future: roll to the next expiry this many hours before."
    )
    rho_floor: Fraction = Field(
        Decimal("0.4"),
        description="Correlation ρ below which a proxy hedge tapers (scaled down with ρ).",
    )
    rho_taper: Fraction = Field(
        Decimal("0.2"),
        description="Below rho_floor the hedge shrinks linearly to 0 at rho_floor − rho_taper.",
    )
    rho_breakdown_hours: Annotated[float, Field(ge=0, le=24 * 365)] = Field(
        24.0,
        description="ρ at the taper's bottom this long: the proxy hedge is lifted (critical "
        "event) until ρ is back at rho_floor.",
    )
    on_low_rho: Literal["skip", "hedge_anyway"] = Field(
        "skip",
        description="ρ below rho_floor: taper and, on a breakdown, lift the hedge (skip); or "
        "keep hedging in full (with an event).",
    )
    switch_margin: Fraction = Field(
        Decimal("0.02"), description="ρ lead a new proxy needs to replace the current one."
    )
    estimator: BetaEstimatorConfig = Field(
        default_factory=BetaEstimatorConfig, description="How β and ρ are estimated."
    )
    funding_modifier: FundingModifierConfig | None = Field(
        None, description="Lower the ratio while the short's funding costs too much."
    )
    windows: list[WindowConfig] = Field(
        default_factory=list,
        description="UTC time windows in which the rule hedges (none: always).",
    )
    vol_trigger: VolTriggerConfig | None = Field(
        None, description="Hedge only while the asset's realized volatility is high."
    )
    collateral: CollateralMode = Field(
        "neutral",
        description="The margin coin, when it has no rule of its own: hedged USD-neutral on its "
        "own perp, or ignored.",
    )

    @field_validator("hedge_with")
    @classmethod
    def _hedge_with(cls, value: str) -> str:
        if "/" in value:
            return _contract_symbol(value)  # a market symbol like "BTC/USD:BTC"
        if value != "auto":
            _coin(value)  # a coin, e.g. "BTC"
        return value


_BUILTIN_ERRORS = frozenset(get_args(ErrorType))
_RULE_MODELS: dict[str, type[RatioRuleConfig | BetaRuleConfig]] = {
    "ratio": RatioRuleConfig,
    "beta": BetaRuleConfig,
}


def _validate_rule(
    value: Any, _handler: Any, info: ValidationInfo
) -> RatioRuleConfig | BetaRuleConfig:
    """Pick the rule model by ``kind`` (default ``ratio``) and validate with it.

    Errors keep the rule's own paths (``rules.1.ratio``, not ``rules.1.ratio.ratio``), and an
    unknown key is named with the keys of the right kind.
    """
    if isinstance(value, RatioRuleConfig | BetaRuleConfig):
        return value
    kind = value.get("kind", "ratio") if isinstance(value, dict) else "ratio"
    model = _RULE_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        known = ", ".join(sorted(_RULE_MODELS))
        raise error_at(f"unknown rule kind {kind!r} (known kinds: {known})", "kind")
    try:
        return model.model_validate(value, context=info.context)
    except ValidationError as error:
        raise _with_key_hints(error, model) from None


RuleConfig = Annotated[RatioRuleConfig | BetaRuleConfig, WrapValidator(_validate_rule)]
"""One hedge rule; ``kind`` selects the model and the strategy in ``strategies/``."""


def _with_key_hints(error: ValidationError, model: type[BaseModel]) -> ValidationError:
    """``error`` with each unknown key reported as "unknown key 'x' (did you mean 'y'?)"."""
    line_errors: list[InitErrorDetails] = []
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        kind: str | PydanticCustomError = detail["type"]
        ctx = detail.get("ctx")
        if kind == "extra_forbidden":
            kind = error_at(unknown_key_message(model, loc))
            ctx = None
        elif kind not in _BUILTIN_ERRORS:
            kind = PydanticCustomError(detail["type"], detail["msg"], ctx)
        item = InitErrorDetails(type=kind, loc=loc, input=detail["input"])
        if ctx is not None:
            item["ctx"] = ctx
        line_errors.append(item)
    return ValidationError.from_exception_data(error.title, line_errors)
