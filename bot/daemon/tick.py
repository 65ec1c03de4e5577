"""One tick of one account: reconcile, read, decide, record, execute, record fills and funding.

Its result type is in ``bot.daemon.tick_outcome``; the holds put on the plan before it trades
(kill switch, shorts that may not grow, the screen, the limit-order deadline) in
``bot.daemon.order_gate``.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import structlog

from bot.config.models import Config
from bot.core.collateral_policy import CollateralSettings
from bot.core.execution import style_orders
from bot.core.margin import instrument_margins
from bot.core.planner import PlannerSettings
from bot.core.types import OrderState, Ownership, PlannedOrder
from bot.daemon.collateral import CollateralDesk, collateral_settings
from bot.daemon.decide import decide
from bot.daemon.decision_log import log_checks, log_decision, log_events
from bot.daemon.estimates import EstimateCache
from bot.daemon.execute import execute_orders
from bot.daemon.guards import Guards
from bot.daemon.order_gate import held_increases, kill_switch_on, past_deadline, screen_plan
from bot.daemon.ownership import AccountLock
from bot.daemon.reconcile import reconcile_orders
from bot.daemon.risk_view import liquidation_checks, watch_events
from bot.daemon.setup import prepare_account, prepare_instruments
from bot.daemon.snapshot import read_snapshot
from bot.daemon.sync import HistorySync
from bot.daemon.tick_outcome import TickOutcome, TickSkipped
from bot.exchange.errors import (
    ConfigurationMismatchError,
    ExchangeUnavailableError,
)
from bot.exchange.port import ExchangePort
from bot.exchange.spot_sources import SpotSource
from bot.stats.beta import BetaEstimate
from bot.store.collateral_repo import CollateralRecords
from bot.store.repo import Store
from bot.store.rule_repo import RuleRecords
from strategies.base import HedgeRule
from strategies.state import RuleState

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Hedger:
    """Keeps one account's hedge at target, one tick at a time."""

    def __init__(
        self,
        *,
        account: str,
        config: Config,
        port: ExchangePort,
        store: Store,
        rules: Sequence[HedgeRule],
        dry_run: bool,
        clock: Callable[[], datetime] = utc_now,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.account = account
        self.config = config
        self.port = port
        self.store = store
        self.rules = tuple(rules)
        self.dry_run = dry_run
        self.clock = clock
        self.settings = PlannerSettings.from_config(config.hedge, config.limits)
        self.on_tick: Callable[[TickOutcome], None] | None = None  # e.g. the CLI's printer
        self.listeners: list[Callable[[TickOutcome], None]] = []  # e.g. metrics
        self.async_listeners: list[Callable[[TickOutcome], Awaitable[None]]] = []  # alerts
        self.last_outcome: TickOutcome | None = None
        self.environ = environ if environ is not None else os.environ
        self.lookup_grace = timedelta(seconds=config.exchange.order_lookup_grace_seconds)
        self.paused_until: datetime | None = None
        self.spot_sources: list[SpotSource] = []  # bags read from other exchanges
        self.lock: AccountLock | None = None  # one owner per account (see ownership.py)
        self.owner: bool | None = None  # None: not tried yet
        self.prepared = False
        self.working_since: dict[str, datetime] = {}  # symbol -> first limit order of this gap
        self.history = HistorySync(port, store, account)
        self.records = RuleRecords(store.engine)
        self.estimates = EstimateCache(port, on_estimate=self._record_estimate)
        self.rule_states: dict[str, RuleState] = {}
        self.pause_reason: str | None = None
        self.margin_terms, self.collateral_policy = collateral_settings(config)
        self.owned: Ownership = {}  # each owner's part of each instrument's short
        self.prepared_symbols: frozenset[str] = frozenset()  # leverage and mode set and verified
        self.collateral = CollateralDesk(
            port, CollateralRecords(store.engine), account, self._now, self.lookup_grace
        )
        self.guards = Guards(
            port,
            store,
            account,
            timedelta(seconds=config.exchange.markets_refresh_seconds),
            self._now,
        )

    def _now(self) -> datetime:
        return self.clock()

    async def prepare(self) -> None:
        """Before the first tick: check the API key, set leverage and margin mode on every
        instrument the plan may trade and refuse an account in hedge (two-sided) position mode."""
        self.prepared_symbols = await prepare_account(self.port, self.config, self.rules)
        await self.guards.explain_positions(
            self.config.exchange, sorted(self.prepared_symbols), self.store
        )

    async def _prepare_new(self, orders: Sequence[PlannedOrder]) -> dict[str, str]:
        """Leverage and margin mode on instruments first traded now (a margin coin that just
        arrived, a future rolled into); the symbols that could not be prepared, with why."""
        new = sorted({o.symbol for o in orders} - self.prepared_symbols)
        if not new or self.dry_run:
            return {}
        try:
            await prepare_instruments(self.port, self.config, new)
        except ConfigurationMismatchError as exc:
            log.error("instrument_not_prepared", symbols=new, error=str(exc))
            return dict.fromkeys(new, f"leverage or margin mode not set: {exc}")
        self.prepared_symbols = self.prepared_symbols | set(new)
        return {}

    async def ping(self) -> None:
        """A cheap call that proves the exchange answers (tickers of one rule instrument)."""
        markets = await self.port.load_markets()
        symbols = [rule.instrument for rule in self.rules if rule.instrument in markets]
        await self.port.fetch_tickers(symbols[:1])

    def reconfigure(self, config: Config, rules: Sequence[HedgeRule]) -> None:
        """Apply a reloaded, validated config (rules, hedge, limits, execution, watch). The
        exchange connection is kept: exchange changes need a restart."""
        if config.exchange != self.config.exchange:
            log.warning(
                "config_reload_exchange_ignored",
                account=self.account,
                advice="restart the daemon to change exchange settings",
            )
            config = config.model_copy(update={"exchange": self.config.exchange})
        self.config = config
        self.rules = tuple(rules)
        self.settings = PlannerSettings.from_config(config.hedge, config.limits)
        self.margin_terms, self.collateral_policy = collateral_settings(config)
        self.prepared = False  # leverage or margin mode may have changed: set them again
        log.info("config_reloaded", account=self.account, rules=len(self.rules))

    async def ensure_owner(self) -> bool:
        """Hold this account's lock (taking it when free) and prepare on first ownership."""
        if self.lock is None:
            return True
        try:
            owned = await self.lock.try_acquire()
        except Exception as exc:  # a lock we cannot check is a lock we do not hold
            log.warning("account_lock_unavailable", account=self.account, error=repr(exc))
            owned = False
        if not owned:
            if self.owner is not False:
                log.info("account_owned_elsewhere", account=self.account, standby=True)
            self.owner = False
            return False
        if self.owner is not True:
            log.info("account_acquired", account=self.account)
            self.owner = True
            self.prepared = False
        if not self.prepared and not self.dry_run:
            await self.prepare()  # a temporary exchange error here fails this tick only
        self.prepared = True
        return True

    async def tick(self) -> TickOutcome:
        """Run one tick. Raises on failure after recording the tick as failed."""
        if not await self.ensure_owner():
            raise TickSkipped(f"account {self.account} is owned by another daemon")
        tick_id = await self.store.start_tick(self.account, self.dry_run, self.clock())
        structlog.contextvars.bind_contextvars(tick_id=tick_id, account=self.account)
        try:
            outcome = await self._tick(tick_id)
        except TickSkipped:
            raise
        except BaseException as exc:
            await self.store.finish_tick(tick_id, "failed", self.clock(), error=repr(exc))
            raise
        finally:
            structlog.contextvars.unbind_contextvars("tick_id", "account")
        if self.on_tick is not None:
            self.on_tick(outcome)
        for listener in self.listeners:
            listener(outcome)
        for async_listener in self.async_listeners:
            await async_listener(outcome)
        self.last_outcome = outcome
        return outcome

    async def _record_estimate(self, asset: str, hedge: str, estimate: BetaEstimate) -> None:
        await self.records.record_beta_estimate(self.account, asset, hedge, estimate)

    def kill_switch_engaged(self) -> bool:
        """The kill switch file exists, or its environment variable is "1"."""
        return kill_switch_on(self.config.limits, self.environ)

    async def _tick(self, tick_id: int) -> TickOutcome:
        now = self.clock()
        if self.paused_until is not None and now < self.paused_until:
            log.warning(
                "trading_paused", until=self.paused_until.isoformat(), reason=self.pause_reason
            )
            await self.store.finish_tick(tick_id, "skipped", now, error=self.pause_reason)
            raise TickSkipped(self.pause_reason or "paused")
        if self.paused_until is not None:
            log.info("trading_resumed", paused_for=self.pause_reason)
            self.paused_until = self.pause_reason = None
        try:
            return await self._work(tick_id)
        except ExchangeUnavailableError as exc:
            pause_s = max(
                exc.retry_after_s or 0.0, self.config.exchange.pause_on_unavailable_seconds
            )
            self.paused_until = self.clock() + timedelta(seconds=pause_s)
            self.pause_reason = str(exc)
            log.error("trading_paused", until=self.paused_until.isoformat(), reason=str(exc))
            raise

    def _policy(self, *, stopped: bool, unresolved: set[str]) -> CollateralSettings | None:
        """The collateral policy for this tick: none while trading is stopped (kill switch,
        operator pause), nor while an earlier move may still land (never move coins twice)."""
        if stopped:
            return None
        if unresolved:
            log.warning("collateral_actions_unresolved", action_ids=sorted(unresolved))
            return None
        return self.collateral_policy

    async def _work(self, tick_id: int) -> TickOutcome:
        blocked: frozenset[str] = frozenset()
        execution_cfg = self.config.execution
        unresolved: set[str] = set()
        if not self.dry_run:
            unresolved = await self.collateral.reconcile()
            reconciled = await reconcile_orders(
                self.port,
                self.store,
                self.account,
                self.clock(),
                self.lookup_grace,
                # In any style: a limit left resting by an earlier limit-style run (restarted in
                # market style) would otherwise block its symbol for good.
                timedelta(seconds=execution_cfg.reprice_after_seconds),
            )
            blocked = frozenset(reconciled.blocked_symbols)
        read = await self.guards.read(
            lambda: read_snapshot(self.port, self.config.holdings, self.rules, self.spot_sources),
            dry_run=self.dry_run,
        )
        snapshot = read.snapshot
        await self.estimates.refresh(self.rules, snapshot.taken_at)
        control = await self.records.current_control(self.account)
        mode = control.mode if control is not None else "active"
        kill = self.kill_switch_engaged()
        policy = self._policy(stopped=kill or mode == "paused", unresolved=unresolved)
        decision = decide(
            snapshot,
            self.rules,
            self.settings,
            f"{self.account}:{tick_id}",
            betas=self.estimates.betas,
            realized_vol=self.estimates.vols,
            states=self.rule_states,
            hedge_off=mode == "hedge_off",
            margin=self.margin_terms,
            collateral=policy,
            usage=await self.collateral.usage() if policy is not None else None,
            owned=self.owned,
            unread_short_usd=read.ledger.unread_short_usd,
        )
        decision, hold_all = await self.guards.review(decision, read, dry_run=self.dry_run)
        self.rule_states = dict(decision.states)
        if not self.dry_run:  # a dry run fills nothing: the parts stay as they were
            self.owned = decision.plan.owned
        risk = tuple(liquidation_checks(snapshot, self.config.hedge))
        log_checks(risk)
        log_events(
            (
                *decision.events,
                *watch_events(snapshot, decision, self.estimates.betas, self.config.watch),
            )
        )
        if mode == "paused":
            log.warning(
                "trading_paused_by_operator",
                since=control.at.isoformat() if control else None,
                reason=control.reason if control else "",
            )
        if kill:
            log.warning("kill_switch_engaged", reduce_only_allowed=True)
        moved = await self.collateral.execute(tick_id, decision.collateral.actions, self.dry_run)
        unfunded = held_increases(
            snapshot,
            decision.plan.orders,
            incomplete_coins=moved.incomplete_coins,
            unprepared=await self._prepare_new(decision.plan.orders),
            held_everywhere=read.increases_held,
        )
        screened = screen_plan(
            decision.plan.orders,
            snapshot,
            kill=kill,
            blocked=blocked,
            paused=mode == "paused",
            held=unfunded,
            hold_all=hold_all,
            max_slippage=self.config.execution.max_slippage,
        )
        deadline = timedelta(seconds=execution_cfg.market_after_seconds)
        late = past_deadline(self.working_since, screened.allowed, self.clock(), deadline)
        orders = style_orders(screened.allowed, snapshot.tickers, execution_cfg, late)
        log_decision(decision, orders, band=self.settings.band, dry_run=self.dry_run)
        margin = instrument_margins(
            snapshot,
            [hedge.instrument for hedge in decision.plan.hedges],
            self.margin_terms,
            decision.plan.shortfalls,
        )
        await self.records.record_position_risk(tick_id, self.account, risk)
        await self.records.record_margin_state(tick_id, self.account, margin)
        await self.store.record_tick_state(
            tick_id,
            snapshot,
            list(decision.exposures.values()),
            decision.targets,
            decision.plan.hedges,
        )
        state = OrderState.DRY_RUN if self.dry_run else OrderState.PENDING
        await self.store.add_planned_orders(tick_id, self.account, orders, state, self.clock())
        execution = None
        if orders and not self.dry_run:
            execution = await execute_orders(self.port, self.store, orders, self.clock())
            if execution.retry_after_s:
                # Honour Retry-After: the account pauses (no tick trades) until it has passed.
                self.paused_until = self.clock() + timedelta(seconds=execution.retry_after_s)
                self.pause_reason = f"rate limited: retry after {execution.retry_after_s} s"
        if not self.dry_run:
            traded = {order.symbol for order in orders} | set(blocked)
            await self.history.sync(
                [hedge.instrument for hedge in decision.plan.hedges], snapshot, traded
            )
        await self.store.finish_tick(tick_id, "ok", self.clock())
        return TickOutcome(
            tick_id,
            decision,
            orders,
            execution,
            screened.held,
            risk,
            moved if decision.collateral.actions else None,
            margin,
        )
