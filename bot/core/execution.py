"""Pure choice of how each planned order is worked: at market, or as a passive limit.

A limit order rests ``limit_offset`` away from the mark on the passive side (a sell above the
mark, a buy below it), post-only where asked, so it pays maker fees. The daemon cancels it after
``reprice_after_seconds`` (the next plan re-prices what is left at the new mark) and, once a
symbol has been worked for ``market_after_seconds``, sends the remainder at market.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from bot.config.models import ExecutionConfig
from bot.core.types import PlannedOrder, Ticker

PRICE_QUANTUM = Decimal("0.01")  # USD; exchanges round further to their tick size


def passive_limit_price(side: str, mark: Decimal, offset: Decimal) -> Decimal:
    """Sell at mark·(1+offset) rounded up, buy at mark·(1−offset) rounded down (USD per coin)."""
    if side == "sell":
        return (mark * (1 + offset)).quantize(PRICE_QUANTUM, rounding=ROUND_CEILING)
    return (mark * (1 - offset)).quantize(PRICE_QUANTUM, rounding=ROUND_FLOOR)


def style_orders(
    orders: Sequence[PlannedOrder],
    tickers: Mapping[str, Ticker],
    execution: ExecutionConfig,
    market_symbols: frozenset[str] = frozenset(),
) -> tuple[PlannedOrder, ...]:
    """Apply the configured execution style; ``market_symbols`` are past their deadline."""
    if execution.style == "market":
        return tuple(orders)
    styled: list[PlannedOrder] = []
    for order in orders:
        ticker = tickers.get(order.symbol)
        if order.symbol in market_symbols or ticker is None:
            styled.append(order)
            continue
        styled.append(
            dataclasses.replace(
                order,
                order_type="limit",
                limit_price=passive_limit_price(
                    order.side, ticker.reference, execution.limit_offset
                ),
                post_only=execution.post_only,
            )
        )
    return tuple(styled)
