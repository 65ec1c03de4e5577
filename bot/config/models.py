"""The configuration schema: frozen pydantic models, unknown keys rejected.

Key names are part of the product's interface (external checks rely on them). Money is Decimal,
fractions are Decimal in [0, 1]. Cross-field checks live in model validators so that every problem
is reported with its YAML path; a check that concerns a node below the one it validates raises
``error_at(...)`` so that the loader can point at that node and its line.

Paths (``ConfigPath``) expand ``~`` and, when validated with ``context={"base_dir": dir}`` (as
``bot.config.loader`` does), a relative path is taken relative to ``dir``.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config.rule_params import (
    BetaEstimatorConfig,
    FundingModifierConfig,
    VolTriggerConfig,
    WindowConfig,
)

Fraction = Annotated[Decimal, Field(ge=0, le=1)]
PositiveDecimal = Annotated[Decimal, Field(gt=0)]
NonNegativeDecimal = Annotated[Decimal, Field(ge=0)]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///hedgebot.sqlite"

ERROR_AT = "config_error_at"  # the error type of error_at(); ctx["at"] extends the error's loc


def error_at(message: str, *at: str | int) -> PydanticCustomError:
    """A validation error about the node ``at`` below the one being validated.

    Pydantic reports a validator's error at the validated field or model; the loader appends
    ``ctx["at"]`` to that location, so the user sees e.g. ``rules.1.asset`` instead of ``rules``.
    """
    return PydanticCustomError(ERROR_AT, message, {"at": at})


def _resolve_path(path: Path, info: ValidationInfo) -> Path:
    with contextlib.suppress(RuntimeError):  # "~user" for an unknown user: leave it as written
        path = path.expanduser()
    base_dir = info.context.get("base_dir") if isinstance(info.context, dict) else None
    if base_dir is not None and not path.is_absolute():
        return Path(base_dir) / path
    return path


def _coin(symbol: str) -> str:
    if not re.fullmatch(r"[A-Z0-9]{1,20}", symbol):
        raise ValueError("expected a coin symbol in upper case, like 'BTC' (A-Z, 0-9, at most 20)")
    return symbol


def _env_var_name(name: str) -> str:
    if not re.fullmatch(r"[A-Z_][A-Z0-9_]{0,99}", name):
        raise ValueError(
            "expected the NAME of an environment variable (A-Z, 0-9 and _), not the key itself"
        )
    return name


Coin = Annotated[str, AfterValidator(_coin)]
ConfigPath = Annotated[Path, AfterValidator(_resolve_path)]
# Upper case only, so that a key pasted in by mistake is rejected (and never echoed).
EnvVarName = Annotated[str, AfterValidator(_env_var_name)]


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReplayConfig(Strict):
    """Replay of real hourly candles (files named like ``binance_spot_BTCUSDT_1h.csv.gz``)."""

    path: ConfigPath
    start: str | None = None  # ISO timestamp of the first replayed candle; default: the first one
    step_per_tick: bool = True  # advance one candle per daemon tick (accelerated replay)

    @field_validator("start")
    @classmethod
    def _iso_timestamp(cls, start: str | None) -> str | None:
        if start is not None:
            try:
                datetime.fromisoformat(start)
            except ValueError:
                raise ValueError(
                    "expected an ISO 8601 timestamp like '2024-01-01T00:00:00Z'"
                ) from None
        return start


class SimBalances(Strict):
    spot: dict[Coin, NonNegativeDecimal] = Field(default_factory=dict)
    margin: dict[Coin, NonNegativeDecimal] = Field(default_factory=dict)


class SimConfig(Strict):
    """The simulated exchange (``exchange.id: sim``), also served by the emulator."""

    prices: dict[Coin, PositiveDecimal] = Field(default_factory=dict)
    replay: ReplayConfig | None = None
    contract_size_usd: dict[Coin, PositiveDecimal] = Field(default_factory=dict)
    balances: SimBalances = Field(default_factory=SimBalances)
    fee_rate: Annotated[Decimal, Field(ge=0, le=Decimal("0.01"))] = Decimal("0.00055")
    funding_rate: dict[Coin, Annotated[Decimal, Field(ge=-1, le=1)]] = Field(default_factory=dict)
    funding_interval_hours: Annotated[int, Field(ge=1, le=24)] = 8
    maintenance_margin_rate: Annotated[Decimal, Field(gt=0, lt=1)] = Decimal("0.005")
    # Coins that get an inverse perpetual (default: every priced coin); a coin left out is
    # spot-only, to be hedged with a proxy.
    inverse_perps: list[Coin] | None = None
    api_key: str = "test-key"
    secret: str = "test-secret"  # noqa: S105 (the simulator's well-known fake secret)

    @model_validator(mode="after")
    def _one_price_source(self) -> SimConfig:
        if self.replay is None and not self.prices:
            raise ValueError("give either 'prices' (fixed USD prices by coin) or 'replay'")
        return self


class ExchangeConfig(Strict):
    id: Annotated[str, Field(min_length=1)]
    testnet: bool = True
    url: str | None = None  # base URL override, e.g. the local emulator
    api_key_env: EnvVarName = "HEDGEBOT_API_KEY"
    secret_env: EnvVarName = "HEDGEBOT_API_SECRET"  # noqa: S105 (a variable name)
    api_key_file: ConfigPath | None = None  # read instead of api_key_env when given
    secret_file: ConfigPath | None = None  # read instead of secret_env when given
    sim: SimConfig | None = None
    # Run the Bybit emulator in-process on 127.0.0.1 over ``sim`` and point ccxt at it: the
    # whole wire path (ccxt, signing, parsing) with no network. Needs id "bybit" and "sim".
    embedded_emulator: bool = False
    timeout_ms: Annotated[int, Field(ge=500, le=120_000)] = 10_000  # per HTTP request
    # An order not found by its client id this long after it was persisted never arrived
    # (exchanges refuse requests older than their receive window, 5 s on Bybit).
    order_lookup_grace_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0
    allow_withdraw_permission: bool = False  # refuse keys that can withdraw unless True
    pause_on_unavailable_seconds: Annotated[float, Field(ge=0, le=86_400)] = 60.0

    @model_validator(mode="after")
    def _embedded_needs_sim(self) -> ExchangeConfig:
        if self.embedded_emulator and (self.sim is None or self.id != "bybit"):
            raise error_at(
                "embedded_emulator needs exchange.id 'bybit' and an 'exchange.sim' section",
                "embedded_emulator",
            )
        return self

    @model_validator(mode="after")
    def _sim_needs_section(self) -> ExchangeConfig:
        if self.id == "sim" and self.sim is None:
            raise error_at("exchange.id 'sim' needs an 'exchange.sim' section", "sim")
        return self


class HoldingsConfig(Strict):
    source: Literal["exchange", "none"] = "exchange"  # read spot balances from the exchange?
    static: dict[Coin, NonNegativeDecimal] = Field(default_factory=dict)  # coins held elsewhere


CollateralMode = Literal["neutral", "ignore"]


class RatioRuleConfig(Strict):
    """``kind: ratio`` (the default): hedge ``ratio`` of the asset on one instrument (β = 1)."""

    asset: Coin
    ratio: Fraction
    instrument: str | None = None  # default: the asset's own inverse perpetual
    kind: Literal["ratio"] = "ratio"
    # The coin margining this rule's hedge (when it has no rule of its own): hedged USD-neutral
    # on its own inverse perp ("neutral", hedging-math.md Example 2.2) or left alone ("ignore").
    collateral: CollateralMode = "neutral"


class BetaRuleConfig(Strict):
    """``kind: beta``: short ratio × exposure × β(asset, hedge coin) USD (hedging-math.md §3).

    ``hedge_with``: ``auto`` (the asset's own contract when listed, else the ``candidates`` coin
    with the highest ρ), a coin (its contract of type ``contract``) or an exact market symbol.
    """

    kind: Literal["beta"]
    asset: Coin
    ratio: Fraction
    hedge_with: Annotated[str, Field(min_length=1, max_length=100)] = "auto"
    candidates: Annotated[list[Coin], Field(min_length=1)] = Field(
        default_factory=lambda: ["BTC", "ETH"]
    )
    contract: Literal["inverse_perp", "linear_perp", "inverse_future"] = "inverse_perp"
    roll_hours_before_expiry: Annotated[float, Field(ge=0, le=24 * 90)] = 24.0
    rho_floor: Fraction = Decimal("0.7")
    on_low_rho: Literal["skip", "hedge_anyway"] = "skip"
    switch_margin: Fraction = Decimal("0.02")  # ρ lead a new proxy needs to replace the current
    estimator: BetaEstimatorConfig = Field(default_factory=BetaEstimatorConfig)
    funding_modifier: FundingModifierConfig | None = None
    windows: list[WindowConfig] = Field(default_factory=list)
    vol_trigger: VolTriggerConfig | None = None
    collateral: CollateralMode = "neutral"

    @field_validator("hedge_with")
    @classmethod
    def _hedge_with(cls, value: str) -> str:
        if value != "auto" and "/" not in value:
            _coin(value)  # a coin, e.g. "BTC"; else a market symbol like "BTC/USD:BTC"
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
            kind = error_at(_unknown_key_message(model, loc))
            ctx = None
        elif kind not in _BUILTIN_ERRORS:
            kind = PydanticCustomError(detail["type"], detail["msg"], ctx)
        item = InitErrorDetails(type=kind, loc=loc, input=detail["input"])
        if ctx is not None:
            item["ctx"] = ctx
        line_errors.append(item)
    return ValidationError.from_exception_data(error.title, line_errors)


def _unknown_key_message(model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    key = str(loc[-1])
    known = _keys_at(model, loc[:-1])
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?)"
    return f"unknown key {key!r}" + (f" (known keys: {', '.join(known)})" if known else "")


def _keys_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """Field names of the (nested) model at ``loc`` below ``model``; [] if not a model."""
    annotation: Any = model
    for item in loc:
        annotation = _strip_optional(annotation)
        if get_origin(annotation) is list and isinstance(item, int):
            annotation = get_args(annotation)[0]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(item))
            if field is None:
                return []
            annotation = field.annotation
        else:
            return []
    annotation = _strip_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _strip_optional(annotation: Any) -> Any:
    """``X`` from ``Annotated[X, ...]`` and ``X | None``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is UnionType:
            options = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


