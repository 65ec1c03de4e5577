"""What an alert condition is (a keyed check with its cooldown and texts) and the helpers the
rules share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from bot.alerts.conditions import (
    AlertSpec as AlertSpec,
)
from bot.alerts.conditions import (
    ConditionState as ConditionState,
)
from bot.alerts.conditions import (
    Cooldown as Cooldown,
)
from bot.alerts.conditions import (
    evaluate as evaluate,
)
from bot.alerts.model import Severity
from bot.alerts.observations import (
    InstrumentObservation as InstrumentObservation,
)
from bot.alerts.observations import (
    OrderEvent as OrderEvent,
)
from bot.alerts.observations import (
    TickObservation as TickObservation,
)
from bot.config.alert_params import AlertCooldown, AlertRulesConfig

HOURS_PER_YEAR = Decimal(8760)
DAYS_PER_YEAR = Decimal(365)
DAYS_PER_MONTH = Decimal(30)
DEFAULT_FUNDING_INTERVAL_HOURS = Decimal(8)
CENT = Decimal("0.01")
DAEMON_KEY = "daemon.running"

Number = Decimal | int | str


# -- the rules ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Check:
    key: str
    active: bool
    cooldown: Cooldown
    spec: AlertSpec
    clear: AlertSpec | None = None


# (section, check) -> kind. Sections are the keys under alerts.rules.
KINDS: dict[tuple[str, str], str] = {
    ("funding", "high"): "funding_high",
    ("funding", "low"): "funding_low",
    ("funding", "negative"): "funding_sign_flip",
    ("carry", "cost"): "carry_cost",
    ("margin_ratio", "warning"): "margin_ratio",
    ("margin_ratio", "critical"): "margin_ratio",
    ("liquidation_distance", "warning"): "liquidation_distance",
    ("liquidation_distance", "critical"): "liquidation_distance",
    ("drift", "over"): "over_hedged",
    ("drift", "under"): "under_hedged",
    ("proxy", "rho"): "proxy_correlation",
    ("proxy", "basis"): "basis",
    ("prices", "stale"): "price_stale",
    ("prices", "outlier"): "price_outlier",
    ("order_rejected", "symbol"): "order_rejected",
    ("unknown_order", "order"): "unknown_order_outcome",
    ("exchange", "paused"): "exchange_paused",
    ("exchange", "banned"): "exchange_banned",
    ("kill_switch", "engaged"): "kill_switch",
    ("daemon", "running"): "daemon_started",
}
_INSTRUMENT_SECTIONS = frozenset(
    {"funding", "carry", "margin_ratio", "liquidation_distance", "drift", "proxy", "prices"}
)
_EVENT_SECTIONS = frozenset({"order_rejected", "unknown_order"})


def condition_key(section: str, check: str, subject: str | None = None) -> str:
    return f"{section}.{check}" + ("" if subject is None else f":{subject}")


def split_key(key: str) -> tuple[str, str, str | None]:
    """``"margin_ratio.critical:BTC/USD:BTC"`` -> ``"margin_ratio", "critical", "BTC/USD:BTC"``."""
    section, _, rest = key.partition(".")
    check, colon, subject = rest.partition(":")
    return section, check, subject if colon else None


def _section(rules: AlertRulesConfig, name: str) -> AlertCooldown | None:
    section = getattr(rules, name, None)
    return section if isinstance(section, AlertCooldown) else None


def _pct(value: Decimal) -> str:
    return f"{value:.2%}"


def _check(
    item: InstrumentObservation,
    section: str,
    check: str,
    active: bool,
    cooldown: Cooldown,
    severity: Severity,
    values: Mapping[str, Number],
    says: tuple[str, str],
) -> Check:
    """A per-instrument condition; ``says`` is (raise message, clearing message)."""
    kind = KINDS[(section, check)]
    raised, cleared = says
    asset, name = item.asset, item.instrument
    return Check(
        condition_key(section, check, name),
        active,
        cooldown,
        AlertSpec(kind, severity, raised, values, asset, name),
        AlertSpec(kind, Severity.INFO, cleared, values, asset, name),
    )
