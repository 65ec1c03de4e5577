"""The profiles against the installed ccxt, and the sandbox gate built from them."""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest
from pydantic import SecretStr

from bot.config.models import ExchangeConfig
from bot.config.secrets import Credentials
from bot.core.ids import client_order_id
from bot.core.types import OrderRequest
from bot.exchange.ccxt_port import CcxtPort
from bot.exchange.profiles import PROFILES, ccxt_available, profile_for, spot_source_profile
from bot.exchange.venue import NoSandboxError, check_venue, venue_refusal

CREDENTIALS = Credentials(api_key=SecretStr("key"), secret=SecretStr("secret"))


def test_every_issue_exchange_has_a_profile_and_is_in_the_installed_ccxt() -> None:
    assert set(PROFILES) == {"bybit", "binancecoinm", "bingx", "mexc", "weex", "okx", "deribit"}
    assert all(ccxt_available(exchange_id) for exchange_id in PROFILES)
    assert not ccxt_available("no_such_exchange")


@pytest.mark.parametrize("exchange_id", sorted(PROFILES))
def test_profile_flags_match_ccxt(exchange_id: str) -> None:
    profile = profile_for(exchange_id)
    exchange = getattr(ccxt, exchange_id)()
    has = exchange.has
    assert has["swap"] is True
    assert bool(has["setLeverage"]) == profile.supports_set_leverage
    assert bool(has["setMarginMode"]) == profile.supports_set_margin_mode
    if profile.dated_futures:
        assert has["future"] is True
    if profile.position_mode_check == "fetch_position_mode":
        assert has["fetchPositionMode"] is True
    if profile.client_id_lookup == "fetch_order_param":
        assert has["fetchOrder"] is True
    # The sandbox kind is what ccxt can switch to.
    if profile.sandbox == "testnet":
        assert exchange.urls.get("test"), exchange_id
    if profile.sandbox == "demo":
        assert exchange.urls.get("demo"), exchange_id
    if profile.sandbox == "none":
        assert not exchange.urls.get("test")
        assert not exchange.urls.get("demo")
        assert not has.get("sandbox")


def test_weex_lists_no_inverse_contracts_in_ccxt() -> None:
    features = ccxt.weex().features["swap"]
    assert features["inverse"] is None
    assert profile_for("weex").inverse_perps is False


def test_binance_coinm_is_inverse_only_in_ccxt() -> None:
    exchange = ccxt.binancecoinm()
    assert exchange.options["fetchMarkets"]["types"] == ["inverse"]
    assert exchange.options["defaultSubType"] == "inverse"


@pytest.mark.parametrize(
    ("exchange_id", "api_key", "expected"),
    [
        ("bybit", "private", "https://api-testnet.bybit.com"),
        ("binancecoinm", "dapiPrivate", "https://demo-dapi.binance.com/dapi/v1"),
        ("bingx", "cswap", "https://open-api-vst.bingx.com/openApi"),
        ("deribit", "rest", "https://test.deribit.com"),
    ],
)
async def test_testnet_configs_reach_the_sandbox_or_demo(
    exchange_id: str, api_key: str, expected: str
) -> None:
    port = CcxtPort.from_config(ExchangeConfig(id=exchange_id, testnet=True), CREDENTIALS)
    try:
        assert port.resolved_api_urls()[api_key] == expected
        assert port.read_only_reason is None
    finally:
        await port.close()


async def test_okx_and_weex_sandbox_are_flags_on_the_live_host() -> None:
    for exchange_id in ("okx", "weex"):
        port = CcxtPort.from_config(ExchangeConfig(id=exchange_id, testnet=True), CREDENTIALS)
        try:
            assert port.client.options.get("sandboxMode") is True
        finally:
            await port.close()


async def test_mexc_testnet_is_read_only_and_refuses_to_trade() -> None:
    port = CcxtPort.from_config(ExchangeConfig(id="mexc", testnet=True), CREDENTIALS)
    try:
        assert port.read_only_reason is not None
        assert "mexc has no sandbox" in port.read_only_reason
        request = OrderRequest("BTC/USDT:USDT", "sell", Decimal(1), False, "hb-1")
        with pytest.raises(NoSandboxError, match="HEDGEBOT_LIVE=1"):
            await port.create_order(request)
        with pytest.raises(NoSandboxError):
            await port.set_leverage("BTC/USDT:USDT", Decimal(1))
        with pytest.raises(NoSandboxError):
            await port.set_margin_mode("BTC/USDT:USDT", "cross", Decimal(1))
        with pytest.raises(NoSandboxError):
            await port.cancel_order("BTC/USDT:USDT", "hb-1")
    finally:
        await port.close()


@pytest.mark.parametrize(
    ("testnet", "url", "dry_run", "refused"),
    [
        (True, None, False, True),  # a trading start asking for a sandbox MEXC does not have
        (True, None, True, False),  # --dry-run and plan-only may read the live API
        (False, None, False, False),  # live, guarded by HEDGEBOT_LIVE=1 elsewhere
        (True, "http://127.0.0.1:8123", False, False),  # an emulator is its own venue
    ],
)
def test_check_venue_for_an_exchange_without_sandbox(
    testnet: bool, url: str | None, dry_run: bool, refused: bool
) -> None:
    mexc = profile_for("mexc")
    if refused:
        with pytest.raises(NoSandboxError, match=r"'exchange\.testnet: false'"):
            check_venue(mexc, testnet=testnet, url=url, dry_run=dry_run)
    else:
        check_venue(mexc, testnet=testnet, url=url, dry_run=dry_run)


def test_exchanges_with_a_sandbox_are_never_refused() -> None:
    for exchange_id, profile in PROFILES.items():
        if profile.sandbox != "none":
            assert venue_refusal(profile, testnet=True, url=None) is None, exchange_id


def test_client_ids_fit_every_exchange_and_map_back() -> None:
    ours = client_order_id("plan:1", "BTC/USD:BTC", "sell", 0)
    for exchange_id, profile in PROFILES.items():
        sent = profile.exchange_client_id(ours)
        assert len(sent) <= profile.client_id_max_length, exchange_id
        if profile.client_id_charset == "alphanumeric":
            assert sent.isalnum()
        assert profile.own_client_id(sent) == ours, exchange_id


def test_spot_sources_read_any_ccxt_exchange() -> None:
    assert spot_source_profile("bybit") is PROFILES["bybit"]
    binance = spot_source_profile("binance")
    assert binance.spot_balance_params == {"type": "spot"}
    assert not binance.inverse_perps
