"""Config sections of the exchange side: the exchange, its simulator, and where the bags are."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from bot.config.fields import (
    Coin,
    ConfigPath,
    EnvVarName,
    NonNegativeDecimal,
    PositiveDecimal,
    Strict,
    error_at,
)


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
