"""USD notional -> contracts, rounded toward the smaller hedge.

Reference: shared/docs/hedging-math.md section 4. Rounding never over-hedges: a target is floored
to the market's amount step, and a result below the market's minimum size is no hedge (0), which the
planner reports as a note, not an error.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, Decimal, localcontext

from bot.core.types import ZERO, Market

# Division noise (e.g. 1/3 artefacts, or equity × price not returning the exact face) lives far
# below 1e-12 contracts; quantizing there first keeps an exact integer from flooring to integer-1.
# The price of this is an over-hedge of at most 5e-13 contracts, far below any exchange's step.
NOISE_QUANTUM = Decimal("1e-12")
_WORK_PRECISION = 60  # digits: wide enough that the quantize above never overflows the context


def denoise(value: Decimal) -> Decimal:
    """``value`` rounded to 12 decimal places (half-even), computed without context overflow."""
    with localcontext() as ctx:
        ctx.prec = _WORK_PRECISION
        return value.quantize(NOISE_QUANTUM, rounding=ROUND_HALF_EVEN)


def floor_to_step(contracts: Decimal, step: Decimal) -> Decimal:
    """``contracts`` rounded toward zero to a multiple of ``step`` (contracts)."""
    with localcontext() as ctx:
        ctx.prec = _WORK_PRECISION
        return (denoise(contracts) / step).to_integral_value(rounding=ROUND_DOWN) * step


def ceil_to_step(contracts: Decimal, step: Decimal) -> Decimal:
    """``contracts`` (>= 0) rounded up to a multiple of ``step`` (contracts)."""
    with localcontext() as ctx:
        ctx.prec = _WORK_PRECISION
        return (denoise(contracts) / step).to_integral_value(rounding=ROUND_CEILING) * step


def contracts_for_usd(market: Market, usd: Decimal, price: Decimal) -> Decimal:
    """Short contracts for a USD notional ``usd`` at ``price`` (USD per coin).

    Inverse: usd / contract_size (USD per contract); linear: usd / (contract_size (coin) × price).
    Rounded toward zero to ``market.amount_step`` so rounding never over-hedges; a result below
    ``market.min_contracts`` (or a non-positive ``usd``) is 0.
    """
    if usd <= 0:
        return ZERO
    with localcontext() as ctx:
        ctx.prec = _WORK_PRECISION
        per_contract_usd = (
            market.contract_size if market.is_inverse else market.contract_size * price
        )
        contracts = floor_to_step(usd / per_contract_usd, market.amount_step)
    if contracts < market.min_contracts or contracts <= 0:
        return ZERO
    return contracts
