"""Bring orders the database does not consider finished in line with the exchange.

Runs at the start of every tick (and so at start-up): an order left PENDING or UNKNOWN by a crash,
a timeout or a lost response is looked up by its client id before anything new is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from bot.core.types import OrderState
from bot.exchange.errors import ExchangeError
from bot.exchange.port import ExchangePort
from bot.store.repo import Store

log = structlog.get_logger(__name__)

UNRESOLVED_STATES: Sequence[OrderState] = (
    OrderState.PENDING,
    OrderState.UNKNOWN,
    OrderState.OPEN,
    OrderState.PARTIALLY_FILLED,
)

# An order the exchange has never seen cannot arrive later than its signed receive window
# (ccxt signs Bybit requests with a 5 s window). Past this age, "not found" means "never placed".
DEFAULT_NEVER_ARRIVED_AFTER = timedelta(seconds=60)


@dataclass
class ReconcileReport:
    resolved: int = 0
    blocked_symbols: set[str] = field(default_factory=set)  # no new orders there this tick
    cancelled_for_reprice: set[str] = field(default_factory=set)  # symbols to re-plan now


async def reconcile_orders(
    port: ExchangePort,
    store: Store,
    account: str,
    now: datetime,
    never_arrived_after: timedelta = DEFAULT_NEVER_ARRIVED_AFTER,
    reprice_after: timedelta | None = None,
) -> ReconcileReport:
    """Resolve every unfinished order by client id; block symbols whose state stays unknown."""
    report = ReconcileReport()
    for row in await store.orders_in_states(account, UNRESOLVED_STATES):
        try:
            status = await port.fetch_order_by_client_id(row.symbol, row.client_order_id)
        except ExchangeError as exc:
            log.warning(
                "reconcile_lookup_failed", client_order_id=row.client_order_id, error=str(exc)
            )
            report.blocked_symbols.add(row.symbol)
            continue
        if status is not None:
            await store.update_order(row.client_order_id, status=status)
            report.resolved += 1
            if status.state in (OrderState.OPEN, OrderState.PARTIALLY_FILLED):
                age = now - (row.sent_at or row.created_at)
                # Cancel a stale limit; the next plan sizes what is left from the position
                # (fills already in it), so a partial fill is never counted twice.
                stale = reprice_after is not None and age >= reprice_after
                if stale and await _cancel(port, store, row.symbol, row.client_order_id):
                    report.cancelled_for_reprice.add(row.symbol)
                    continue
                report.blocked_symbols.add(row.symbol)
            log.info(
                "order_reconciled",
                client_order_id=row.client_order_id,
                previous_state=row.state,
                state=status.state.value,
                filled_contracts=str(status.filled_contracts),
            )
            continue
        if now - row.created_at >= never_arrived_after:
            await store.update_order(
                row.client_order_id,
                state=OrderState.CANCELLED,
                reject_reason="never reached the exchange",
            )
            report.resolved += 1
            log.info("order_never_arrived", client_order_id=row.client_order_id)
        else:
            report.blocked_symbols.add(row.symbol)
            log.info("order_unresolved_wait", client_order_id=row.client_order_id)
    return report


async def _cancel(port: ExchangePort, store: Store, symbol: str, client_order_id: str) -> bool:
    """Cancel a working order for re-pricing; True when it is no longer working."""
    try:
        status = await port.cancel_order(symbol, client_order_id)
    except ExchangeError as exc:
        log.warning("reprice_cancel_failed", client_order_id=client_order_id, error=str(exc))
        status = None
    if status is None:
        try:
            status = await port.fetch_order_by_client_id(symbol, client_order_id)
        except ExchangeError:
            return False
    if status is None:
        return False
    await store.update_order(client_order_id, status=status)
    log.info(
        "order_cancelled_for_reprice",
        client_order_id=client_order_id,
        state=status.state.value,
        filled_contracts=str(status.filled_contracts),
    )
    return status.state not in (OrderState.OPEN, OrderState.PARTIALLY_FILLED)
