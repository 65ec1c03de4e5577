"""Largest sane magnitudes of prices, USD sums and coin amounts.

Shared by the config schema (``bot.config``) and the price data loaders (``bot.sim.series``,
``bot.backtest``), so that a typo (an extra zero run, ``1e50``) or a corrupt data row is refused
with its place instead of ending in ``decimal.InvalidOperation`` or a meaningless report.

The products of these bounds stay inside the 60-digit working precision of ``bot.core.sizing``
with its 12 decimal places: a coin amount (1e15) × a price (1e9) is 1e24 USD, 24 + 12 digits.
"""

from __future__ import annotations

from decimal import Decimal

# USD per coin. The dearest coin ever traded is below 1e6 USD (BTC peaked near 1.3e5 in the
# data); 1e9 leaves three orders of magnitude for a future price, and still refuses a price
# mistyped (or mis-scaled, e.g. in satoshis or with 18 decimals) by ten or more zeros.
MAX_PRICE_USD = Decimal("1e9")

# A USD sum: an order, a cap, a daily budget, a cost alert. 1e12 (a trillion) is above the
# open interest of all crypto derivatives together, so no real account comes near it.
MAX_USD = Decimal("1e12")

# A number of coins held, transferred or deposited. SHIB, the coin with the largest supply that
# perpetuals hedge, has under 1e15 units in all.
MAX_COINS = Decimal("1e15")
