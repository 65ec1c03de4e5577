"""From what a tick saw and did to alert observations (pure), and the bridge that feeds them to
the alert service after every tick (an alerting failure never fails a tick)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import structlog

from bot.alerts import InstrumentObservation, OrderEvent, TickObservation, make_alert
from bot.alerts.model import Alert
from bot.alerts.service import AlertService
from bot.config.models import Config
from bot.core.types import OrderState
from bot.daemon.report import state_summary
from bot.daemon.tick import Hedger
from bot.daemon.tick_outcome import TickOutcome
from bot.store.db import create_engine
from strategies.events import RuleEvent
from strategies.watch import basis

log = structlog.get_logger(__name__)


def observation(
    outcome: TickOutcome,
    config: Config,
    *,
    unknown_orders: Sequence[OrderEvent] = (),
    paused: bool = False,
    pause_reason: str | None = None,
    kill_switch: bool = False,
) -> TickObservation:
    """The alert rules' view of one finished tick."""
    decision = outcome.decision
    snapshot = decision.snapshot
    risk = {check.symbol: check for check in outcome.risk}
    asset_of = {t.instrument: t.asset for t in decision.targets if t.target_short_usd > 0}
    rho_of = {t.instrument: t.rho for t in decision.targets if t.proxy and t.rho is not None}
    instruments = []
    for hedge in decision.plan.hedges:
        symbol = hedge.instrument
        funding = snapshot.funding.get(symbol)
        check = risk.get(symbol)
        margin_ratio = None
        if check is not None:
            margin_ratio = check.margin_ratio
            if margin_ratio is None and check.equity <= 0:
                margin_ratio = Decimal(1)  # no equity left: at liquidation
        ticker = snapshot.tickers.get(symbol)
        market = snapshot.markets.get(symbol)
        spot = snapshot.tickers.get(f"{market.base}/USDT") if market is not None else None
        instruments.append(
            InstrumentObservation(
                instrument=symbol,
                asset=asset_of.get(symbol),
                funding_rate=funding.rate if funding else None,
                funding_interval_hours=funding.interval_hours if funding else None,
                short_usd=hedge.current_short_usd,
                margin_ratio=margin_ratio,
                liquidation_distance=check.distance if check is not None else None,
                drift=(hedge.current_short_usd - hedge.target_short_usd) / hedge.target_short_usd
                if hedge.target_short_usd > 0
                else None,
                band=hedge.band if hedge.band is not None else config.hedge.band,
                proxy_rho=rho_of.get(symbol),
                basis=basis(ticker.last, spot.last) if ticker and spot and spot.last else None,
            )
        )
    execution = outcome.execution
    rejected = [
        OrderEvent(client_order_id=cid, symbol=_symbol_of(outcome, cid), reason=reason)
        for cid, reason in (execution.rejected if execution is not None else ())
    ]
    return TickObservation(
        now=snapshot.taken_at,
        instruments=instruments,
        rejected_orders=rejected,
        unknown_orders=unknown_orders,
        exchange_paused=paused,
        exchange_reason=pause_reason,
        kill_switch=kill_switch,
    )


def _symbol_of(outcome: TickOutcome, client_order_id: str) -> str:
    for order in outcome.orders:
        if order.client_order_id == client_order_id:
            return order.symbol
    return ""


ACTION_EVENTS = frozenset({"collateral_transfer", "collateral_conversion"})


def collateral_alerts(outcome: TickOutcome, account: str, now: datetime) -> list[Alert]:
    """One alert per collateral action the tick sent, with its outcome: every transfer and
    conversion is announced, never folded into an earlier one."""
    report = outcome.collateral
    if report is None:
        return []
    outcomes = {
        **dict.fromkeys(report.succeeded, "SUCCESS"),
        **dict.fromkeys(report.failed, "FAILED"),
        **dict.fromkeys(report.unknown, "UNKNOWN"),
        **dict.fromkeys(report.skipped, "SKIPPED"),
    }
    alerts = []
    for action in outcome.decision.collateral.actions:
        state = outcomes.get(action.action_id, "DRY_RUN")
        kind = "collateral_transfer" if action.kind == "transfer" else "collateral_conversion"
        severity = "info" if state == "SUCCESS" and action.kind == "transfer" else "warning"
        if state in ("FAILED", "UNKNOWN"):
            severity = "critical" if state == "UNKNOWN" else "warning"
        what = (
            f"{action.amount} {action.coin} {action.source} -> {action.destination}"
            if action.kind == "transfer"
            else f"{action.side} {action.amount} {action.coin} on {action.symbol}"
        )
        alerts.append(
            make_alert(
                kind,
                severity,
                f"{what}: {state} ({action.reason})",
                raised_at=now,
                values={
                    "action_id": action.action_id,
                    "state": state,
                    "amount": str(action.amount),
                    "usd_value": str(action.usd_value),
                },
                account=account,
                asset=action.coin,
                instrument=action.symbol,
            )
        )
    return alerts


