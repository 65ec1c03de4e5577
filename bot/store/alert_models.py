"""Tables of the alerts (``bot.alerts``): the outbox and the rule conditions. Migration 0002.

Registered on the same ``Base`` as ``bot.store.models`` (which imports this module at its end,
so Alembic and ``Base.metadata`` see these tables).

* ``alert_outbox``: every alert, written before any delivery (in the transaction of the state
  that caused it, where there is one). Each channel has a state: ``pending`` (to deliver),
  ``delivered`` (acknowledged, with the time) or ``off`` (the channel was not configured when the
  alert was written). Rows are delivered in ``id`` order.
* ``alert_conditions``: the state of each rule condition (``bot.alerts.rules.ConditionState``),
  so that deduplication and cooldowns survive a restart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import AccountMixin, Base, Coin, JSONDoc, Symbol

SEVERITIES = ("info", "warning", "critical")
DELIVERY_STATES = ("pending", "delivered", "off")
ALERT_STATUSES = ("raised", "repeated", "cleared", "event")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class AlertOutboxRow(AccountMixin, Base):
    __tablename__ = "alert_outbox"
    __table_args__ = (
        CheckConstraint(_in("severity", SEVERITIES), name="severity"),
        CheckConstraint(_in("status", ALERT_STATUSES), name="status"),
        CheckConstraint(_in("mqtt_state", DELIVERY_STATES), name="mqtt_state"),
        CheckConstraint(_in("apprise_state", DELIVERY_STATES), name="apprise_state"),
        Index("ix_alert_outbox_account_mqtt_state", "account", "mqtt_state", "id"),
        Index("ix_alert_outbox_account_apprise_state", "account", "apprise_state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    condition: Mapped[str | None] = mapped_column(String(256))
    message: Mapped[str] = mapped_column(Text)
    numbers: Mapped[dict[str, Any]] = mapped_column(JSONDoc)  # the alert's values: name -> text
    asset: Mapped[str | None] = mapped_column(Coin)
    instrument: Mapped[str | None] = mapped_column(Symbol)
    raised_at: Mapped[datetime]
    created_at: Mapped[datetime]  # written to the outbox
    mqtt_state: Mapped[str] = mapped_column(String(16))
    mqtt_delivered_at: Mapped[datetime | None]
    apprise_state: Mapped[str] = mapped_column(String(16))
    apprise_delivered_at: Mapped[datetime | None]


class AlertConditionRow(AccountMixin, Base):
    __tablename__ = "alert_conditions"
    __table_args__ = (UniqueConstraint("account", "condition_key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    condition_key: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean)
    streak: Mapped[int] = mapped_column(Integer)
    since: Mapped[datetime | None]
    notified: Mapped[bool] = mapped_column(Boolean)
    last_notified_at: Mapped[datetime | None]
    asset: Mapped[str | None] = mapped_column(Coin)
    instrument: Mapped[str | None] = mapped_column(Symbol)
    updated_at: Mapped[datetime]
