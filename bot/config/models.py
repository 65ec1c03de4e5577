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
    ValidationInfo,
    field_validator,
    model_validator,
)

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
    PositiveUsd as PositiveUsd,
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
from bot.config.market_checks import (
    SIM_STABLECOINS as SIM_STABLECOINS,
)
from bot.config.market_checks import (
    STARTUP_CHECKS as STARTUP_CHECKS,
)
from bot.config.market_checks import (
    inverse_rule_without_inverse_perps,
    sim_markets,
    supported_exchange,
    unlisted_symbol,
)
from bot.config.rule_config import BetaRuleConfig as BetaRuleConfig
from bot.config.rule_config import CollateralMode as CollateralMode
from bot.config.rule_config import RatioRuleConfig as RatioRuleConfig
from bot.config.rule_config import RuleConfig as RuleConfig


class NoTradeConfig(Strict):
    """The fee-aware no-trade region (bot.core.no_trade): the band of each hedge weighs the fee
    of a trade against the risk of staying off target. Defaults chosen on real data
    (bench/hedge_quality.py; README, "Hedge quality")."""

    fee_rate: Annotated[Decimal, Field(ge=0, le=Decimal("0.01"))] = Field(
        Decimal("0.00055"),
        description="Taker fee the rule prices a trade at (fraction of notional).",
    )
    risk_aversion: Annotated[Decimal, Field(gt=0, le=1000)] = Field(
        Decimal("0.4"),
        description="Weight of the risk of staying off target against fees (higher: tighter).",
    )
    min_band: Fraction = Field(
        Decimal("0.02"),
        description="Narrowest band (fraction of target); also the band of hedges whose "
        "target does not wander (own contract, ratio rules, margin held USD-neutral).",
    )
    max_band: Fraction = Field(Decimal("0.5"), description="Widest band (fraction of target).")
    trade_to: Fraction = Field(
        Decimal("0.35"),
        description="Where a trade out of the band stops: this fraction of the band short of "
        "the target (0: at the target; 1: at the band's edge).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> NoTradeConfig:
        if self.min_band > self.max_band:
            raise ValueError("min_band cannot exceed max_band")
        return self


class HedgeConfig(Strict):
    """How close the hedge is kept to its target, and the margin settings of the shorts."""

    band: Fraction | None = Field(
        None,
        description="Act only when |target − current| exceeds this fraction of the target; "
        "unset: the fee-aware band of no_trade.",
    )
    no_trade: NoTradeConfig = Field(
        default_factory=NoTradeConfig,
        description="The fee-aware band used when band is unset.",
    )
    # Above a million USD the minimum would silence every hedge of all but the largest books.
    min_order_usd: Annotated[Decimal, Field(ge=0, le=1_000_000)] = Field(
        Decimal(10), description="Orders smaller than this (USD) are not sent."
    )
    leverage: Annotated[Decimal, Field(ge=1, le=100)] = Field(
        Decimal(1), description="Leverage set on every instrument the plan trades."
    )
    margin_mode: Literal["isolated", "cross"] = Field(
        "cross", description="Margin mode set on every instrument the plan trades."
    )
    # Maintenance margin rate of the exchange's first risk tier (Bybit inverse: 0.5 %), for our
    # own liquidation price; the exchange's own figure is used when it reports one.
    maintenance_margin_rate: Annotated[Decimal, Field(gt=0, lt=Decimal("0.5"))] = Field(
        Decimal("0.005"),
        description="Maintenance margin rate for our own liquidation price (the exchange's "
        "figure wins when it reports one).",
    )
    maintenance_basis: Literal["entry", "mark"] = Field(
        "mark",
        description="Maintenance margin measured on the position's value at entry or at mark.",
    )


class WatchConfig(Strict):
    """Market watch: events (for alerts) when a proxy's correlation or a perp's basis drifts."""

    rho_floor: Fraction = Field(
        Decimal("0.7"),
        description="A proxy hedge's correlation ρ below this raises a breakdown event.",
    )
    basis_threshold: Annotated[Decimal, Field(gt=0, le=1)] = Field(
        Decimal("0.01"), description="|perp / spot − 1| above this raises a basis event."
    )


class HttpConfig(Strict):
    """Health, readiness, status and metrics over HTTP (loopback by default)."""

    enabled: bool = Field(
        False, description="Serve /healthz, /readyz, /status and /metrics over HTTP."
    )
    host: str = Field("127.0.0.1", description="Bind address (0.0.0.0 inside a container).")
    port: Annotated[int, Field(ge=0, le=65_535)] = Field(8080, description="TCP port.")
    token_env: EnvVarName | None = Field(
        None,
        description="Environment variable holding a bearer token; when set, every route but "
        '/healthz needs "Authorization: Bearer <token>".',
    )
    stale_after_ticks: Annotated[float, Field(ge=1, le=10_000)] = Field(
        3.0, description="/healthz answers 503 when the last tick is older than this many ticks."
    )


class LimitsConfig(Strict):
    """Hard limits on what the plan may send, and the kill switch."""

    max_order_usd: PositiveUsd = Field(
        Decimal(100_000), description="No single order above this (USD); see oversize."
    )
    max_total_short_usd: PositiveUsd = Field(
        Decimal(1_000_000),
        description="Cap on the sum of all shorts after the plan (USD); increases are clamped, "
        "reductions always allowed.",
    )
    oversize: Literal["split", "clamp"] = Field(
        "split",
        description="An order above max_order_usd: split into several, or clamp it and finish "
        "next tick.",
    )
    # Kill switch: while this file exists, or this environment variable is "1", no order may
    # add exposure; reduce-only orders still go out.
    kill_switch_file: ConfigPath | None = Field(
        None,
        description="Kill switch: while this file exists, only reduce-only orders are sent.",
    )
    kill_switch_env: EnvVarName | None = Field(
        "HEDGEBOT_KILL",
        description='Kill switch: while this environment variable is "1", only reduce-only '
        "orders are sent.",
    )


class ExecutionConfig(Strict):
    """How orders are worked: at market, or as limits near the mark that fall back to market."""

    style: Literal["market", "limit"] = Field(
        "market",
        description="Send orders at market, or as passive limits near the mark that fall back "
        "to market.",
    )
    limit_offset: Annotated[Decimal, Field(ge=0, le=Decimal("0.05"))] = Field(
        Decimal("0.0005"),
        description="style limit: distance of the limit price from the mark, on the passive "
        "side (fraction).",
    )
    post_only: bool = Field(
        True, description="style limit: post-only, to pay maker fees where the exchange has them."
    )
    # A limit left resting (or a symbol worked) for more than a day is no longer "near the mark".
    reprice_after_seconds: Annotated[float, Field(gt=0, le=86_400)] = Field(
        30.0,
        description="style limit: cancel a resting limit after this long; the next plan "
        "re-prices the rest.",
    )
    market_after_seconds: Annotated[float, Field(gt=0, le=86_400)] = Field(
        120.0,
        description="style limit: once a symbol has been worked this long, send the remainder "
        "at market.",
    )
    # Refuse a market order when last and mark disagree by more than this fraction.
    max_slippage: Annotated[Decimal, Field(gt=0, le=Decimal("0.5"))] = Field(
        Decimal("0.01"),
        description="Hold a market order while last and mark price differ by more than this "
        "fraction.",
    )


class ScheduleConfig(Strict):
    """When ticks run."""

    interval_seconds: Annotated[float, Field(gt=0, le=86_400)] = Field(
        60.0, description="Seconds between ticks."
    )
    # At most a day, like interval_seconds: APScheduler adds it to datetimes, and a huge value
    # (1e14) passed validation and then raised OverflowError on every tick.
    misfire_grace_seconds: Annotated[int, Field(ge=1, le=86_400)] = Field(
        30, description="A tick that starts this much late still runs; later, it is skipped."
    )
    shutdown_grace_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        30.0, description="On SIGTERM, how long the tick in flight may take to finish."
    )


