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
from typing import Annotated, Any, Literal, get_args

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

from bot.config.alert_params import AlertRulesConfig
from bot.config.rule_params import (
    BetaEstimatorConfig,
    FundingModifierConfig,
    VolTriggerConfig,
    WindowConfig,
)
from bot.config.schema_paths import unknown_key_message

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


class SpotSourceConfig(Strict):
    """``holdings.sources[]``: another account whose spot coins count as holdings (read-only).

    Its own ccxt id, venue and credentials (environment variable names or files, never the
    keys), e.g. SOL held on Binance spot and hedged with a BTC inverse perp on Bybit, or a second
    emulator on another port. Only ``fetch_balance`` is ever called on it. ``assets`` limits
    which coins are counted from it (default: every coin it reports).
    """

    exchange: Annotated[str, Field(min_length=1, max_length=64)]  # ccxt id, e.g. "binance"
    name: Annotated[str, Field(min_length=1, max_length=64)] | None = None  # default: exchange
    testnet: bool = True
    url: str | None = None  # base URL override, e.g. a second local emulator
    api_key_env: EnvVarName | None = None
    secret_env: EnvVarName | None = None
    api_key_file: ConfigPath | None = None
    secret_file: ConfigPath | None = None
    balance_params: dict[str, Any] | None = None  # default: the exchange's spot wallet params
    assets: list[Coin] | None = None
    timeout_ms: Annotated[int, Field(ge=500, le=120_000)] = 10_000

    @property
    def label(self) -> str:
        return self.name or self.exchange

    @model_validator(mode="after")
    def _credentials_named(self) -> SpotSourceConfig:
        if self.exchange == "sim":
            raise error_at(
                "a spot source is a ccxt exchange (for the simulator, point 'url' at an "
                "emulator and use exchange 'bybit')",
                "exchange",
            )
        if self.api_key_env is None and self.api_key_file is None:
            raise error_at("give api_key_env (a variable name) or api_key_file", "api_key_env")
        if self.secret_env is None and self.secret_file is None:
            raise error_at("give secret_env (a variable name) or secret_file", "secret_env")
        return self

    def exchange_config(self) -> ExchangeConfig:
        """As an ``exchange`` section: for ``resolve_credentials`` and ``CcxtPort.from_config``
        (with ``profile=spot_source_profile(source.exchange)``)."""
        return ExchangeConfig(
            id=self.exchange,
            testnet=self.testnet,
            url=self.url,
            api_key_env=self.api_key_env or "HEDGEBOT_UNUSED_KEY",
            secret_env=self.secret_env or "HEDGEBOT_UNUSED_SECRET",
            api_key_file=self.api_key_file,
            secret_file=self.secret_file,
            timeout_ms=self.timeout_ms,
        )


class HoldingsConfig(Strict):
    source: Literal["exchange", "none"] = "exchange"  # read spot balances from the exchange?
    static: dict[Coin, NonNegativeDecimal] = Field(default_factory=dict)  # coins held elsewhere
    # More accounts whose spot coins are holdings (each with its own credentials).
    sources: list[SpotSourceConfig] = Field(default_factory=list)

    @field_validator("sources")
    @classmethod
    def _unique_labels(cls, sources: list[SpotSourceConfig]) -> list[SpotSourceConfig]:
        seen: dict[str, int] = {}
        for index, source in enumerate(sources):
            if source.label in seen:
                raise error_at(
                    f"source {source.label!r} is listed twice (sources.{seen[source.label]}); "
                    "give each a distinct 'name'",
                    index,
                    "name" if source.name else "exchange",
                )
            seen[source.label] = index
        return sources


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
            kind = error_at(unknown_key_message(model, loc))
            ctx = None
        elif kind not in _BUILTIN_ERRORS:
            kind = PydanticCustomError(detail["type"], detail["msg"], ctx)
        item = InitErrorDetails(type=kind, loc=loc, input=detail["input"])
        if ctx is not None:
            item["ctx"] = ctx
        line_errors.append(item)
    return ValidationError.from_exception_data(error.title, line_errors)


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