class HedgeConfig(Strict):
    band: Fraction = Decimal("0.02")  # act only when |target - current| > band * target
    min_order_usd: NonNegativeDecimal = Decimal(10)
    leverage: Annotated[Decimal, Field(ge=1, le=100)] = Decimal(1)
    margin_mode: Literal["isolated", "cross"] = "cross"
    # Maintenance margin rate of the exchange's first risk tier (Bybit inverse: 0.5 %), for our
    # own liquidation price; the exchange's own figure is used when it reports one.
    maintenance_margin_rate: Annotated[Decimal, Field(gt=0, lt=Decimal("0.5"))] = Decimal("0.005")
    maintenance_basis: Literal["entry", "mark"] = "mark"


class LimitsConfig(Strict):
    max_order_usd: PositiveDecimal = Decimal(100_000)
    max_total_short_usd: PositiveDecimal = Decimal(1_000_000)
    oversize: Literal["split", "clamp"] = "split"  # an order above max_order_usd
    # Kill switch: while this file exists, or this environment variable is "1", no order may
    # add exposure; reduce-only orders still go out.
    kill_switch_file: ConfigPath | None = None
    kill_switch_env: EnvVarName | None = "HEDGEBOT_KILL"


class ExecutionConfig(Strict):
    """How orders are worked: at market, or as limits near the mark that fall back to market."""

    style: Literal["market", "limit"] = "market"
    limit_offset: Annotated[Decimal, Field(ge=0, le=Decimal("0.05"))] = Decimal("0.0005")
    post_only: bool = True  # pay maker fees where the exchange supports it
    reprice_after_seconds: Annotated[float, Field(gt=0)] = 30.0
    market_after_seconds: Annotated[float, Field(gt=0)] = 120.0
    # Refuse a market order when last and mark disagree by more than this fraction.
    max_slippage: Annotated[Decimal, Field(gt=0, le=Decimal("0.5"))] = Decimal("0.01")


