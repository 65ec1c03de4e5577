"""Build the exchange port a config asks for."""

from __future__ import annotations

from bot.config.models import ExchangeConfig
from bot.config.secrets import Credentials
from bot.exchange.port import ExchangePort


def build_port(config: ExchangeConfig, credentials: Credentials) -> ExchangePort:
    """The simulated exchange for ``id: sim``, else the ccxt adapter."""
    if config.id == "sim":
        from bot.exchange.sim_port import build_sim_port

        if config.sim is None:  # the config validator guarantees it; keep mypy and users honest
            raise ValueError("exchange.id 'sim' needs an 'exchange.sim' section")
        return build_sim_port(config.sim)
    from bot.exchange.ccxt_port import CcxtPort

    return CcxtPort.from_config(config, credentials)
