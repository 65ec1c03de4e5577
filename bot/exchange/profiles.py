"""Declarative per-exchange facts the generic ccxt adapter needs.

Every difference between exchanges that would otherwise become an ``if exchange == ...`` branch
lives here as data. Adding an exchange is adding a profile (and its tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

AmountUnit = Literal["contracts", "usd", "coin"]
ClientIdLookup = Literal["bybit_order_link_id", "scan_open_and_closed"]
SandboxKind = Literal["testnet", "demo", "none"]


@dataclass(frozen=True)
class ExchangeProfile:
    """What differs between exchanges, for the adapter."""

    ccxt_id: str
    # What an order amount means: contracts (Bybit, OKX, Binance COIN-M), USD (Deribit), coin.
    amount_unit: AmountUnit = "contracts"
    # ccxt fetch_balance params that return the coin-margined wallet, and the spot wallet.
    margin_balance_params: dict[str, Any] = field(default_factory=dict)
    spot_balance_params: dict[str, Any] = field(default_factory=lambda: {"type": "spot"})
    # ccxt param name for our client order id (ccxt's unified name, or e.g. Deribit's "label").
    client_id_param: str = "clientOrderId"
    # The raw exchange param that filters order queries/cancels by our client id.
    client_id_query_param: str = "clientOrderId"
    client_id_lookup: ClientIdLookup = "scan_open_and_closed"
    supports_set_leverage: bool = True
    supports_set_margin_mode: bool = True
    # Exchange error codes that only say "already set to that value".
    not_modified_codes: tuple[str, ...] = ()
    sandbox: SandboxKind = "testnet"
    # Market categories to load (ccxt options["fetchMarkets"]["types"] style), to save calls.
    ccxt_options: dict[str, Any] = field(default_factory=dict)
    # Options that skip start-up discovery calls ccxt would otherwise make.
    has_overrides: dict[str, Any] = field(default_factory=dict)
    inverse_perps: bool = True
    linear_perps: bool = True
    dated_futures: bool = True
    funding_interval_source: str = "market info"
    # ccxt implicit-API method that returns the key's permissions, and how to read it.
    key_info_method: str | None = None
    min_amount_is_contract_size: bool = False  # see ccxt_parse.parse_market


BYBIT = ExchangeProfile(
    ccxt_id="bybit",
    amount_unit="contracts",
    margin_balance_params={"type": "swap", "subType": "inverse"},
    spot_balance_params={"type": "spot"},
    client_id_param="clientOrderId",
    client_id_query_param="orderLinkId",
    client_id_lookup="bybit_order_link_id",
    not_modified_codes=("110043", "110025", "110026"),
    sandbox="testnet",
    ccxt_options={
        # inverse: the hedges; spot: prices and candles of coins without their own perp.
        "fetchMarkets": {"types": ["inverse", "spot"]},
        "defaultType": "swap",
        "defaultSubType": "inverse",
        # fetch_order on a unified account wants this acknowledged; we look orders up by
        # orderLinkId through open/closed lists instead, which needs no such flag.
        "fetchOrder": {"acknowledged": True},
    },
    # Skips the signed coin-info call at load_markets: we need no deposit/withdraw metadata.
    has_overrides={"fetchCurrencies": False},
    funding_interval_source="instruments-info fundingInterval (minutes)",
    key_info_method="privateGetV5UserQueryApi",
    min_amount_is_contract_size=True,
)

PROFILES: dict[str, ExchangeProfile] = {profile.ccxt_id: profile for profile in (BYBIT,)}


def profile_for(exchange_id: str) -> ExchangeProfile:
    """The profile of a supported exchange; a clear error for any other id."""
    try:
        return PROFILES[exchange_id]
    except KeyError:
        supported = ", ".join(sorted(PROFILES))
        raise ValueError(
            f"exchange {exchange_id!r} is not supported (supported: {supported}, sim)"
        ) from None
