"""Before an account trades: its API key, leverage, margin mode and position mode."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from bot.config.models import Config
from bot.daemon.snapshot import all_instruments
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


async def prepare_account(port: ExchangePort, config: Config, rules: Sequence[HedgeRule]) -> None:
    """Check the key, set margin mode and leverage on every instrument the rules may use, and
    refuse hedge (two-sided) position mode or a leverage that could not be set."""
    await check_key(port, config)
    markets = await port.load_markets()
    instruments = all_instruments(rules, markets, await port.fetch_time())
    missing = [symbol for symbol in instruments if symbol not in markets]
    if missing:
        raise ConfigurationMismatchError(
            f"{port.name} lists no market {', '.join(missing)} (rules name them)"
        )
    hedge = config.hedge
    for symbol in instruments:
        await port.set_margin_mode(symbol, hedge.margin_mode, hedge.leverage)
        await port.set_leverage(symbol, hedge.leverage)
    positions = await port.fetch_positions(instruments)
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
    log.info(
        "account_prepared",
        instruments=instruments,
        leverage=str(hedge.leverage),
        margin_mode=hedge.margin_mode,
    )
