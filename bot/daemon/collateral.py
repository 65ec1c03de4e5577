"""Collateral actions at the edge: record, send, reconcile. Nothing here decides.

The pure policy (``bot.core.collateral_policy``) plans transfers and conversions; this module
moves them the way orders move (``bot.daemon.execute`` / ``reconcile``):

- every action is persisted PENDING before it is sent, with its deterministic id (the transfer's
  ``transferId``, the spot order's client id);
- a send whose outcome is unknown (timeout, lost response) is UNKNOWN and never sent again: the
  next tick, or the next daemon after a restart, looks it up by id first;
- a tick's actions form one chain (sell A, buy B, move B to margin): when a step does not
  succeed the rest is not sent, and increases on the contracts of every coin the chain was to
  fund are held this tick (reductions still go out), because the plan counted that margin as
  arrived;
- while any action is unresolved the policy plans nothing new (``reconcile`` says so), so no
  coin is ever moved twice; the planner then sizes hedges to the wallets as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from bot.config.models import Config
from bot.core.collateral_policy import CollateralSettings
from bot.core.margin import MarginTerms
from bot.core.types import (
    CollateralAction,
    CollateralUsage,
    OrderRequest,
    OrderState,
    TransferRequest,
)
from bot.exchange.errors import ExchangeError, OutcomeUnknownError
from bot.exchange.port import ExchangePort
from bot.store.collateral_repo import CollateralActionRecord, CollateralRecords

log = structlog.get_logger(__name__)

DAY = timedelta(days=1)


def collateral_settings(config: Config) -> tuple[MarginTerms, CollateralSettings | None]:
    """Margin terms from ``hedge`` and ``collateral``; the policy only when it may move coins."""
    hedge, policy = config.hedge, config.collateral
    terms = MarginTerms(
        leverage=hedge.leverage,
        margin_mode=hedge.margin_mode,
        maintenance_rate=hedge.maintenance_margin_rate,
        min_distance=policy.min_liquidation_distance,
        fee_rate=policy.fee_rate,
    )
    if policy.fund_from != "spot":
        return terms, None
    return terms, CollateralSettings(
        terms=terms,
        target_distance=policy.target_distance,
        release_distance=policy.release_distance,
        fund_from_spot=True,
        convert=policy.convert,
        max_transfer_usd=policy.max_transfer_per_day_usd,
        max_transfer_coins=dict(policy.max_transfer_per_day),
        max_convert_usd=policy.max_convert_per_day_usd,
    )


@dataclass(slots=True)
class ActionReport:
    """What the tick's actions did: ids by outcome, and the margin coins the chain was to fund
    when it did not complete (their increases must wait)."""

    succeeded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    incomplete_coins: set[str] = field(default_factory=set)


class CollateralDesk:
    """Sends and reconciles one account's collateral actions."""

    def __init__(
        self,
        port: ExchangePort,
        records: CollateralRecords,
        account: str,
        clock: Callable[[], datetime],
        never_arrived_after: timedelta,
    ) -> None:
        self.port = port
        self.records = records
        self.account = account
        self.clock = clock
        self.never_arrived_after = never_arrived_after

    async def usage(self) -> CollateralUsage:
        """What was moved in the rolling day (unresolved actions count)."""
        return await self.records.usage(self.account, self.clock() - DAY)

    async def reconcile(self) -> set[str]:
        """Resolve PENDING/UNKNOWN actions by id; the ids that stay unresolved (while there are
        any, no new action may be planned)."""
        blocked: set[str] = set()
        for record in await self.records.unfinished(self.account):
            try:
                state = await self._look_up(record)
            except ExchangeError as exc:
                log.warning("collateral_lookup_failed", action_id=record.action_id, error=str(exc))
                blocked.add(record.action_id)
                continue
            now = self.clock()
            if state is None:
                if now - record.created_at >= self.never_arrived_after:
                    await self.records.set_state(
                        self.account, record.action_id, "FAILED", now, "never reached the exchange"
                    )
                    log.info("collateral_action_never_arrived", action_id=record.action_id)
                else:
                    blocked.add(record.action_id)
                continue
            if state == "PENDING":
                blocked.add(record.action_id)
                continue
            await self.records.set_state(self.account, record.action_id, state, now)
            log.info(
                "collateral_action_reconciled",
                action_id=record.action_id,
                kind=record.kind,
                previous_state=record.state,
                state=state,
            )
        return blocked

    async def _look_up(self, record: CollateralActionRecord) -> str | None:
        """SUCCESS, FAILED or PENDING as the exchange reports it; None when it has no trace."""
        if record.kind == "transfer":
            transfer = await self.port.fetch_transfer(record.action_id, record.coin)
            return None if transfer is None else transfer.state
        status = await self.port.fetch_spot_order(record.symbol or "", record.action_id)
        if status is None:
            return None
        if status.state == OrderState.FILLED:
            return "SUCCESS"
        if status.state in (OrderState.REJECTED, OrderState.CANCELLED):
            return "FAILED"
        return "PENDING"

    async def execute(
        self, tick_id: int, actions: Sequence[CollateralAction], dry_run: bool
    ) -> ActionReport:
        """Persist, then send in order; a chain stops at its first step that did not succeed."""
        report = ActionReport()
        if not actions:
            return report
        now = self.clock()
        state = "DRY_RUN" if dry_run else "PENDING"
        await self.records.add_actions(tick_id, self.account, actions, state, now)
        if dry_run:
            return report
        funded = {a.coin for a in actions if a.kind == "transfer" and a.destination == "margin"}
        for action in actions:
            if report.incomplete_coins:
                await self._set(action, "FAILED", "not sent: an earlier step of its chain failed")
                report.skipped.append(action.action_id)
                continue
            outcome, error = await self._send(action)
            await self._set(action, outcome, error)
            log.info(
                "collateral_action",
                action_id=action.action_id,
                kind=action.kind,
                coin=action.coin,
                amount=str(action.amount),
                usd_value=str(action.usd_value),
                symbol=action.symbol,
                source=action.source,
                destination=action.destination,
                outcome=outcome,
                error=error,
                reason=action.reason,
            )
            if outcome == "SUCCESS":
                report.succeeded.append(action.action_id)
                continue
            (report.unknown if outcome == "UNKNOWN" else report.failed).append(action.action_id)
            report.incomplete_coins |= funded or {action.coin}
        return report

    async def _send(self, action: CollateralAction) -> tuple[str, str | None]:
        try:
            if action.kind == "transfer":
                status = await self.port.transfer(
                    TransferRequest(
                        action.action_id,
                        action.coin,
                        action.amount,
                        action.source or "spot",
                        action.destination or "margin",
                    )
                )
                state = status.state
                return ("UNKNOWN" if state == "PENDING" else state), None
            order = await self.port.create_spot_order(
                OrderRequest(
                    symbol=action.symbol or f"{action.coin}/USDT",
                    side=action.side or "sell",
                    contracts=action.amount,
                    reduce_only=False,
                    client_order_id=action.action_id,
                )
            )
        except OutcomeUnknownError as exc:
            return "UNKNOWN", str(exc)
        except ExchangeError as exc:
            return "FAILED", str(exc)
        if order.state == OrderState.FILLED:
            return "SUCCESS", None
        if order.state in (OrderState.REJECTED, OrderState.CANCELLED):
            return "FAILED", order.reject_reason or order.state.value
        return "UNKNOWN", f"spot order {order.state.value}"

    async def _set(self, action: CollateralAction, state: str, error: str | None) -> None:
        await self.records.set_state(self.account, action.action_id, state, self.clock(), error)