def orders_disabled_alert(outcome: TickOutcome, account: str, now: datetime) -> Alert | None:
    """A critical ``orders_disabled`` alert when the venue refused an order because API trading
    is off for the account: the hedge cannot move until a person enables it (no retry will)."""
    execution = outcome.execution
    if execution is None or execution.orders_disabled is None:
        return None
    return make_alert(
        "orders_disabled",
        "critical",
        f"the exchange refuses every order of account {account} placed through the API: "
        f"{execution.orders_disabled}; the hedge will not change until API trading is enabled "
        "and hedgebot is restarted",
        raised_at=now,
        account=account,
    )


def rule_event_alerts(events: Sequence[RuleEvent], account: str, now: datetime) -> list[Alert]:
    """Rule events worth telling a human (warnings and above) as alerts; collateral actions
    are announced by ``collateral_alerts`` instead, with their outcome."""
    return [
        make_alert(
            f"rule_{event.kind}",
            event.severity,
            event.message,
            raised_at=now,
            values=dict(event.values),
            account=account,
            asset=event.asset,
            instrument=event.instrument,
        )
        for event in events
        if event.severity in ("warning", "critical") and event.kind not in ACTION_EVENTS
    ]


class AlertBridge:
    """Feeds one account's ticks to its alert service."""

    def __init__(self, hedger: Hedger, alerts: AlertService) -> None:
        self.hedger = hedger
        self.alerts = alerts
        self._event_keys: set[tuple[str, str, str | None]] = set()
        self._orders_disabled_told = False  # the refusal lasts the process: told once

    async def after_tick(self, outcome: TickOutcome) -> None:
        hedger = self.hedger
        try:
            unknown = await hedger.store.orders_in_states(hedger.account, [OrderState.UNKNOWN])
            await self.alerts.observe(
                observation(
                    outcome,
                    hedger.config,
                    unknown_orders=[
                        OrderEvent(
                            o.client_order_id, o.symbol, o.reject_reason, o.contracts, o.side
                        )
                        for o in unknown
                    ],
                    paused=hedger.paused_until is not None,
                    pause_reason=hedger.pause_reason,
                    kill_switch=hedger.kill_switch_engaged(),
                )
            )
            # a rule event is announced once while it keeps recurring
            events = [e for e in outcome.decision.events if e.key not in self._event_keys]
            self._event_keys = {e.key for e in outcome.decision.events}
            taken_at = outcome.decision.snapshot.taken_at
            fresh = rule_event_alerts(events, hedger.account, taken_at)
            fresh += collateral_alerts(outcome, hedger.account, taken_at)
            refused = orders_disabled_alert(outcome, hedger.account, taken_at)
            if refused is not None and not self._orders_disabled_told:
                self._orders_disabled_told = True
                fresh.append(refused)
            if fresh:
                await self.alerts.add(fresh)
            self.alerts.publish_state({"account": hedger.account, **state_summary(outcome)})
        except Exception as exc:
            log.error("alerting_failed", account=hedger.account, error=repr(exc))

    async def after_failure(self, now: datetime) -> None:
        """A tick that could not read the exchange: only the flags and events."""
        hedger = self.hedger
        try:
            await self.alerts.observe(
                TickObservation(
                    now=now,
                    measured=False,
                    exchange_paused=hedger.paused_until is not None,
                    exchange_reason=hedger.pause_reason,
                    kill_switch=hedger.kill_switch_engaged(),
                )
            )
        except Exception as exc:
            log.error("alerting_failed", account=hedger.account, error=repr(exc))


async def alert_refusal(config: Config, reason: str) -> None:
    """A refusal to start is a critical alert ``startup_refused``: delivered now, or left in the
    outbox for the next start when no channel answers in time. Never raises: the refusal is
    already printed and the exit code says it."""
    if not config.alerts.enabled:
        return
    engine = create_engine(config.database.url)
    try:
        alerts = AlertService(config.alerts, engine)
        await alerts.start()
        message = f"hedgebot will not start: {reason}"
        refused = make_alert("startup_refused", "critical", message, raised_at=datetime.now(UTC))
        await alerts.add([refused])
        await alerts.stop(reason="start refused")
    except Exception as exc:
        log.error("startup_refused_alert_failed", error=repr(exc))
    finally:
        await engine.dispose()
