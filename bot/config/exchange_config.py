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

from bot.config.exchange_ids import PROFILED_EXCHANGE_IDS
from bot.config.fields import (
    Coin,
    Coins,
    ConfigPath,
    EnvVarName,
    Price,
    Strict,
    error_at,
)

# USD face of one inverse contract: 1 on Bybit and BitMEX, 10 or 100 on Binance COIN-M and OKX;
# 100,000 is a thousand times the largest in use.
ContractSizeUsd = Annotated[Decimal, Field(gt=0, le=100_000)]


class ReplayConfig(Strict):
    """Replay of real hourly candles (files named like ``binance_spot_BTCUSDT_1h.csv.gz``)."""

    path: ConfigPath = Field(
        description="Folder of hourly candle files, relative to the config file."
    )
    start: str | None = Field(
        None, description="ISO timestamp of the first replayed candle (default: the first one)."
    )
    step_per_tick: bool = Field(
        True,
        description="Advance one candle per daemon tick (accelerated replay); false: the clock "
        "moves only when told to.",
    )

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
    """The simulated account's starting wallets, in coins by coin."""

    spot: dict[Coin, Coins] = Field(
        default_factory=dict, description="Starting spot wallet, in coins by coin."
    )
    margin: dict[Coin, Coins] = Field(
        default_factory=dict,
        description="Starting coin-margined contract wallet, in coins by coin.",
    )


class SimConfig(Strict):
    """The simulated exchange (``exchange.id: sim``), also served by the emulator."""

    prices: dict[Coin, Price] = Field(
        default_factory=dict, description="Fixed USD prices by coin (give this or replay)."
    )
    replay: ReplayConfig | None = Field(
        None, description="Replay real hourly candles instead of fixed prices."
    )
    contract_size_usd: dict[Coin, ContractSizeUsd] = Field(
        default_factory=dict,
        description="USD face of one inverse contract, by coin (default 1, as on Bybit).",
    )
    balances: SimBalances = Field(
        default_factory=SimBalances, description="Starting wallet balances."
    )
    fee_rate: Annotated[Decimal, Field(ge=0, le=Decimal("0.01"))] = Field(
        Decimal("0.00055"),
        description="Fee per fill, maker or taker, as a fraction of its value (settle currency).",
    )
    funding_rate: dict[Coin, Annotated[Decimal, Field(ge=-1, le=1)]] = Field(
        default_factory=dict,
        description="Funding rate per interval, by coin (positive: longs pay the short).",
    )
    funding_interval_hours: Annotated[int, Field(ge=1, le=24)] = Field(
        8, description="Hours between funding settlements."
    )
    maintenance_margin_rate: Annotated[Decimal, Field(gt=0, lt=1)] = Field(
        Decimal("0.005"), description="Maintenance margin rate the simulator liquidates at."
    )
    # Coins that get an inverse perpetual (default: every priced coin); a coin left out is
    # spot-only, to be hedged with a proxy.
    inverse_perps: list[Coin] | None = Field(
        None,
        description="Coins that get an inverse perpetual (default: every priced coin); the "
        "others are spot-only.",
    )
    api_key: str = Field("test-key", description="The API key the emulator accepts.")
    secret: str = Field(  # the simulator's well-known fake secret
        "test-secret", description="The API secret the emulator accepts."
    )

    @model_validator(mode="after")
    def _one_price_source(self) -> SimConfig:
        if self.replay is None and not self.prices:
            raise ValueError("give either 'prices' (fixed USD prices by coin) or 'replay'")
        return self


