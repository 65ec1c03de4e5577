"""The shape of an exchange profile: the per-exchange facts the generic ccxt adapter reads.

The profiles themselves (one per supported exchange, each value checked against the installed
ccxt) are in ``bot.exchange.profiles``; this module holds their type and the field vocabularies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bot.core.ids import PREFIX as CLIENT_ID_PREFIX

AmountUnit = Literal["contracts", "usd", "coin"]
# bybit_order_link_id: Bybit's open/closed lists filtered by orderLinkId, then executions.
# fetch_order_param: one fetch_order(None, symbol, {client_id_query_param: id}).
# scan_open_and_closed: list open then closed orders and compare the client id.
ClientIdLookup = Literal["bybit_order_link_id", "fetch_order_param", "scan_open_and_closed"]
SandboxKind = Literal["testnet", "demo", "none"]
# What ccxt's unified ``total`` of the coin-margined wallet is: the realized wallet balance, or
# equity (balance + unrealized PnL of the positions).
WalletTotal = Literal["wallet", "equity"]
# position_field: ccxt's position ``hedged`` flag says it; fetch_position_mode: ask the account;
# one_way_only: the exchange has no two-sided mode.
PositionModeCheck = Literal["position_field", "fetch_position_mode", "one_way_only"]
ClientIdCharset = Literal["any", "alphanumeric"]
# per_symbol: one ccxt fetch_position(symbol) per instrument; list: one fetch_positions(symbols).
PositionQuery = Literal["per_symbol", "list"]


@dataclass(frozen=True)
class InfoRows:
    """Where the per-coin wallet total sits in ccxt's raw balance ``info``, for exchanges whose
    unified ``total`` is empty or means something else (``info[rows_key][i][amount_key]``)."""

    rows_key: str
    coin_key: str
    amount_key: str


@dataclass(frozen=True)
class ExchangeProfile:
    """What differs between exchanges, for the adapter."""

    ccxt_id: str
    display_name: str = ""
    # What an order amount means: contracts (Bybit, OKX, Binance COIN-M, BingX, MEXC), or the
    # contract's face unit (Deribit: USD for inverse, coin for linear: "usd"), or coin.
    amount_unit: AmountUnit = "contracts"
    # ccxt fetch_balance params that return the coin-margined wallet, and the spot wallet (None:
    # this ccxt id has no spot wallet; read spot coins through holdings.sources instead).
    margin_balance_params: dict[str, Any] = field(default_factory=dict)
    spot_balance_params: dict[str, Any] | None = field(default_factory=lambda: {"type": "spot"})
    margin_total: WalletTotal = "wallet"
    margin_total_from_info: InfoRows | None = None
    # ccxt param name for our client order id (ccxt's unified name, or e.g. Deribit's "label").
    client_id_param: str = "clientOrderId"
    # The raw exchange param that filters order queries/cancels by our client id.
    client_id_query_param: str = "clientOrderId"
    client_id_lookup: ClientIdLookup = "scan_open_and_closed"
    # Raw order/trade field holding our id when ccxt leaves ``clientOrderId`` empty.
    client_id_info_key: str | None = None
    client_id_charset: ClientIdCharset = "any"
    client_id_max_length: int = 36
    position_mode_check: PositionModeCheck = "position_field"
    # How positions are read, and the ccxt params of a list read (see BINANCECOINM).
    position_query: PositionQuery = "per_symbol"
    positions_params: dict[str, Any] = field(default_factory=dict)
    # Error codes meaning "this account may not place orders through the API at all" (MEXC
    # 1002): refused once, then every later order is refused here without asking the venue.
    orders_disabled_codes: tuple[str, ...] = ()
    supports_set_leverage: bool = True
    supports_set_margin_mode: bool = True
    # Exchange error codes that only say "already set to that value".
    not_modified_codes: tuple[str, ...] = ()
    # Codes of a definite refusal that ccxt raises as a plain ExchangeError (which would
    # otherwise leave an order's outcome unknown, to be looked up).
    refusal_codes: tuple[str, ...] = ()
    sandbox: SandboxKind = "testnet"
    sandbox_note: str = ""
    # Market categories to load (ccxt options["fetchMarkets"]["types"] style), to save calls.
    ccxt_options: dict[str, Any] = field(default_factory=dict)
    # Options that skip start-up discovery calls ccxt would otherwise make.
    has_overrides: dict[str, Any] = field(default_factory=dict)
    inverse_perps: bool = True
    linear_perps: bool = True
    dated_futures: bool = True  # inverse dated futures (for rolling hedges)
    funding_interval_source: str = "market info"
    # Hours between fundings when neither consecutive funding times nor ccxt say (None: the
    # rate is left out as unknown). Only where the venue documents a default.
    funding_interval_default_hours: int | None = None
    # ccxt's funding-history ``amount`` is positive when the account PAID (Bybit's execFee);
    # False where it is the signed income (positive when received).
    funding_paid_positive: bool = False
    # ccxt implicit-API method that returns the key's permissions, and how to read it.
    key_info_method: str | None = None
    min_amount_is_contract_size: bool = False  # see ccxt_parse.parse_market
    # Transfers: ccxt account names (options["accountsByType"]) of the spot and the contract
    # wallet (None: refused); the param carrying our id (shaped by exchange_client_id); whether
    # fetch_transfers(coin, {param: id}) finds it; codes meaning "id already used".
    transfer_accounts: tuple[str, str] | None = None
    transfer_id_param: str | None = None
    transfer_lookup_by_id: bool = False
    transfer_duplicate_codes: tuple[str, ...] = ()
    # ccxt params making a spot market amount base coins on both sides (None: refused).
    spot_order_params: dict[str, Any] | None = None
    quirks: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.display_name or self.ccxt_id

    def exchange_client_id(self, client_order_id: str) -> str:
        """Our client order id as this exchange accepts it (OKX: letters and digits, 32 at most).

        Deterministic, so a lookup by the same id finds the same order; see ``own_client_id``.
        """
        value = client_order_id
        if self.client_id_charset == "alphanumeric":
            value = "".join(ch for ch in value if ch.isalnum())
        return value[: self.client_id_max_length]

    def own_client_id(self, exchange_id: str) -> str:
        """The exchange's echo of one of our client ids → ours (``hb…`` → ``hb-…``)."""
        bare = CLIENT_ID_PREFIX.replace("-", "")
        if (
            self.client_id_charset == "alphanumeric"
            and exchange_id.startswith(bare)
            and not exchange_id.startswith(CLIENT_ID_PREFIX)
        ):
            return CLIENT_ID_PREFIX + exchange_id[len(bare) :]
        return exchange_id
