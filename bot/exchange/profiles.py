"""Declarative per-exchange facts the generic ccxt adapter needs.

Every difference between exchanges that would otherwise become an ``if exchange == ...`` branch
lives here as data. Adding an exchange is adding a profile (and its tests in tests/exchanges/,
which feed recorded exchange answers through ccxt's own parsers into the adapter).

Each profile was checked against the installed ccxt (4.5.x): its ``has`` flags, ``urls`` (test,
demo), how it passes a client order id, its ``fetch_balance`` branches and what ``create_order``'s
amount means for inverse markets. The checks are quoted next to the values.

This module is the table of supported exchanges and its lookups; the profile's type and field
vocabularies are in ``bot.exchange.profile_model``, the sandbox gate in ``bot.exchange.venue``.
"""

from __future__ import annotations

import importlib

from bot.exchange.profile_model import ExchangeProfile, InfoRows

BYBIT = ExchangeProfile(
    ccxt_id="bybit",
    display_name="Bybit (inverse perpetuals and futures)",
    amount_unit="contracts",
    margin_balance_params={"type": "swap", "subType": "inverse"},
    spot_balance_params={"type": "spot"},
    margin_total="wallet",  # ccxt bybit parse_balance: total = walletBalance
    client_id_param="clientOrderId",
    client_id_query_param="orderLinkId",
    client_id_lookup="bybit_order_link_id",
    client_id_info_key="orderLinkId",
    client_id_max_length=36,
    position_mode_check="position_field",  # positionIdx != 0 → hedged
    not_modified_codes=("110043", "110025", "110026"),
    sandbox="testnet",
    sandbox_note="api-testnet.bybit.com (set_sandbox_mode)",
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
    funding_paid_positive=True,  # ccxt passes execFee through: positive when paid
    key_info_method="privateGetV5UserQueryApi",
    min_amount_is_contract_size=True,
    # ccxt: spot -> SPOT, contract -> CONTRACT; query-inter-transfer-list filters by transferId.
    transfer_accounts=("spot", "contract"),
    transfer_id_param="transferId",
    transfer_lookup_by_id=True,
    transfer_duplicate_codes=("131214",),  # TransferId exist
    # ccxt sends a classic market Buy's amount as quote-coin qty unless marketUnit is passed.
    spot_order_params={"marketUnit": "baseCoin"},
    quirks=(
        "1 USD contracts; ccxt copies minOrderQty into contractSize and limits.amount.min",
        "unified account 2.0: spot coins are margin and count once, as collateral",
    ),
)

BINANCECOINM = ExchangeProfile(
    ccxt_id="binancecoinm",
    display_name="Binance COIN-M futures",
    # dapi quantity is in contracts: 100 USD (BTCUSD_PERP), 10 USD (ETH and altcoin perps).
    amount_unit="contracts",
    # ccxt's binancecoinm sets defaultSubType "inverse": a plain fetch_balance reads the dapi
    # account; it has no spot wallet of its own (a {"type": "spot"} call still goes to dapi).
    margin_balance_params={},
    spot_balance_params=None,
    margin_total="equity",  # ccxt: total = marginBalance = walletBalance + unrealizedProfit
    client_id_param="clientOrderId",  # ccxt sends it as newClientOrderId
    client_id_query_param="origClientOrderId",
    client_id_lookup="fetch_order_param",
    client_id_max_length=36,
    position_mode_check="position_field",  # ccxt: hedged = positionSide != "BOTH"
    # ccxt's binance fetch_position reads OPTIONS positions only (NotSupported on a perp); the
    # COIN-M rows come from dapi positionRisk, which ccxt picks only for subType "inverse"
    # (its default for a list read is "linear": fapi, the USD-M account).
    position_query="list",
    positions_params={"subType": "inverse"},
    not_modified_codes=("-4046", "-4059"),  # margin type / position side already as asked
    # -4061 position side vs dualSidePosition (ccxt: OperationRejected, a refusal already);
    # -4118 reduce-only orders resting against the position (ccxt: plain ExchangeError).
    refusal_codes=("-4061", "-4118"),
    sandbox="demo",
    sandbox_note="demo-dapi.binance.com (enable_demo_trading; not the futures testnet)",
    ccxt_options={"fetchMarkets": {"types": ["inverse"]}, "defaultSubType": "inverse"},
    has_overrides={"fetchCurrencies": False},
    linear_perps=False,  # USDⓈ-M is another ccxt id (binanceusdm)
    dated_futures=True,
    funding_interval_source="fundingInfo (ccxt funding rate 'interval')",
    # premiumIndex has no interval and /fundingInfo lists only symbols whose funding was
    # adjusted: the rest pay every 8 h (Binance's documented default).
    funding_interval_default_hours=8,
    funding_paid_positive=False,  # income: negative when paid
    transfer_accounts=("spot", "inverse"),  # ccxt: MAIN, CMFUTURE; no client transfer id
    quirks=(
        "spot coins live in another ccxt id (binance): list it under holdings.sources",
        "wallet transfers carry no client id: a lost transfer response needs a human",
        "demo trading is the dry-run venue; the futures testnet is deprecated",
    ),
)

