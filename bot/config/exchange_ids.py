"""The exchange ids ``exchange.id`` accepts, without importing ccxt or the exchange adapter.

``check-config`` refuses any other id here, before ``run`` creates its database: the adapter
(``bot.exchange.profiles.PROFILES``) has a profile for exactly these (tests/config/
test_startup_checks.py keeps the two equal), and ``sim`` is the built-in simulated exchange.
"""

from __future__ import annotations

SIM_EXCHANGE_ID = "sim"
PROFILED_EXCHANGE_IDS: tuple[str, ...] = (
    "binancecoinm",
    "bingx",
    "bybit",
    "deribit",
    "mexc",
    "okx",
    "weex",
)
SUPPORTED_EXCHANGE_IDS: tuple[str, ...] = (*PROFILED_EXCHANGE_IDS, SIM_EXCHANGE_ID)


def unsupported_exchange_message(exchange_id: str) -> str | None:
    """Why ``exchange_id`` cannot be an account's exchange; None when it is supported."""
    if exchange_id in SUPPORTED_EXCHANGE_IDS:
        return None
    return (
        f"exchange {exchange_id!r} is not supported (supported: "
        f"{', '.join(SUPPORTED_EXCHANGE_IDS)}; see `hedgebot exchanges`)"
    )
