"""What an alert is, and its wire form (topics and JSON payload). Pure: no I/O.

An :class:`Alert` is immutable and carries a unique ``alert_id`` from the moment it is raised; the
outbox stores it with that id, and every delivery (MQTT or Apprise, first or repeated) carries it,
so a subscriber can drop duplicates (delivery is at-least-once).

Payload (UTF-8 JSON, one object)::

    {"alert_id": "5f0c...", "kind": "margin_ratio", "severity": "critical",
     "status": "raised", "condition": "margin_ratio.critical:BTC/USD:BTC",
     "message": "...", "values": {"margin_ratio": "0.83", "threshold": "0.8"},
     "account": "default", "asset": "BTC", "instrument": "BTC/USD:BTC",
     "raised_at": "2026-01-02T03:04:05.678901+00:00",
     "published_at": "2026-01-02T03:04:06.000001+00:00"}

``values`` are the numbers that triggered the alert, as exact decimal strings. ``raised_at`` is
when the condition was observed (kept through any outage); ``published_at`` when this copy was
sent. ``status`` is ``raised``, ``repeated`` (still active after ``repeat_after``), ``cleared`` or
``event`` (a one-off, such as a test alert).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

DEFAULT_ACCOUNT = "default"
_KIND = re.compile(r"[a-z][a-z0-9_]{0,63}")


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertStatus(StrEnum):
    RAISED = "raised"
    REPEATED = "repeated"
    CLEARED = "cleared"
    EVENT = "event"


def new_alert_id() -> str:
    return uuid.uuid4().hex


def number_text(value: Decimal | int | float | str) -> str:
    """A number as exact fixed-point text (``Decimal("1E+3")`` -> ``"1000"``); text unchanged."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        value = Decimal(repr(value))
    number = Decimal(value)
    if not number.is_finite():
        return str(number)
    if number.is_zero():
        return "0"
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def check_kind(kind: str) -> str:
    """Kinds are topic levels: lower-case snake case, at most 64 characters."""
    if not _KIND.fullmatch(kind):
        raise ValueError(f"alert kind must be lower-case snake case, got {kind!r}")
    return kind


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str
    severity: Severity
    message: str
    raised_at: datetime
    values: Mapping[str, str] = field(default_factory=dict)
    account: str = DEFAULT_ACCOUNT
    asset: str | None = None
    instrument: str | None = None
    status: AlertStatus = AlertStatus.EVENT
    condition: str | None = None  # the rule condition key, when a rule raised it
    alert_id: str = field(default_factory=new_alert_id)

    def __post_init__(self) -> None:
        check_kind(self.kind)
        if self.raised_at.utcoffset() is None:
            raise ValueError("raised_at must be timezone-aware")


def make_alert(
    kind: str,
    severity: Severity | str,
    message: str,
    *,
    raised_at: datetime,
    values: Mapping[str, Decimal | int | float | str] | None = None,
    account: str = DEFAULT_ACCOUNT,
    asset: str | None = None,
    instrument: str | None = None,
    status: AlertStatus = AlertStatus.EVENT,
    condition: str | None = None,
) -> Alert:
    """An alert with its numbers turned into exact strings."""
    return Alert(
        kind=kind,
        severity=Severity(severity),
        message=message,
        raised_at=raised_at,
        values={key: number_text(value) for key, value in (values or {}).items()},
        account=account,
        asset=asset,
        instrument=instrument,
        status=status,
        condition=condition,
    )


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def alert_document(alert: Alert, published_at: datetime | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "alert_id": alert.alert_id,
        "kind": alert.kind,
        "severity": alert.severity.value,
        "status": alert.status.value,
        "condition": alert.condition,
        "message": alert.message,
        "values": dict(alert.values),
        "account": alert.account,
        "asset": alert.asset,
        "instrument": alert.instrument,
        "raised_at": iso(alert.raised_at),
    }
    if published_at is not None:
        document["published_at"] = iso(published_at)
    return document


def alert_payload(alert: Alert, published_at: datetime | None = None) -> bytes:
    return json.dumps(alert_document(alert, published_at), separators=(",", ":")).encode()


def _json_default(value: object) -> Any:
    if isinstance(value, Decimal):
        return number_text(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "__dataclass_fields__"):
        return {name: getattr(value, name) for name in value.__dataclass_fields__}
    return str(value)


def state_payload(summary: Mapping[str, Any], *, account: str, updated_at: datetime) -> bytes:
    """The retained ``state`` document: the daemon's summary plus account and time.

    Decimals become exact strings, datetimes ISO 8601, dataclasses objects, sets lists.
    """
    document = {"account": account, "updated_at": iso(updated_at), **summary}
    return json.dumps(document, default=_json_default, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Topics:
    """``{prefix}/{instance}/...``: alerts by severity and kind, retained status and state."""

    prefix: str = "hedgebot"
    instance: str = "default"

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.instance}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def state(self) -> str:
        return f"{self.base}/state"

    @property
    def all_alerts(self) -> str:
        """The subscription filter for every alert."""
        return f"{self.base}/alerts/#"

    def alert(self, severity: Severity | str, kind: str) -> str:
        return f"{self.base}/alerts/{Severity(severity).value}/{check_kind(kind)}"


ONLINE = b"online"
OFFLINE = b"offline"
