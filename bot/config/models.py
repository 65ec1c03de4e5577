"""The configuration schema: frozen pydantic models, unknown keys rejected.

Key names are part of the product's interface (external checks rely on them). Money is Decimal,
fractions are Decimal in [0, 1]. Cross-field checks live in model validators so that every problem
is reported with its YAML path; a check that concerns a node below the one it validates raises
``error_at(...)`` so that the loader can point at that node and its line.

The sections live in their own modules (``rule_config``, ``exchange_config``, ``hedge_config``,
``collateral_config``, ``alerts_config``, ``daemon_config``); this module holds the root
``Config`` and the per-account ``AccountConfig`` and re-exports every model and field type
(``__all__``), so ``from bot.config.models import ...`` reaches the whole schema.

Paths (``ConfigPath``) expand ``~`` and, when validated with ``context={"base_dir": dir}`` (as
``bot.config.loader`` does), a relative path is taken relative to ``dir``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator, model_validator

from bot.config.alerts_config import AlertsConfig
from bot.config.collateral_config import CollateralConfig
from bot.config.daemon_config import DatabaseConfig, HttpConfig, LoggingConfig, ScheduleConfig
from bot.config.exchange_config import (
    ExchangeConfig,
    HoldingsConfig,
    ReplayConfig,
    SimBalances,
    SimConfig,
    SpotSourceConfig,
)
from bot.config.fields import (
    DEFAULT_DATABASE_URL,
    ERROR_AT,
    Coin,
    ConfigPath,
    EnvVarName,
    Fraction,
    PositiveUsd,
    Strict,
    error_at,
)
from bot.config.hedge_config import (
    ExecutionConfig,
    HedgeConfig,
    LimitsConfig,
    NoTradeConfig,
    WatchConfig,
)
from bot.config.market_checks import (
    SIM_STABLECOINS,
    STARTUP_CHECKS,
    inverse_rule_without_inverse_perps,
    sim_markets,
    supported_exchange,
    unlisted_symbol,
)
from bot.config.rule_config import BetaRuleConfig, CollateralMode, RatioRuleConfig, RuleConfig

__all__ = [
    "DEFAULT_DATABASE_URL",
    "ERROR_AT",
    "SIM_STABLECOINS",
    "STARTUP_CHECKS",
    "AccountConfig",
    "AccountName",
    "AlertsConfig",
    "BetaRuleConfig",
    "Coin",
    "CollateralConfig",
    "CollateralMode",
    "Config",
    "ConfigPath",
    "DatabaseConfig",
    "EnvVarName",
    "ExchangeConfig",
    "ExecutionConfig",
    "Fraction",
    "HedgeConfig",
    "HoldingsConfig",
    "HttpConfig",
    "LimitsConfig",
    "LoggingConfig",
    "NoTradeConfig",
    "PositiveUsd",
    "RatioRuleConfig",
    "ReplayConfig",
    "RuleConfig",
    "ScheduleConfig",
    "SimBalances",
    "SimConfig",
    "SpotSourceConfig",
    "Strict",
    "WatchConfig",
    "error_at",
]


AccountName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class AccountConfig(Strict):
    """Another account hedged by the same daemon (``accounts:``). The sections it leaves out
    (holdings, hedge, limits, execution, watch, collateral) are taken from the top level."""

    name: AccountName = Field(
        description="The account's name in records, alerts and metrics ('default' is taken)."
    )
    exchange: ExchangeConfig = Field(description="This account's exchange and credentials.")
    rules: list[RuleConfig] = Field(min_length=1, description="This account's hedge rules.")
    holdings: HoldingsConfig | None = Field(
        None, description="This account's holdings (default: the top-level section)."
    )
    hedge: HedgeConfig | None = Field(
        None, description="This account's hedge settings (default: the top-level section)."
    )
    limits: LimitsConfig | None = Field(
        None, description="This account's limits (default: the top-level section)."
    )
    execution: ExecutionConfig | None = Field(
        None, description="This account's execution style (default: the top-level section)."
    )
    watch: WatchConfig | None = Field(
        None, description="This account's market watch (default: the top-level section)."
    )
    collateral: CollateralConfig | None = Field(
        None, description="This account's margin policy (default: the top-level section)."
    )

    @field_validator("exchange")
    @classmethod
    def _supported_exchange(cls, exchange: ExchangeConfig) -> ExchangeConfig:
        return supported_exchange(exchange)


class Config(Strict):
    """One daemon's config. The top-level ``exchange``/``rules`` are the account ``default``;
    ``accounts:`` adds more, each with its own exchange keys, holdings and rules."""

    exchange: ExchangeConfig = Field(
        description="The exchange of the account 'default': venue, credentials, simulator."
    )
    holdings: HoldingsConfig = Field(
        default_factory=HoldingsConfig, description="Where the spot coins to hedge are."
    )
    rules: list[RuleConfig] = Field(
        min_length=1, description="Hedge rules, at most one per asset; kind selects the rule."
    )
    hedge: HedgeConfig = Field(
        default_factory=HedgeConfig, description="Band, order minimum, leverage, margin mode."
    )
    limits: LimitsConfig = Field(
        default_factory=LimitsConfig, description="Order and total caps, kill switch."
    )
    execution: ExecutionConfig = Field(
        default_factory=ExecutionConfig, description="How orders are worked: market or limit."
    )
    watch: WatchConfig = Field(
        default_factory=WatchConfig, description="Events on proxy correlation and perp basis."
    )
    collateral: CollateralConfig = Field(
        default_factory=CollateralConfig,
        description="Liquidation distance kept, and whether coins may be moved or converted.",
    )
    schedule: ScheduleConfig = Field(
        default_factory=ScheduleConfig, description="Tick interval and shutdown grace."
    )
    database: DatabaseConfig = Field(
        default_factory=DatabaseConfig, description="Where everything is recorded."
    )
    logging: LoggingConfig = Field(
        default_factory=LoggingConfig, description="Log level and format."
    )
    alerts: AlertsConfig = Field(
        default_factory=AlertsConfig, description="Alerts over MQTT and Apprise (off by default)."
    )
    accounts: list[AccountConfig] = Field(
        default_factory=list, description="More accounts hedged by the same daemon."
    )
    http: HttpConfig = Field(
        default_factory=HttpConfig, description="Health, readiness, status and metrics over HTTP."
    )

    @field_validator("exchange")
    @classmethod
    def _supported_exchange(cls, exchange: ExchangeConfig) -> ExchangeConfig:
        return supported_exchange(exchange)

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
        found = inverse_rule_without_inverse_perps(self.exchange.id, self.rules)
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

    @model_validator(mode="after")
    def _rule_markets_listed(self, info: ValidationInfo) -> Config:
        """With ``context={STARTUP_CHECKS: True}``: refuse, as ``run`` does when it starts, a rule
        naming a market its exchange does not list, where that is known offline (a simulated
        exchange with fixed prices). Not for the backtest, whose markets come from its data."""
        if not (isinstance(info.context, dict) and info.context.get(STARTUP_CHECKS)):
            return self
        accounts: list[tuple[tuple[str | int, ...], ExchangeConfig, list[RuleConfig]]] = [
            ((), self.exchange, self.rules)
        ]
        accounts += [(("accounts", i), a.exchange, a.rules) for i, a in enumerate(self.accounts)]
        for at, exchange, rules in accounts:
            listed = sim_markets(exchange)
            if listed is None:
                continue
            for index, rule in enumerate(rules):
                found = unlisted_symbol(rule, listed)
                if found is not None:
                    key, symbol = found
                    shown = ", ".join(sorted(listed)) or "none"
                    raise error_at(
                        f"the simulated exchange lists no market {symbol} (it lists {shown}: "
                        "the inverse perpetual of each coin priced in exchange.sim.prices and "
                        "named in its inverse_perps, if given)",
                        *at,
                        "rules",
                        index,
                        key,
                    )
        return self

    @property
    def is_mainnet(self) -> bool:
        exchange = self.exchange
        return exchange.id != "sim" and not exchange.embedded_emulator and not exchange.testnet
