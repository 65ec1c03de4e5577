"""Venue parameters of the simulated exchange, and its default markets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from bot.core.inverse import MaintenanceBasis
from bot.core.types import Market

STABLECOINS = frozenset({"USD", "USDT", "USDC", "BUSD", "FDUSD", "DAI"})


@dataclass(frozen=True, slots=True)
class SimParams:
    """Fees, funding, maintenance and contract sizes (``SimExchange.from_config`` fills them)."""

    fee_rate: Decimal = Decimal("0.00055")  # of the fill's value, maker and taker alike
    funding_rates: Mapping[str, Decimal] = field(default_factory=dict)  # coin -> rate/interval
    default_funding_rate: Decimal = Decimal("0.0001")
    funding_interval_hours: int = 8
    maintenance_margin_rate: Decimal = Decimal("0.005")
    maintenance_basis: MaintenanceBasis = "entry"  # maintenance = m × value at entry
    contract_sizes_usd: Mapping[str, Decimal] = field(default_factory=dict)  # coin -> USD
    default_contract_size_usd: Decimal = Decimal(1)  # Bybit inverse: 1 USD
    liquidations: bool = True  # close positions that reach their liquidation price
    perp_coins: frozenset[str] | None = None  # coins listing an inverse perp (None: all priced)


def inverse_perpetual(coin: str, contract_size_usd: Decimal) -> Market:
    """``{COIN}/USD:{COIN}``: 1 contract = ``contract_size_usd`` USD, step 1, minimum 1."""
    return Market(
        symbol=f"{coin}/USD:{coin}",
        base=coin,
        quote="USD",
        settle=coin,
        kind="inverse",
        contract_size=contract_size_usd,
    )