class ExchangeConfig(Strict):
    """The exchange the hedges are placed on, its credentials, and its simulator."""

    id: Annotated[str, Field(min_length=1)] = Field(
        description=f"The exchange: {', '.join(PROFILED_EXCHANGE_IDS)} (see `hedgebot "
        "exchanges`), or sim for the simulator."
    )
    testnet: bool = Field(
        True, description="Use the exchange's testnet; false (mainnet) also needs HEDGEBOT_LIVE=1."
    )
    url: str | None = Field(
        None, description="Base URL override, e.g. a local emulator (http://127.0.0.1:8123)."
    )
    api_key_env: EnvVarName = Field(
        "HEDGEBOT_API_KEY", description="Name of the environment variable holding the API key."
    )
    secret_env: EnvVarName = Field(
        "HEDGEBOT_API_SECRET",
        description="Name of the environment variable holding the API secret.",
    )
    api_key_file: ConfigPath | None = Field(
        None, description="File holding the API key, read instead of api_key_env."
    )
    secret_file: ConfigPath | None = Field(
        None, description="File holding the API secret, read instead of secret_env."
    )
    sim: SimConfig | None = Field(
        None, description="The simulated exchange, for id sim or embedded_emulator."
    )
    # Run the Bybit emulator in-process on 127.0.0.1 over ``sim`` and point ccxt at it: the
    # whole wire path (ccxt, signing, parsing) with no network. Needs id "bybit" and "sim".
    embedded_emulator: bool = Field(
        False,
        description="Serve sim through the Bybit emulator in-process and trade on it through "
        "ccxt (needs id bybit).",
    )
    timeout_ms: Annotated[int, Field(ge=500, le=120_000)] = Field(
        10_000, description="Timeout of each HTTP request, in milliseconds."
    )
    # An order not found by its client id this long after it was persisted never arrived
    # (exchanges refuse requests older than their receive window, 5 s on Bybit).
    order_lookup_grace_seconds: Annotated[float, Field(ge=0, le=3600)] = Field(
        60.0,
        description="An order not found by its client id this long after it was persisted "
        "never arrived.",
    )
    allow_withdraw_permission: bool = Field(
        False, description="Accept an API key that can withdraw (refused unless true)."
    )
    pause_on_unavailable_seconds: Annotated[float, Field(ge=0, le=86_400)] = Field(
        60.0,
        description="Pause trading this long when the exchange is unavailable (longer if it "
        "says Retry-After).",
    )
    adopt_positions: bool = Field(
        False,
        description="Take positions and open orders the database cannot explain as they are "
        "when the account is taken; false: refuse to trade the account.",
    )
    # Venues announce a contract change days ahead; specs are also read again before every
    # order, so this only bounds how long a report may value a re-specified contract wrongly.
    markets_refresh_seconds: Annotated[float, Field(ge=1, le=86_400)] = Field(
        300.0,
        description="Read the market specs (contract sizes, steps) again this often; always "
        "again before orders go out.",
    )

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

    exchange: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="ccxt id of the exchange holding the coins, e.g. binance."
    )
    name: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="This source's label in records and messages (default: exchange)."
    )
    testnet: bool = Field(True, description="Read from the exchange's testnet.")
    url: str | None = Field(None, description="Base URL override, e.g. a second local emulator.")
    api_key_env: EnvVarName | None = Field(
        None, description="Environment variable holding the API key (or api_key_file)."
    )
    secret_env: EnvVarName | None = Field(
        None, description="Environment variable holding the API secret (or secret_file)."
    )
    api_key_file: ConfigPath | None = Field(
        None, description="File holding the API key, read instead of api_key_env."
    )
    secret_file: ConfigPath | None = Field(
        None, description="File holding the API secret, read instead of secret_env."
    )
    balance_params: dict[str, Any] | None = Field(
        None,
        description="Params of ccxt fetch_balance (default: the exchange's spot wallet params).",
    )
    assets: list[Coin] | None = Field(
        None, description="Count only these coins (default: every coin it reports)."
    )
    timeout_ms: Annotated[int, Field(ge=500, le=120_000)] = Field(
        10_000, description="Timeout of each HTTP request, in milliseconds."
    )

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
    """The spot coins to hedge: the exchange account's, coins held elsewhere, other accounts."""

    source: Literal["exchange", "none"] = Field(
        "exchange",
        description="exchange: count the exchange account's spot balances; none: do not.",
    )
    static: dict[Coin, Coins] = Field(
        default_factory=dict,
        description="Coins held elsewhere (e.g. a cold wallet), in coins by coin.",
    )
    # More accounts whose spot coins are holdings (each with its own credentials).
    sources: list[SpotSourceConfig] = Field(
        default_factory=list,
        description="More accounts whose spot coins count as holdings (read-only).",
    )

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
