"""Before an account trades: its API key, leverage, margin mode and position mode."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from bot.config.models import Config
from bot.daemon.snapshot import all_instruments, collateral_instruments
from bot.exchange.errors import ConfigurationMismatchError
from bot.exchange.port import ExchangePort
from strategies.base import HedgeRule

log = structlog.get_logger(__name__)


class KeyPermissionError(Exception):
    """The API key's permissions are unsafe or insufficient; the daemon must not start."""


async def check_key(port: ExchangePort, config: Config) -> None:
    """Refuse a key that cannot trade, or can withdraw (unless allowed); warn on no IP list."""
    key = await port.fetch_key_info()
    if key is None:
        return
    if not key.can_trade:
        raise KeyPermissionError("the API key is read-only: it cannot place orders")
    if key.can_withdraw and not config.exchange.allow_withdraw_permission:
        raise KeyPermissionError(
            "the API key can WITHDRAW funds; a hedging bot never needs that. Create a key "
            "without withdrawal permission, or set exchange.allow_withdraw_permission: true"
        )
    if not key.ip_whitelisted:
        log.warning(
            "api_key_without_ip_whitelist",
            advice="bind the key to this host's IP address on the exchange",
        )
    log.info("api_key_checked", can_withdraw=key.can_withdraw, ip_whitelisted=key.ip_whitelisted)


async def prepare_account(
    port: ExchangePort, config: Config, rules: Sequence[HedgeRule]
) -> frozenset[str]:
    """Check the key, then set margin mode and leverage on every instrument the plan may trade:
    the rules' (proxies, futures around a roll, own perps) and the own inverse perp of every
    coin in a margin wallet (its USD-neutral hedge). Returns the prepared symbols."""
    await check_key(port, config)
    markets = await port.load_markets()
    instruments = all_instruments(rules, markets, await port.fetch_time())
    missing = [symbol for symbol in instruments if symbol not in markets]
    if missing:
        raise ConfigurationMismatchError(
            f"{port.name} lists no market {', '.join(missing)} (rules name them)"
        )
    wallets = await port.fetch_margin_wallets()
    symbols = sorted(set(instruments) | set(collateral_instruments(wallets, markets)))
    await prepare_instruments(port, config, symbols)
    return frozenset(symbols)


async def prepare_instruments(port: ExchangePort, config: Config, symbols: Sequence[str]) -> None:
    """Set margin mode and leverage on ``symbols``, then verify both from the exchange's
    positions; refuse hedge (two-sided) position mode or settings that did not take."""
    if not symbols:
        return
    hedge = config.hedge
    for symbol in symbols:
        await port.set_margin_mode(symbol, hedge.margin_mode, hedge.leverage)
        await port.set_leverage(symbol, hedge.leverage)
    positions = await port.fetch_positions(list(symbols))
    for symbol, position in positions.items():
        if position.hedge_mode:
            raise ConfigurationMismatchError(
                f"{symbol} is in hedge (two-sided) position mode; hedgebot needs one-way mode"
            )
        if position.leverage is not None and position.leverage != hedge.leverage:
            raise ConfigurationMismatchError(
                f"{symbol} leverage is {position.leverage}, config says {hedge.leverage}, "
                "and it could not be set"
            )
        if position.margin_mode is not None and position.margin_mode != hedge.margin_mode:
            raise ConfigurationMismatchError(
                f"{symbol} margin mode is {position.margin_mode}, config says "
                f"{hedge.margin_mode}, and it could not be set"
            )
    log.info(
        "instruments_prepared",
        instruments=list(symbols),
        leverage=str(hedge.leverage),
        margin_mode=hedge.margin_mode,
    )