_MQTT_INSTANCE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_URL_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://.+")


class AlertsConfig(Strict):
    """``alerts:``: alerts kept in a database outbox, published over MQTT (and Apprise).

    Off by default, so a config without this section needs no broker. Topics start with
    ``{prefix}/{instance}/``. The broker password never appears in the file: ``password_env``
    names the environment variable holding it. ``max_rows`` bounds the outbox (per account):
    delivered rows go first, then undelivered info alerts, then warnings; criticals are kept.
    Apprise URLs often embed tokens: prefer ``apprise_urls_env`` (a variable holding them,
    separated by spaces or commas) to ``apprise_urls``.
    """

    enabled: bool = False
    host: Annotated[str, Field(min_length=1, max_length=253)] = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65_535)] = 1883
    tls: bool = False
    ca_file: ConfigPath | None = None  # CA bundle for tls; default: the system's
    username: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    password_env: EnvVarName | None = None
    prefix: Annotated[str, Field(min_length=1, max_length=128)] = "hedgebot"
    instance: str = "default"
    max_rows: Annotated[int, Field(ge=10, le=10_000_000)] = 10_000
    apprise_urls: list[str] = Field(default_factory=list)
    apprise_urls_env: EnvVarName | None = None
    keepalive_seconds: Annotated[int, Field(ge=5, le=3600)] = 30
    publish_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    reconnect_min_seconds: Annotated[float, Field(gt=0, le=3600)] = 1.0
    reconnect_max_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    poll_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0  # outbox rows staged elsewhere
    stop_timeout_seconds: Annotated[float, Field(ge=0, le=300)] = 5.0  # drain before exiting
    rules: AlertRulesConfig = Field(default_factory=AlertRulesConfig)

    @field_validator("prefix")
    @classmethod
    def _topic_prefix(cls, prefix: str) -> str:
        levels = prefix.split("/")
        if any(not level or "+" in level or "#" in level for level in levels):
            raise ValueError(
                "expected MQTT topic levels separated by '/', without wildcards (+ #) or "
                "empty levels, like 'hedgebot' or 'home/hedgebot'"
            )
        if prefix.startswith("$"):
            raise ValueError("topics starting with '$' are reserved by the broker")
        return prefix

    @field_validator("instance")
    @classmethod
    def _instance(cls, instance: str) -> str:
        if not _MQTT_INSTANCE.fullmatch(instance):
            raise ValueError("expected one topic level: 1 to 64 of A-Z, a-z, 0-9, '_', '.', '-'")
        return instance

    @field_validator("apprise_urls")
    @classmethod
    def _apprise_urls(cls, urls: list[str]) -> list[str]:
        for index, url in enumerate(urls):
            if not _URL_SCHEME.fullmatch(url.strip()):
                raise error_at("expected an Apprise URL like 'ntfy://topic'", index)
        return urls

    @model_validator(mode="after")
    def _consistent(self) -> AlertsConfig:
        if self.ca_file is not None and not self.tls:
            raise error_at("ca_file needs tls: true", "ca_file")
        if self.password_env is not None and self.username is None:
            raise error_at("a broker password needs a username (MQTT 3.1.1)", "password_env")
        if self.reconnect_min_seconds > self.reconnect_max_seconds:
            raise error_at("must not exceed reconnect_max_seconds", "reconnect_min_seconds")
        return self


AccountName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class AccountConfig(Strict):
    """Another account hedged by the same daemon (``accounts:``). The sections it leaves out
    (holdings, hedge, limits, execution, watch) are taken from the top level."""

    name: AccountName
    exchange: ExchangeConfig
    rules: list[RuleConfig] = Field(min_length=1)
    holdings: HoldingsConfig | None = None
    hedge: HedgeConfig | None = None
    limits: LimitsConfig | None = None
    execution: ExecutionConfig | None = None
    watch: WatchConfig | None = None


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
            for section in ("holdings", "hedge", "limits", "execution", "watch"):
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