class ScheduleConfig(Strict):
    interval_seconds: Annotated[float, Field(gt=0, le=86_400)] = 60.0
    misfire_grace_seconds: Annotated[int, Field(ge=1)] = 30


class DatabaseConfig(Strict):
    url: str = DEFAULT_DATABASE_URL

    @field_validator("url")
    @classmethod
    def _known_driver(cls, url: str) -> str:
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "the URL must start with 'sqlite+aiosqlite://' or 'postgresql+asyncpg://'"
            )
        try:
            _ = make_url(url).port
        except (ArgumentError, ValueError):
            # Never echo the URL: it may hold a password.
            raise ValueError(
                "cannot parse it as a database URL (check the host and port)"
            ) from None
        return url


class LoggingConfig(Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "console"] = "auto"


class Config(Strict):
    exchange: ExchangeConfig
    holdings: HoldingsConfig = Field(default_factory=HoldingsConfig)
    rules: list[RuleConfig] = Field(min_length=1)
    hedge: HedgeConfig = Field(default_factory=HedgeConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    @field_validator("rules")
    @classmethod
    def _one_rule_per_asset(cls, rules: list[RuleConfig]) -> list[RuleConfig]:
        seen: dict[str, int] = {}
        for index, rule in enumerate(rules):
            if rule.asset in seen:
                first = seen[rule.asset]
                raise error_at(
                    f"asset {rule.asset!r} already has a rule (rules.{first})", index, "asset"
                )
            seen[rule.asset] = index
        return rules

    @property
    def is_mainnet(self) -> bool:
        exchange = self.exchange
        return exchange.id != "sim" and not exchange.embedded_emulator and not exchange.testnet
