"""Exposure per coin and the USD face of derivatives positions.

Reference: shared/docs/hedging-math.md section 2. Collateral is exposure: coins posted in a
coin-margined wallet (balance + unrealized PnL) are long the coin like spot coins. The current hedge
in USD is the face value of the short, so exposure never subtracts the short itself; the planner
compares the short's face with a target computed from spot + equity at the mark price.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from bot.core.types import ZERO, Exposure, Market, Position, Snapshot


class MissingPriceError(LookupError):
    """No USD price for a coin whose exposure was asked for."""

    def __init__(self, asset: str) -> None:
        super().__init__(f"no USD price for {asset!r} in the snapshot")
        self.asset = asset


def exposures(snapshot: Snapshot, assets: Iterable[str]) -> dict[str, Exposure]:
    """Exposure of each coin in ``assets``, keyed by coin, in the order given.

    ``spot`` = exchange spot + static holdings (coin), ``collateral`` = coin-margined wallet equity
    (coin), ``price`` = the snapshot's valuation price (USD per coin). Missing holdings count as
    zero; a missing price raises ``MissingPriceError`` because a zero price would silently unhedge.
    """
    result: dict[str, Exposure] = {}
    for asset in assets:
        price = snapshot.prices.get(asset)
        if price is None:
            raise MissingPriceError(asset)
        wallet = snapshot.margin.get(asset)
        result[asset] = Exposure(
            asset=asset,
            spot=snapshot.spot.get(asset, ZERO) + snapshot.static.get(asset, ZERO),
            collateral=wallet.equity if wallet is not None else ZERO,
            price=price,
        )
    return result


def short_contracts(position: Position | None) -> Decimal:
    """Short contracts held, as a positive number; a long is negative and no position is 0."""
    if position is None:
        return ZERO
    return -position.contracts


def face_usd(market: Market, contracts: Decimal, price: Decimal) -> Decimal:
    """USD notional of ``contracts`` (signed as given) at ``price`` (USD per coin).

    Inverse: contracts × contract_size (USD face, independent of price). Linear: contracts ×
    contract_size (coin) × price.
    """
    if market.is_inverse:
        return contracts * market.contract_size
    return contracts * market.contract_size * price
