"""Pure pre-trade checks applied to a plan: kill switch and slippage guard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.core.types import PlannedOrder


@dataclass(frozen=True, slots=True)
class Screened:
    """Orders allowed through, and why the others were held."""

    allowed: tuple[PlannedOrder, ...]
    held: tuple[tuple[PlannedOrder, str], ...]


def screen_orders(
    orders: Sequence[PlannedOrder],
    *,
    kill_switch: bool,
    blocked_symbols: frozenset[str] = frozenset(),
    slippage: dict[str, Decimal] | None = None,
    max_slippage: Decimal | None = None,
    held_increases: Mapping[str, str] | None = None,
    hold_all: str | None = None,
) -> Screened:
    """Hold orders that must not go out this tick.

    - kill switch engaged: nothing that adds exposure; reduce-only orders still go out;
    - a blocked symbol (an earlier order's outcome is unresolved): nothing on it;
    - ``slippage[symbol]`` = |last/mark − 1| above ``max_slippage``: no market order there;
    - ``held_increases[symbol]``: the reason nothing may add exposure there (e.g. the margin the
      plan counted on did not arrive); reduce-only orders still go out;
    - ``hold_all``: why no order at all may go out (the plan's inputs proved stale).
    """
    allowed: list[PlannedOrder] = []
    held: list[tuple[PlannedOrder, str]] = []
    for order in orders:
        if hold_all is not None:
            held.append((order, hold_all))
        elif order.symbol in blocked_symbols:
            held.append((order, "an earlier order on this symbol is unresolved"))
        elif kill_switch and not order.reduce_only:
            held.append((order, "kill switch engaged: no new exposure"))
        elif held_increases and order.symbol in held_increases and not order.reduce_only:
            held.append((order, held_increases[order.symbol]))
        elif (
            slippage is not None
            and max_slippage is not None
            and slippage.get(order.symbol, Decimal(0)) > max_slippage
        ):
            held.append(
                (
                    order,
                    f"last and mark differ by {slippage[order.symbol]:.4%} > {max_slippage:.4%}",
                )
            )
        else:
            allowed.append(order)
    return Screened(tuple(allowed), tuple(held))


def price_disagreement(last: Decimal, mark: Decimal | None) -> Decimal:
    """|last / mark − 1| (0 when the mark is unknown)."""
    if mark is None or mark == 0:
        return Decimal(0)
    return abs(last / mark - 1)
