"""Alerts that are never lost: rules → database outbox → MQTT (QoS 1) and optional Apprise.

* ``bot.alerts.model`` - :class:`Alert`, severities, topics and the JSON payload;
* ``bot.alerts.rules`` - the pure rules engine (:func:`evaluate`, :func:`evaluate_tick`) over a
  :class:`TickObservation` that the daemon fills;
* ``bot.alerts.service`` - :class:`~bot.alerts.service.AlertService`, what the daemon calls
  (start, observe each tick, publish_state, stop); import it from there;
* ``bot.alerts.mqtt`` / ``bot.alerts.apprise_channel`` - the background publishers;
* ``bot.store.outbox`` - the outbox and condition tables (``stage_alerts``, ``Outbox``).

This package's top level is pure (no store, no network) so that ``bot.store.outbox`` can use it.
"""

from bot.alerts.model import Alert, AlertStatus, Severity, Topics, alert_payload, make_alert
from bot.alerts.rules import (
    AlertSpec,
    ConditionState,
    Cooldown,
    InstrumentObservation,
    OrderEvent,
    TickObservation,
    evaluate,
    evaluate_tick,
)

__all__ = [
    "Alert",
    "AlertSpec",
    "AlertStatus",
    "ConditionState",
    "Cooldown",
    "InstrumentObservation",
    "OrderEvent",
    "Severity",
    "TickObservation",
    "Topics",
    "alert_payload",
    "evaluate",
    "evaluate_tick",
    "make_alert",
]
