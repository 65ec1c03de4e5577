"""What a ``kind: beta`` rule chose this tick, and β and ρ as the Decimals money math uses."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from bot.stats.beta import BetaEstimate
from strategies.events import RuleEvent

BETA_PLACES = 6  # β and ρ enter Decimal money math rounded to this many decimal places
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class HedgeChoice:
    """The instrument chosen this tick, with β (Decimal) and ρ, or why there is none."""

    symbol: str | None
    coin: str = ""
    beta: Decimal | None = None
    rho: Decimal | None = None
    events: tuple[RuleEvent, ...] = ()
    reason: str = ""
    lifted: str | None = None  # the instrument not used (e.g. ρ below the floor), if listed
    tracking: float | None = None  # var(r_A − r_B) / var(r_B): see bot.core.no_trade
    beta_se: Decimal | None = None  # standard error of beta


@lru_cache(maxsize=256)
def own_contract_choice(symbol: str, coin: str) -> HedgeChoice:
    """The asset's own contract: β 1, no ρ (immutable, so one per symbol is shared)."""
    return HedgeChoice(symbol, coin, ONE, None)


def estimate_rho(estimate: BetaEstimate) -> Decimal:
    """ρ of an ok estimate, as ``stat_decimal``."""
    return stat_decimal(estimate.rho)


def stat_decimal(value: float | None) -> Decimal:
    """A statistic as Decimal, rounded to ``BETA_PLACES`` (shortest repr: 1.8 -> 1.8)."""
    if value is None:
        raise ValueError("an ok estimate has beta and rho")
    return _rounded(value)


@lru_cache(maxsize=1024)
def _rounded(value: float) -> Decimal:
    # Cached: a rule reads the same estimate's β and ρ on every tick until the next refresh.
    return Decimal(repr(round(value, BETA_PLACES)))
