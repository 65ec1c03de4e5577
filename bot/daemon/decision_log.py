"""One structured log event per decision, with its inputs (exposures, targets, hedges, notes,
collateral moves planned, orders)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

import structlog

from bot.core.types import PlannedOrder
from bot.daemon.decide import Decision
from strategies.events import RuleEvent
from strategies.risk import LiquidationCheck

log = structlog.get_logger("bot.daemon.tick")


def log_decision(
    decision: Decision, orders: Sequence[PlannedOrder], *, band: Decimal | None, dry_run: bool
) -> None:
    """Log what the tick decided: ``orders`` are those that go out (or DRY_RUN)."""
    snapshot = decision.snapshot
    for exposure in decision.exposures.values():
        log.info(
            "exposure",
            asset=exposure.asset,
            spot=str(exposure.spot),
            collateral=str(exposure.collateral),
            price=str(exposure.price),
            exposure_usd=str(exposure.exposure_usd),
            exchange_time=snapshot.taken_at.isoformat(),
        )
    for target in decision.targets:
        log.info(
            "target",
            asset=target.asset,
            instrument=target.instrument,
            ratio=str(target.ratio),
            beta=str(target.beta),
            beta_se=None if target.beta_se is None else str(target.beta_se),
            target_short_usd=str(target.target_short_usd),
            reason=target.reason,
        )
    for hedge in decision.plan.hedges:
        log.info(
            "hedge",
            instrument=hedge.instrument,
            target_short_usd=str(hedge.target_short_usd),
            current_short_usd=str(hedge.current_short_usd),
            target_contracts=str(hedge.target_contracts),
            current_contracts=str(hedge.current_contracts),
            band=str(hedge.band if hedge.band is not None else band),
            notes=list(hedge.notes),
        )
    for note in decision.plan.notes:
        log.info("plan_note", note=note)
    for note in decision.collateral.notes:
        log.info("collateral_note", note=note)
    for shortfall in decision.plan.shortfalls:
        log.info(
            "margin_carried",
            instrument=shortfall.instrument,
            coin=shortfall.coin,
            target_usd=str(shortfall.target_usd),
            carried_usd=str(shortfall.carried_usd),
            coins_missing=str(shortfall.coins_missing),
        )
    for order in orders:
        log.info(
            "order_planned",
            symbol=order.symbol,
            side=order.side,
            contracts=str(order.contracts),
            reduce_only=order.reduce_only,
            client_order_id=order.client_order_id,
            reason=order.reason,
            dry_run=dry_run,
        )
    if not orders:
        held = len(decision.plan.orders)
        log.info(
            "no_order",
            reason=f"{held} planned order(s) held" if held else "every hedge within its band",
        )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def log_checks(checks: Iterable[LiquidationCheck]) -> None:
    """One event per short's margin and liquidation check."""
    for check in checks:
        log.info(
            "liquidation_check",
            symbol=check.symbol,
            mark_price=str(check.mark_price),
            exchange_price=_text(check.exchange_price),
            own_price=_text(check.own_price),
            formula=check.formula,
            source=check.source,
            distance=_text(check.distance),
            margin_ratio=_text(check.margin_ratio),
            mismatch=_text(check.mismatch),
        )


def log_events(events: Iterable[RuleEvent]) -> None:
    """One warning per rule event, with the numbers behind it as ``v_*`` fields."""
    for event in events:
        log.warning(
            "rule_event",
            kind=event.kind,
            severity=event.severity,
            asset=event.asset,
            instrument=event.instrument,
            message=event.message,
            **{f"v_{key}": value for key, value in event.values.items()},
        )
