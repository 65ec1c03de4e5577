"""The configuration schema: frozen pydantic models, unknown keys rejected.

Key names are part of the product's interface (external checks rely on them). Money is Decimal,
fractions are Decimal in [0, 1]. Cross-field checks live in model validators so that every problem
is reported with its YAML path.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Fraction = Annotated[Decimal, Field(ge=0, le=1)]
PositiveDecimal = Annotated[Decimal, Field(gt=0)]
NonNegativeDecimal = Annotated[Decimal, Field(ge=0)]
Coin = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Z0-9]+$")]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///hedgebot.sqlite"


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReplayConfig(Strict):
    """Replay of real hourly candles (files named like ``binance_spot_BTCUSDT_1h.csv.gz``)."""

    path: Path
    start: str | None = None  # ISO timestamp of the first replayed candle; default: the first one
    step_per_tick: bool = True  # advance one candle per daemon tick (accelerated replay)


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
    secret: str = "test-secret"

    @model_validator(mode="after")
    def _one_price_source(self) -> SimConfig:
        if self.replay is None and not self.prices:
            raise ValueError("give either 'prices' (fixed USD prices by coin) or 'replay'")
        return self


class ExchangeConfig(Strict):
    id: Annotated[str, Field(min_length=1)]
    testnet: bool = True
    url: str | None = None  # base URL override, e.g. the local emulator
    api_key_env: str = "HEDGEBOT_API_KEY"
    secret_env: str = "HEDGEBOT_API_SECRET"
    api_key_file: Path | None = None
    secret_file: Path | None = None
    sim: SimConfig | None = None

    @model_validator(mode="after")
    def _sim_needs_section(self) -> ExchangeConfig:
        if self.id == "sim" and self.sim is None:
            raise ValueError("exchange.id 'sim' needs an 'exchange.sim' section")
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
                "database.url must start with 'sqlite+aiosqlite://' or 'postgresql+asyncpg://'"
            )
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
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    @field_validator("rules")
    @classmethod
    def _one_rule_per_asset(cls, rules: list[RuleConfig]) -> list[RuleConfig]:
        seen: set[str] = set()
        for rule in rules:
            if rule.asset in seen:
                raise ValueError(f"asset {rule.asset!r} has more than one rule")
            seen.add(rule.asset)
        return rules

    @property
    def is_mainnet(self) -> bool:
        return self.exchange.id != "sim" and not self.exchange.testnet