BINGX = ExchangeProfile(
    ccxt_id="bingx",
    display_name="BingX (coin-M perpetuals)",
    amount_unit="contracts",  # cswap quantity in contracts (ccxt contractSize from 'size')
    margin_balance_params={"type": "swap", "subType": "inverse"},
    spot_balance_params={"type": "spot"},
    # ccxt reads 'maxWithdrawAmount' for total, which the cswap balance answer does not carry.
    margin_total="equity",
    margin_total_from_info=InfoRows("data", "asset", "equity"),
    client_id_param="clientOrderId",  # ccxt sends it as clientOrderID on swaps
    client_id_query_param="clientOrderID",
    client_id_lookup="scan_open_and_closed",
    client_id_max_length=40,
    position_mode_check="fetch_position_mode",  # ccxt parse_position leaves hedged None
    sandbox="testnet",
    sandbox_note="open-api-vst.bingx.com (VST demo funds, set_sandbox_mode)",
    ccxt_options={"defaultType": "swap", "defaultSubType": "inverse"},
    has_overrides={"fetchCurrencies": False},
    dated_futures=False,
    funding_interval_source="premiumIndex nextFundingTime (8 h unless stated)",
    quirks=("ccxt's unified coin-M balance total is empty: equity is read from the raw rows",),
)

MEXC = ExchangeProfile(
    ccxt_id="mexc",
    display_name="MEXC futures",
    amount_unit="contracts",  # contract 'vol'
    margin_balance_params={"type": "swap"},
    spot_balance_params={"type": "spot"},
    # ccxt leaves total to free + used (availableBalance + frozenBalance): position margin and
    # PnL are missing, so equity is read from the raw asset rows.
    margin_total="equity",
    margin_total_from_info=InfoRows("data", "currency", "equity"),
    client_id_param="clientOrderId",  # ccxt sends it as externalOid
    client_id_query_param="externalOid",
    client_id_lookup="scan_open_and_closed",
    client_id_max_length=32,
    client_id_charset="alphanumeric",
    position_mode_check="fetch_position_mode",  # ccxt parse_position leaves hedged None
    # {"code":1002,"message":"Contract not allow place order!"}: API ordering disabled for the
    # contract or the account (ccxt/ccxt#14474, #15055): no retry will change it.
    orders_disabled_codes=("1002",),
    sandbox="none",
    sandbox_note="no sandbox or demo API: only plan-only and --dry-run without HEDGEBOT_LIVE",
    # ccxt 4.5 lists every contract (its options.fetchMarkets.types is not applied to swaps).
    ccxt_options={"defaultType": "swap"},
    has_overrides={"fetchCurrencies": False},
    dated_futures=False,
    funding_interval_source="contract detail / funding rate collectCycle (hours)",
    quirks=(
        "isolated margin orders need a leverage param: use margin_mode cross",
        "futures order endpoints have been restricted for many accounts: dry-run first",
    ),
)

WEEX = ExchangeProfile(
    ccxt_id="weex",
    display_name="WEEX (USDT-margined perpetuals)",
    # ccxt weex: contract quantity = amount_to_precision(amount) with precision.amount equal to
    # contractVal (0.001 ETH): amounts are in coin.
    amount_unit="coin",
    margin_balance_params={"type": "swap"},
    spot_balance_params={"type": "spot"},
    margin_total="wallet",  # ccxt weex parse_balance: total = 'balance'
    client_id_param="clientOrderId",
    client_id_query_param="clientOrderId",
    client_id_lookup="scan_open_and_closed",
    client_id_max_length=40,
    position_mode_check="position_field",
    sandbox="testnet",
    sandbox_note="demo trading on the live host (set_sandbox_mode: SUSDT linear markets only)",
    ccxt_options={"defaultType": "swap"},
    has_overrides={"fetchCurrencies": False},
    # ccxt weex: features.swap.inverse is None and every listed contract settles in USDT.
    inverse_perps=False,
    dated_futures=False,
    funding_interval_source="contract info",
    quirks=("no coin-margined contracts in ccxt: no inverse hedge; spot source or linear only",),
)

