"""The configuration schema: frozen pydantic models, unknown keys rejected.

Key names are part of the product's interface (external checks rely on them). Money is Decimal,
fractions are Decimal in [0, 1]. Cross-field checks live in model validators so that every problem
is reported with its YAML path; a check that concerns a node below the one it validates raises
``error_at(...)`` so that the loader can point at that node and its line.

Paths (``ConfigPath``) expand ``~`` and, when validated with ``context={"base_dir": dir}`` (as
``bot.config.loader`` does), a relative path is taken relative to ``dir``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config.alerts_config import AlertsConfig as AlertsConfig
from bot.config.collateral_config import CollateralConfig as CollateralConfig
from bot.config.exchange_config import (
    ExchangeConfig as ExchangeConfig,
)
from bot.config.exchange_config import (
    HoldingsConfig as HoldingsConfig,
)
from bot.config.exchange_config import (
    ReplayConfig as ReplayConfig,
)
from bot.config.exchange_config import (
    SimBalances as SimBalances,
)
from bot.config.exchange_config import (
    SimConfig as SimConfig,
)
from bot.config.exchange_config import (
    SpotSourceConfig as SpotSourceConfig,
)
from bot.config.fields import (
    DEFAULT_DATABASE_URL as DEFAULT_DATABASE_URL,
)
from bot.config.fields import (
    ERROR_AT as ERROR_AT,
)
from bot.config.fields import (
    Coin as Coin,
)
from bot.config.fields import (
    ConfigPath as ConfigPath,
)
from bot.config.fields import (
    EnvVarName as EnvVarName,
)
from bot.config.fields import (
    Fraction as Fraction,
)
from bot.config.fields import (
    NonNegativeDecimal as NonNegativeDecimal,
)
from bot.config.fields import (
    PositiveDecimal as PositiveDecimal,
)
from bot.config.fields import (
    Strict as Strict,
)
from bot.config.fields import (
    _coin as _coin,
)
from bot.config.fields import (
    _env_var_name as _env_var_name,
)
from bot.config.fields import (
    _resolve_path as _resolve_path,
)
from bot.config.fields import (
    error_at as error_at,
)
from bot.config.rule_config import BetaRuleConfig as BetaRuleConfig
from bot.config.rule_config import CollateralMode as CollateralMode
from bot.config.rule_config import RatioRuleConfig as RatioRuleConfig
from bot.config.rule_config import RuleConfig as RuleConfig


class HedgeConfig(Strict):
    band: Fraction = Decimal("0.02")  # act only when |target - current| > band * target
    min_order_usd: NonNegativeDecimal = Decimal(10)
    leverage: Annotated[Decimal, Field(ge=1, le=100)] = Decimal(1)
    margin_mode: Literal["isolated", "cross"] = "cross"
    # Maintenance margin rate of the exchange's first risk tier (Bybit inverse: 0.5 %), for our
    # own liquidation price; the exchange's own figure is used when it reports one.
    maintenance_margin_rate: Annotated[Decimal, Field(gt=0, lt=Decimal("0.5"))] = Decimal("0.005")
    maintenance_basis: Literal["entry", "mark"] = "mark"


class WatchConfig(Strict):
    """Market watch: events (for alerts) when a proxy's correlation or a perp's basis drifts."""

    rho_floor: Fraction = Decimal("0.7")  # proxy correlation below this: breakdown
    basis_threshold: Annotated[Decimal, Field(gt=0, le=1)] = Decimal("0.01")  # |perp/spot − 1|


class HttpConfig(Strict):
    """Health, readiness, status and metrics over HTTP (loopback by default)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65_535)] = 8080
    token_env: EnvVarName | None = None  # when set: "Authorization: Bearer <token>" required
    stale_after_ticks: Annotated[float, Field(ge=1)] = 3.0  # /healthz: last tick older: 503


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
    shutdown_grace_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0  # SIGTERM: finish tick


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


