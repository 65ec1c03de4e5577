"""Every collateral action the tick sent is announced as an alert with its outcome."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from bot.core.collateral_policy import CollateralPlan
from bot.core.types import CollateralAction, Plan, Snapshot
from bot.daemon.alerting import collateral_alerts, rule_event_alerts
from bot.daemon.collateral import ActionReport
from bot.daemon.decide import Decision, _action_event
from bot.daemon.tick_outcome import TickOutcome

NOW = datetime(2024, 1, 1, tzinfo=UTC)
SELL = CollateralAction(
    "hb-s",
    "spot_sell",
    "SOL",
    Decimal("10"),
    Decimal(1000),
    symbol="SOL/USDT",
    side="sell",
    reason="conversion",
)
MOVE = CollateralAction(
    "t-1",
    "transfer",
    "BTC",
    Decimal("0.5"),
    Decimal(25000),
    source="spot",
    destination="margin",
    reason="top-up",
)


def outcome(report: ActionReport | None) -> TickOutcome:
    snapshot = Snapshot(NOW, {}, {}, {}, {}, {}, {})
    decision = Decision(snapshot, {}, (), Plan((), ()), collateral=CollateralPlan((SELL, MOVE)))
    return TickOutcome(1, decision, (), None, collateral=report)


def test_each_action_is_announced_with_its_outcome() -> None:
    report = ActionReport(succeeded=["hb-s"], unknown=["t-1"])
    alerts = collateral_alerts(outcome(report), "default", NOW)
    assert [
        (a.kind, a.severity.value if hasattr(a.severity, "value") else a.severity) for a in alerts
    ] == [
        ("collateral_conversion", "warning"),
        ("collateral_transfer", "critical"),
    ]
    assert "SUCCESS" in alerts[0].message
    assert "UNKNOWN" in alerts[1].message
    assert alerts[1].values["action_id"] == "t-1"


def test_no_actions_no_alerts_and_action_events_are_not_doubled() -> None:
    assert collateral_alerts(outcome(None), "default", NOW) == []
    events = [replace(_action_event(MOVE), severity="warning"), _action_event(SELL)]
    assert rule_event_alerts(events, "default", NOW) == []
