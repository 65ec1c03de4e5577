"""Contract math by market kind, in the market's settle currency.

Inverse markets delegate to ``bot.core.inverse`` (the project's reference math). Linear markets
(``contract_size`` in coin, settled in the quote, e.g. USDT) use the plain linear formulas. Every
function is pure and exact in Decimal; ``contracts`` is unsigned unless the name says ``signed``.
"""

from __future__ import annotations

from decimal import Decimal

from bot.core import inverse
from bot.core.inverse import MaintenanceBasis
from bot.core.types import Market

ZERO = Decimal(0)
ONE = Decimal(1)


def value(market: Market, contracts: Decimal, price: Decimal) -> Decimal:
    """Settle-currency value of ``contracts`` at ``price``: face/price coin (inverse) or
    quantity×price quote (linear)."""
    if market.kind == "inverse":
        return contracts * market.contract_size / price
    return contracts * market.contract_size * price


def average_price(market: Market, contracts: Decimal, value_settle: Decimal) -> Decimal:
    """The price at which ``contracts`` are worth ``value_settle`` (harmonic for inverse)."""
    if market.kind == "inverse":
        return contracts * market.contract_size / value_settle
    return value_settle / (contracts * market.contract_size)


def pnl(market: Market, signed: Decimal, entry: Decimal, price: Decimal) -> Decimal:
    """Unrealized PnL of a signed position (negative = short), settle currency."""
    if signed == 0:
        return ZERO
    if market.kind == "inverse":
        return inverse.position_pnl_coin(signed, market.contract_size, entry, price)
    return signed * market.contract_size * (price - entry)


def add_to_entry(
    market: Market, held: Decimal, entry: Decimal, added: Decimal, price: Decimal
) -> Decimal:
    """Entry after adding ``added`` contracts at ``price`` to ``held`` at ``entry`` (same side).

    Inverse: ``inverse.harmonic_entry`` over the USD faces; linear: quantity-weighted mean.
    """
    if held == 0:
        return price
    if market.kind == "inverse":
        size = market.contract_size
        return inverse.harmonic_entry(((held * size, entry), (added * size, price)))
    return (held * entry + added * price) / (held + added)


def funding(market: Market, signed: Decimal, price: Decimal, rate: Decimal) -> Decimal:
    """Signed funding, settle currency: positive received. Positive rate: longs pay shorts."""
    if market.kind == "inverse":
        return inverse.funding_payment_coin(signed, market.contract_size, price, rate)
    return -signed * market.contract_size * price * rate


def liquidation_price(
    market: Market,
    signed: Decimal,
    entry: Decimal,
    collateral: Decimal,
    maintenance_rate: Decimal,
    basis: MaintenanceBasis,
) -> Decimal | None:
    """Price at which equity (collateral + PnL) falls to maintenance; None if unreachable.

    Maintenance is ``m × value`` at the entry price (``basis="entry"``) or at the liquidation
    price (``"mark"``). Inverse shorts use ``inverse.liquidation_price_short``; the other three
    cases solve the same equation for their PnL formula.
    """
    if signed == 0:
        return None
    m = maintenance_rate
    if market.kind == "inverse":
        face = abs(signed) * market.contract_size
        if signed < 0:
            return inverse.liquidation_price_short(face, entry, collateral, m, basis)
        # long: collateral + Q/P0 − Q/P = m·Q/P0 (entry) or m·Q/P (mark)
        if basis == "entry":
            denominator = collateral + face * (ONE - m) / entry
            return face / denominator if denominator > 0 else None
        denominator = collateral + face / entry
        return face * (ONE + m) / denominator if denominator > 0 else None
    qty = abs(signed) * market.contract_size
    if signed < 0:
        # short: collateral + q·(P0 − P) = m·q·P0 (entry) or m·q·P (mark)
        if basis == "entry":
            return entry + (collateral - m * qty * entry) / qty
        return (collateral + qty * entry) / (qty * (ONE + m))
    # long: collateral + q·(P − P0) = m·q·P0 (entry) or m·q·P (mark)
    if basis == "entry":
        price = entry - (collateral - m * qty * entry) / qty
    else:
        price = (qty * entry - collateral) / (qty * (ONE - m))
    return price if price > 0 else None
