"""Inverse (coin-margined) contract math: PnL, entry price, funding, liquidation.

Reference: shared/docs/hedging-math.md sections 1, 5 and 6. Q is a USD face value, P a price in
USD per coin. Every function is pure and exact in Decimal.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Literal

ZERO = Decimal(0)
ONE = Decimal(1)
HOURS_PER_YEAR = Decimal(8760)

MaintenanceBasis = Literal["entry", "mark"]


def short_pnl_coin(face_usd: Decimal, entry_price: Decimal, price: Decimal) -> Decimal:
    """Coin PnL of an inverse short of ``face_usd`` entered at ``entry_price``: Q·(1/P − 1/P0)."""
    return face_usd * (ONE / price - ONE / entry_price)


def short_pnl_usd(face_usd: Decimal, entry_price: Decimal, price: Decimal) -> Decimal:
    """USD value at ``price`` of the short's coin PnL: Q·(1 − P/P0), a linear short of Q/P0."""
    return face_usd * (ONE - price / entry_price)


def position_pnl_coin(
    contracts: Decimal, contract_size_usd: Decimal, entry: Decimal, price: Decimal
) -> Decimal:
    """Coin PnL of a signed inverse position (negative contracts = short)."""
    face = abs(contracts) * contract_size_usd
    pnl_short = short_pnl_coin(face, entry, price)
    return pnl_short if contracts < 0 else -pnl_short


def harmonic_entry(fills: Iterable[tuple[Decimal, Decimal]]) -> Decimal:
    """Average entry of an inverse position from ``(face_usd, price)`` fills: ΣQ / Σ(Q/P)."""
    total_face = ZERO
    total_coin = ZERO
    for face, price in fills:
        total_face += face
        total_coin += face / price
    if total_coin == 0:
        raise ValueError("no fills with a non-zero face value")
    return total_face / total_coin


def funding_payment_coin(
    contracts: Decimal, contract_size_usd: Decimal, mark_price: Decimal, rate: Decimal
) -> Decimal:
    """Signed coin funding for a signed inverse position: positive received, negative paid.

    Payment = |Q| / P_mark × f. A positive rate means longs pay shorts, so a short receives.
    """
    value_coin = abs(contracts) * contract_size_usd / mark_price
    payment = value_coin * rate
    return payment if contracts < 0 else -payment


def annualized_rate(rate: Decimal, interval_hours: Decimal) -> Decimal:
    """Funding per interval -> per year (``rate × 8760 / interval_hours``; ×1095 for 8 h)."""
    return rate * HOURS_PER_YEAR / interval_hours


def liquidation_price_short(
    face_usd: Decimal,
    entry_price: Decimal,
    collateral_coin: Decimal,
    maintenance_rate: Decimal,
    basis: MaintenanceBasis,
) -> Decimal | None:
    """Price at which an inverse short's margin falls to maintenance; None if unreachable.

    ``collateral_coin`` is the coin backing the position: its initial margin Q/(P0·L) in isolated
    mode, the wallet balance in cross mode. Equity at P is collateral + Q·(1/P − 1/P0); the
    maintenance requirement is m·Q/P0 (``basis="entry"``) or m·Q/P (``basis="mark"``).
    """
    if face_usd <= 0:
        return None
    debt_coin = face_usd / entry_price - collateral_coin
    if basis == "entry":
        # collateral + Q/P − Q/P0 = m·Q/P0  →  P = Q / (Q(1+m)/P0 − collateral)
        denominator = face_usd * maintenance_rate / entry_price + debt_coin
        if denominator <= 0:
            return None
        return face_usd / denominator
    # collateral + Q/P − Q/P0 = m·Q/P  →  P = Q(1−m) / (Q/P0 − collateral)
    if debt_coin <= 0:
        return None
    return face_usd * (ONE - maintenance_rate) / debt_coin


def isolated_liquidation_price_short(
    entry_price: Decimal, leverage: Decimal, maintenance_rate: Decimal, basis: MaintenanceBasis
) -> Decimal | None:
    """Closed form of hedging-math.md §6 for an isolated short at leverage L.

    entry basis: P0·L / (L − 1 + m·L); mark basis: P0·L·(1 − m) / (L − 1); None if unreachable.
    """
    if basis == "entry":
        denominator = leverage - ONE + maintenance_rate * leverage
        return None if denominator <= 0 else entry_price * leverage / denominator
    denominator = leverage - ONE
    if denominator <= 0:
        return None
    return entry_price * leverage * (ONE - maintenance_rate) / denominator


def liquidation_distance(liquidation_price: Decimal | None, mark_price: Decimal) -> Decimal | None:
    """Fractional price rise from mark to liquidation (0.25 = 25 %); None when unreachable."""
    if liquidation_price is None:
        return None
    return liquidation_price / mark_price - ONE
