"""What the daemon tells the alert rules after each tick (plain values)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

# -- what the daemon observes ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstrumentObservation:
    """One hedge instrument at one tick. ``None``: nothing to measure (the rule is inactive)."""

    instrument: str
    asset: str | None = None  # the spot asset hedged with it
    funding_rate: Decimal | None = None  # per funding interval; positive: longs pay shorts
    funding_interval_hours: Decimal | None = None  # default 8
    # Yearly carry of the short as a fraction of its face (positive: it earns). Default:
    # funding_rate × 8760 / funding_interval_hours.
    annualized_carry: Decimal | None = None
    short_usd: Decimal | None = None  # USD face of the short (for the projected carry cost)
    margin_ratio: Decimal | None = None  # maintenance margin ÷ margin balance; 1 = liquidation
    liquidation_distance: Decimal | None = None  # price rise to liquidation (0.2 = 20 %)
    drift: Decimal | None = None  # (current − target) ÷ target short: > 0 over-hedged
    band: Decimal | None = None  # the hedge band (hedge.band)
    proxy_rho: Decimal | None = None  # ρ(asset, this instrument's coin), proxy hedges only
    basis: Decimal | None = None  # (perp − reference) ÷ reference
    price_stale: bool = False
    price_outlier: bool = False
    price_age_seconds: Decimal | None = None  # shown with a stale price


@dataclass(frozen=True, slots=True)
class OrderEvent:
    client_order_id: str
    symbol: str
    reason: str | None = None  # the exchange's reject reason or the error
    contracts: Decimal | None = None
    side: str | None = None


@dataclass(frozen=True, slots=True)
class TickObservation:
    """What one tick saw, for the rules. ``now`` stamps the alerts (``raised_at``)."""

    now: datetime
    instruments: Sequence[InstrumentObservation] = ()
    measured: bool = True  # False: the exchange could not be read; keep instrument states
    rejected_orders: Sequence[OrderEvent] = ()  # rejected during this tick
    unknown_orders: Sequence[OrderEvent] = ()  # every order whose outcome is unknown now
    exchange_paused: bool = False
    exchange_banned: bool = False
    exchange_reason: str | None = None
    kill_switch: bool = False
