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
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

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


class RuleConfig(Strict):
    """A per-asset hedge rule. ``kind`` selects the strategy in ``strategies/``."""

    asset: Coin
    ratio: Fraction
    instrument: str | None = None  # default: the asset's own inverse perpetual
    kind: Literal["ratio"] = "ratio"


class HedgeConfig(Strict):
    band: Fraction = Decimal("0.02")  # act only when |target - current| > band * target
    min_order_usd: NonNegativeDecimal = Decimal(10)
    leverage: Annotated[Decimal, Field(ge=1, le=100)] = Decimal(1)
    margin_mode: Literal["isolated", "cross"] = "cross"


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