class DatabaseConfig(Strict):
    """Where everything is recorded."""

    url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite+aiosqlite:///FILE or "
        "postgresql+asyncpg://user@host/db.",
    )
    # 120 s: a PostgreSQL restart or a compose stack starting (hedgebot up before the server)
    # takes seconds to a minute; past two minutes a person should look, so `run` exits 1.
    startup_wait_seconds: Annotated[float, Field(ge=0, le=3600)] = Field(
        120.0,
        description="At start, how long to wait for an unavailable database (down, restarting, "
        "locked by another writer) before giving up.",
    )

    @field_validator("url")
    @classmethod
    def _known_driver(cls, url: str) -> str:
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "the URL must start with 'sqlite+aiosqlite://' or 'postgresql+asyncpg://'"
            )
        # The standard library's parser, not sqlalchemy's make_url: importing sqlalchemy costs
        # check-config ~0.17 s of its 0.5 s budget. It rejects every port make_url rejects, and
        # out-of-range ports too (tests/config/test_database_url.py holds the two side by side).
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(url)
            _ = parts.port
            if parts.netloc.endswith(":"):
                raise ValueError("empty port")
        except ValueError:
            # Never echo the URL: it may hold a password.
            raise ValueError(
                "cannot parse it as a database URL (check the host and port)"
            ) from None
        return url


class LoggingConfig(Strict):
    """The structured log."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level logged."
    )
    format: Literal["auto", "json", "console"] = Field(
        "auto", description="auto: JSON when not on a terminal, console text on one."
    )


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
