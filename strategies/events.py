"""What rules report besides targets: alert-worthy events, and the result type carrying both.

Events are plain values; the alerting side decides where they go. ``values`` holds the numbers
behind the message as text (Decimal/float rendered with ``str``), so the alert can show them
and a test can compare them exactly. ``key`` identifies "the same condition" for de-duplication.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from bot.core.types import HedgeTarget

if TYPE_CHECKING:
    from strategies.state import RuleState

Severity = Literal["info", "warning", "critical"]
EventKind = Literal[
    "low_rho",  # the best proxy's ρ is below the rule's floor (the hedge tapers)
    "rho_breakdown",  # ρ at the taper's bottom for the breakdown time: the hedge is lifted
    "rho_restored",  # ρ back at the floor after a breakdown: the hedge returns
    "beta_unavailable",  # no usable (ok and fresh) β estimate: insufficient data or stale
    "negative_beta",  # β ≤ 0: a short would add risk; no hedge
    "instrument_missing",  # the hedge instrument is not listed (or inactive)
    "funding_modifier_engaged",
    "funding_modifier_released",
    "window_opened",
    "window_closed",
    "basis_beyond_threshold",  # |perp / spot − 1| above the threshold
    "correlation_breakdown",  # a proxy in use has a rolling ρ below the floor
    "roll",  # a dated future is closed and the next one opened in one decision
    "liquidation_distance_low",
    "liquidation_price_mismatch",  # exchange's and own liquidation price disagree
    "margin_top_up",  # coins to move spot -> margin
    "collateral_unhedged",  # a margin coin that should be held USD-neutral cannot be
    "margin_shortfall",  # the margin wallet cannot carry the whole target
    "collateral_transfer",  # margin coin moved spot <-> contract wallet
    "collateral_conversion",  # a proxy asset's spot sold for the margin coin
    "contract_size_changed",  # the venue re-specified a contract: the short is re-sized
    "price_refused",  # a price outside the sane band (a data error): no increase meanwhile
    "ledger_disagreement",  # the exchange's position and the daemon's fills differ
]


@dataclass(frozen=True, slots=True)
class RuleEvent:
    """One alert-worthy fact. ``instrument`` is a market symbol, or None when none applies."""

    kind: EventKind
    severity: Severity
    asset: str
    instrument: str | None
    message: str
    values: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str | None]:
        """(kind, asset, instrument): the same condition on later ticks has the same key."""
        return (self.kind, self.asset, self.instrument)


@dataclass(frozen=True, slots=True)
class RuleResult:
    """A rule's output for one tick: targets, events, and its state for the next tick.

    ``state`` is None for stateless rules; a stateful rule returns the state the daemon must
    pass back (``RuleInputs.states[asset]``) on the next tick.
    """

    targets: tuple[HedgeTarget, ...] = ()
    events: tuple[RuleEvent, ...] = ()
    state: RuleState | None = None