OKX = ExchangeProfile(
    ccxt_id="okx",
    display_name="OKX (coin-margined swaps and futures)",
    amount_unit="contracts",  # sz in contracts: BTC-USD-SWAP 100 USD, others 10 USD
    # One trading account: coins there are margin (and counted once, as collateral); coins in
    # the funding account are plain holdings.
    margin_balance_params={"type": "trading"},
    spot_balance_params={"type": "funding"},
    margin_total="equity",  # ccxt okx parse_trading_balance: total = eq
    client_id_param="clientOrderId",  # ccxt sends it as clOrdId
    client_id_query_param="clOrdId",
    client_id_lookup="fetch_order_param",
    client_id_charset="alphanumeric",  # clOrdId: letters and digits, 1-32
    client_id_max_length=32,
    position_mode_check="position_field",  # ccxt: hedged = posSide != "net"
    not_modified_codes=("59000",),
    sandbox="testnet",
    sandbox_note="www.okx.com with x-simulated-trading: 1 (demo trading keys)",
    ccxt_options={"fetchMarkets": {"types": ["spot", "swap", "future"]}},
    has_overrides={"fetchCurrencies": False},
    funding_interval_source="funding-rate fundingTime/nextFundingTime",
    funding_paid_positive=False,  # bills balChg: positive when received
    # ccxt: funding -> 6, trading -> 18; clientId: our UUID without hyphens (32 alphanumerics).
    # ccxt's fetch_transfers reads bills, without clientId: no lookup. No spot orders: OKX
    # trades spot in the trading account (margin), not in the funding wallet read as spot.
    transfer_accounts=("funding", "trading"),
    transfer_id_param="clientId",
    quirks=(
        "account mode must allow derivatives (single- or multi-currency margin)",
        "wallet transfers cannot be looked up by id through ccxt: a lost response needs a human",
    ),
)

DERIBIT = ExchangeProfile(
    ccxt_id="deribit",
    display_name="Deribit (inverse perpetuals and futures)",
    # ccxt deribit create_order: "For perpetual and inverse futures the amount is in USD
    # units"; linear (USDC/USDT) amounts are in coin: the contract's face unit either way.
    amount_unit="usd",
    margin_balance_params={"code": "BTC"},
    spot_balance_params=None,  # spot coins sit in the same currency account: they are margin
    margin_total="equity",  # ccxt deribit parse_balance: total = equity
    client_id_param="label",  # ccxt passes unknown params through; label ≤ 64 chars
    client_id_query_param="label",
    client_id_lookup="scan_open_and_closed",
    client_id_info_key="label",  # ccxt parse_order sets clientOrderId None
    client_id_max_length=64,
    position_mode_check="one_way_only",
    supports_set_leverage=False,  # leverage follows the margin posted
    supports_set_margin_mode=False,
    sandbox="testnet",
    sandbox_note="test.deribit.com (set_sandbox_mode)",
    has_overrides={"fetchCurrencies": False},
    funding_interval_source="continuous (8 h rate, accrued every tick)",
    quirks=(
        "balance params select one currency account (code: BTC); add ETH for ETH hedges",
        "no funding history in ccxt: funding shows in the wallet balance",
    ),
)

PROFILES: dict[str, ExchangeProfile] = {
    profile.ccxt_id: profile for profile in (BYBIT, BINANCECOINM, BINGX, MEXC, WEEX, OKX, DERIBIT)
}


def profile_for(exchange_id: str) -> ExchangeProfile:
    """The profile of a supported exchange; a clear error for any other id."""
    try:
        return PROFILES[exchange_id]
    except KeyError:
        supported = ", ".join(sorted(PROFILES))
        raise ValueError(
            f"exchange {exchange_id!r} is not supported (supported: {supported}, sim)"
        ) from None


def spot_source_profile(exchange_id: str) -> ExchangeProfile:
    """The profile for reading spot balances only: the exchange's own when there is one, else
    a read-only default (``fetch_balance({"type": "spot"})``) for any ccxt exchange."""
    known = PROFILES.get(exchange_id)
    if known is not None:
        return known
    return ExchangeProfile(
        ccxt_id=exchange_id,
        display_name=f"{exchange_id} (spot balances only)",
        inverse_perps=False,
        linear_perps=False,
        dated_futures=False,
        has_overrides={"fetchCurrencies": False},
    )


def ccxt_available(exchange_id: str) -> bool:
    """Whether the installed ccxt has this exchange (in its async flavour)."""
    module = importlib.import_module("ccxt.async_support")
    return hasattr(module, exchange_id)