AccountName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class AccountConfig(Strict):
    """Another account hedged by the same daemon (``accounts:``). The sections it leaves out
    (holdings, hedge, limits, execution, watch, collateral) are taken from the top level."""

    name: AccountName
    exchange: ExchangeConfig
    rules: list[RuleConfig] = Field(min_length=1)
    holdings: HoldingsConfig | None = None
    hedge: HedgeConfig | None = None
    limits: LimitsConfig | None = None
    execution: ExecutionConfig | None = None
    watch: WatchConfig | None = None
    collateral: CollateralConfig | None = None


class Config(Strict):
    """One daemon's config. The top-level ``exchange``/``rules`` are the account ``default``;
    ``accounts:`` adds more, each with its own exchange keys, holdings and rules."""

    exchange: ExchangeConfig
    holdings: HoldingsConfig = Field(default_factory=HoldingsConfig)
    rules: list[RuleConfig] = Field(min_length=1)
    hedge: HedgeConfig = Field(default_factory=HedgeConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    watch: WatchConfig = Field(default_factory=WatchConfig)
    collateral: CollateralConfig = Field(default_factory=CollateralConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    accounts: list[AccountConfig] = Field(default_factory=list)
    http: HttpConfig = Field(default_factory=HttpConfig)

    @field_validator("accounts")
    @classmethod
    def _unique_account_names(cls, accounts: list[AccountConfig]) -> list[AccountConfig]:
        seen = {"default"}
        for index, account in enumerate(accounts):
            if account.name in seen:
                raise error_at(f"account name {account.name!r} is used twice", index, "name")
            seen.add(account.name)
        return accounts

    def account_configs(self) -> list[tuple[str, Config]]:
        """``(name, config)`` per account, each a complete single-account Config."""
        configs: list[tuple[str, Config]] = [("default", self.model_copy(update={"accounts": []}))]
        for account in self.accounts:
            update: dict[str, object] = {
                "exchange": account.exchange,
                "rules": account.rules,
                "accounts": [],
            }
            for section in ("holdings", "hedge", "limits", "execution", "watch", "collateral"):
                value = getattr(account, section)
                if value is not None:
                    update[section] = value
            configs.append((account.name, self.model_copy(update=update)))
        return configs

    @property
    def any_mainnet(self) -> bool:
        """Whether any account trades on a mainnet."""
        return any(config.is_mainnet for _, config in self.account_configs())

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

    @model_validator(mode="after")
    def _inverse_hedges_listed(self) -> Config:
        found = _inverse_rule_without_inverse_perps(self.exchange.id, self.rules)
        if found is not None:
            index, key = found
            raise error_at(
                f"this rule hedges with an inverse (coin-margined) contract, but exchange "
                f"{self.exchange.id!r} lists no inverse perpetuals; hedge on an exchange that "
                "does (see `hedgebot exchanges`) or use a linear contract",
                "rules",
                index,
                key,
            )
        return self

    @property
    def is_mainnet(self) -> bool:
        exchange = self.exchange
        return exchange.id != "sim" and not exchange.embedded_emulator and not exchange.testnet


def _is_inverse_symbol(symbol: str) -> bool:
    """``BTC/USD:BTC`` (settled in the base coin) is inverse; ``BTC/USDT:USDT`` is not."""
    pair, _, settle = symbol.partition(":")
    base = pair.partition("/")[0]
    return bool(settle) and settle.split("-")[0] == base


def _inverse_rule_without_inverse_perps(
    exchange_id: str, rules: list[RuleConfig]
) -> tuple[int, str] | None:
    """(rule index, key to point at) of the first rule asking for an inverse contract on an
    exchange whose profile lists none; None when every rule is fine or the id is unknown."""
    from bot.exchange.profiles import PROFILES

    profile = PROFILES.get(exchange_id)
    if profile is None or profile.inverse_perps:
        return None
    for index, rule in enumerate(rules):
        if isinstance(rule, RatioRuleConfig):
            if rule.instrument is None:
                return index, "asset"
            if _is_inverse_symbol(rule.instrument):
                return index, "instrument"
        elif "/" in rule.hedge_with:
            if _is_inverse_symbol(rule.hedge_with):
                return index, "hedge_with"
        elif rule.contract.startswith("inverse"):
            return index, "asset"
    return None
