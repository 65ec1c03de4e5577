"""A venue that refuses every API order (MEXC's "Contract not allow place order") is told to a
person once, as a critical alert, and never retried against the venue (issue 15, item 2).

The port is the real ccxt client answering from MEXC's recorded refusal
(``tests/exchanges/replay.py``); the orders are recorded in a real SQLite database first, as
the daemon's tick does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from bot.alerts.model import Severity
from bot.core.types import OrderState, Plan, PlannedOrder, Snapshot
from bot.daemon.alerting import orders_disabled_alert
from bot.daemon.decide import Decision
from bot.daemon.execute import ExecutionReport, execute_orders
from bot.daemon.tick_outcome import TickOutcome
from bot.store.db import upgrade
from bot.store.repo import Store
from tests.exchanges.replay import replay_client

NOW = datetime(2026, 1, 5, tzinfo=UTC)
SYMBOL = "ETH/USDT:USDT"
REFUSAL = {"success": False, "code": 1002, "message": "Contract not allow place order!"}


def outcome(execution: ExecutionReport | None) -> TickOutcome:
    decision = Decision(Snapshot(NOW, {}, {}, {}, {}, {}, {}), {}, (), Plan((), ()))
    return TickOutcome(1, decision, (), execution)


async def test_refused_orders_are_recorded_once_sent_and_raise_one_critical_alert(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hb.sqlite'}"
    await upgrade(url)
    orders = [
        PlannedOrder(SYMBOL, "sell", Decimal(400), False, "hb-mexc-1"),
        PlannedOrder(SYMBOL, "sell", Decimal(300), False, "hb-mexc-2"),
    ]
    replay = replay_client("mexc", {"order/create": REFUSAL})
    async with Store.from_url(url) as store:
        await store.add_planned_orders(None, "default", orders, OrderState.PENDING, NOW)
        report = await execute_orders(replay.port, store, orders, NOW)
        rows = [await store.get_order(o.client_order_id) for o in orders]
    assert [cid for cid, _ in report.rejected] == ["hb-mexc-1", "hb-mexc-2"]
    assert len(replay.urls("order/create")) == 1  # the second is refused without a request
    assert [row.state for row in rows if row is not None] == [OrderState.REJECTED] * 2
    assert report.orders_disabled is not None
    assert "Contract not allow place order" in report.orders_disabled

    alert = orders_disabled_alert(outcome(report), "default", NOW)
    assert alert is not None
    assert alert.kind == "orders_disabled"
    assert alert.severity == Severity.CRITICAL
    assert "API trading is enabled" in alert.message


def test_an_ordinary_rejection_raises_no_orders_disabled_alert() -> None:
    plain = ExecutionReport(rejected=[("hb-1", "110007: insufficient balance")])
    assert orders_disabled_alert(outcome(plain), "default", NOW) is None
    assert orders_disabled_alert(outcome(None), "default", NOW) is None
