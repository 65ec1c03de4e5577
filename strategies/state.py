"""Per-rule state carried from one tick to the next (state in, state out).

The daemon keeps the ``RuleResult.state`` a rule returned and passes it back on the next tick in
``RuleInputs.states[rule.asset]``. ``to_json``/``from_json`` give a plain, JSON-safe form for
persisting it across restarts (without it, modifier and trigger timers restart from scratch).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from strategies.modifiers import FundingModifierState
from strategies.rho_gate import RhoGateState
from strategies.windows import ActivationState


@dataclass(frozen=True, slots=True)
class RuleState:
    """``instrument``: the hedge instrument chosen last (the incumbent proxy under ``auto``)."""

    instrument: str | None = None
    funding: FundingModifierState = field(default_factory=FundingModifierState)
    activation: ActivationState = field(default_factory=ActivationState)
    rho_gate: RhoGateState = field(default_factory=RhoGateState)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (datetimes as ISO text)."""
        f, a = self.funding, self.activation
        return {
            "instrument": self.instrument,
            "funding": {
                "engaged": f.engaged,
                "breach_since": _iso(f.breach_since),
                "calm_since": _iso(f.calm_since),
                "changed_at": _iso(f.changed_at),
            },
            "activation": {
                "active": a.active,
                "vol_on": a.vol_on,
                "vol_on_since": _iso(a.vol_on_since),
            },
            "rho_gate": {
                "low_since": _iso(self.rho_gate.low_since),
                "broken": self.rho_gate.broken,
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RuleState:
        """Inverse of ``to_json``."""
        f = data.get("funding") or {}
        a = data.get("activation") or {}
        g = data.get("rho_gate") or {}
        return cls(
            instrument=data.get("instrument"),
            funding=FundingModifierState(
                engaged=bool(f.get("engaged", False)),
                breach_since=_parse(f.get("breach_since")),
                calm_since=_parse(f.get("calm_since")),
                changed_at=_parse(f.get("changed_at")),
            ),
            activation=ActivationState(
                active=a.get("active"),
                vol_on=bool(a.get("vol_on", False)),
                vol_on_since=_parse(a.get("vol_on_since")),
            ),
            rho_gate=RhoGateState(
                low_since=_parse(g.get("low_since")), broken=bool(g.get("broken", False))
            ),
        )


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _parse(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
