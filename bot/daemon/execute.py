"""Send a plan's orders safely: persisted before sending, never resent blindly.

Every order is already a PENDING row (with its deterministic client id) when it is sent. A send
whose outcome is unknown is looked up by client id; it is never sent again under a new id until
the lookup says the first one does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from bot.core.types import OrderRequest, OrderState, OrderStatus, PlannedOrder
from bot.exchange.errors import (
    ExchangeError,
    OrderRejectedError,
    OrdersDisabledError,
    OutcomeUnknownError,
    PermanentExchangeError,
    TemporaryExchangeError,
)
from bot.exchange.port import ExchangePort
from bot.store.repo import Store

log = structlog.get_logger(__name__)


@dataclass
class ExecutionReport:
    """What happened to each order of a plan."""

    sent: list[OrderStatus] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (client id, reason)
    unknown: list[str] = field(default_factory=list)  # client ids whose outcome is unknown
    not_sent: list[str] = field(default_factory=list)  # stopped before sending
    errors: list[str] = field(default_factory=list)
    retry_after_s: float | None = None  # the exchange asked us to wait this long before sending
    # The venue refuses every API order for this account (``OrdersDisabledError``): a person
    # must act, so the daemon says it once as a critical alert (``orders_disabled_alert``).
    orders_disabled: str | None = None


def order_request(order: PlannedOrder) -> OrderRequest:
    """The market order that carries out a planned order."""
    return OrderRequest(
        symbol=order.symbol,
        side=order.side,
        contracts=order.contracts,
        reduce_only=order.reduce_only,
        client_order_id=order.client_order_id,
        order_type=order.order_type,
        limit_price=order.limit_price,
        post_only=order.post_only,
    )


async def execute_orders(
    port: ExchangePort, store: Store, orders: Sequence[PlannedOrder], now: datetime
) -> ExecutionReport:
    """Send PENDING orders in plan order; stop at the first temporary fault."""
    report = ExecutionReport()
    for index, order in enumerate(orders):
        cid = order.client_order_id
        try:
            status = await port.create_order(order_request(order))
        except OutcomeUnknownError as exc:
            await store.update_order(cid, state=OrderState.UNKNOWN, sent_at=now)
            log.warning("order_outcome_unknown", client_order_id=cid, error=str(exc))
            report.unknown.append(cid)
            await _resolve_unknown(port, store, order, report)
            report.not_sent.extend(o.client_order_id for o in orders[index + 1 :])
            await _close_unsent(store, orders[index + 1 :], "an earlier order's outcome is unknown")
            break
        except OrderRejectedError as exc:
            await store.update_order(
                cid, state=OrderState.REJECTED, reject_reason=f"{exc.code}: {exc}", sent_at=now
            )
            log.warning("order_rejected", client_order_id=cid, code=exc.code, error=str(exc))
            report.rejected.append((cid, str(exc)))
            if isinstance(exc, OrdersDisabledError):
                report.orders_disabled = str(exc)
            continue
        except TemporaryExchangeError as exc:
            # Definitely not accepted (rate limit, maintenance before acceptance): the row is
            # closed so that the next tick re-plans with a fresh id instead of guessing.
            await store.update_order(
                cid, state=OrderState.CANCELLED, reject_reason=f"not sent: {exc}"
            )
            log.warning("order_not_sent", client_order_id=cid, error=str(exc))
            report.retry_after_s = exc.retry_after_s
            report.not_sent.extend(o.client_order_id for o in orders[index:])
            await _close_unsent(store, orders[index + 1 :], str(exc))
            break
        except PermanentExchangeError as exc:
            await store.update_order(
                cid, state=OrderState.REJECTED, reject_reason=str(exc), sent_at=now
            )
            log.error("order_failed", client_order_id=cid, error=str(exc))
            report.errors.append(str(exc))
            continue
        await store.update_order(cid, status=status, sent_at=now)
        log.info(
            "order_sent",
            client_order_id=cid,
            symbol=order.symbol,
            side=order.side,
            contracts=str(order.contracts),
            reduce_only=order.reduce_only,
            state=status.state.value,
            filled_contracts=str(status.filled_contracts),
            average_price=None if status.average_price is None else str(status.average_price),
        )
        report.sent.append(status)
    return report


async def _close_unsent(store: Store, orders: Sequence[PlannedOrder], reason: str) -> None:
    for order in orders:
        await store.update_order(
            order.client_order_id, state=OrderState.CANCELLED, reject_reason=f"not sent: {reason}"
        )


async def _resolve_unknown(
    port: ExchangePort, store: Store, order: PlannedOrder, report: ExecutionReport
) -> None:
    """Look an unknown-outcome order up once; if that fails too, the next tick retries."""
    try:
        status = await port.fetch_order_by_client_id(order.symbol, order.client_order_id)
    except ExchangeError as exc:
        log.warning("order_lookup_failed", client_order_id=order.client_order_id, error=str(exc))
        return
    if status is not None:
        await store.update_order(order.client_order_id, status=status)
        log.info(
            "order_outcome_resolved",
            client_order_id=order.client_order_id,
            state=status.state.value,
            filled_contracts=str(status.filled_contracts),
        )
