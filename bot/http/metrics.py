"""Prometheus metrics of the daemon (a registry of its own, exposed at /metrics)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.daemon.tick import Hedger
from bot.daemon.tick_outcome import TickOutcome

TICK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """What an operator watches: tick health, orders, hedge ratios, margin, funding, backlog."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.tick_seconds = Histogram(
            "hedgebot_tick_duration_seconds",
            "Tick duration",
            ["account"],
            buckets=TICK_BUCKETS,
            registry=r,
        )
        self.tick_failures = Counter(
            "hedgebot_tick_failures_total", "Ticks that failed", ["account"], registry=r
        )
        self.orders = Counter(
            "hedgebot_orders_total", "Orders by outcome", ["account", "outcome"], registry=r
        )
        self.exchange_errors = Counter(
            "hedgebot_exchange_errors_total",
            "Exchange errors by class",
            ["account", "error"],
            registry=r,
        )
        self.hedge_ratio = Gauge(
            "hedgebot_hedge_ratio_achieved",
            "Current short USD / exposure USD, per asset's instrument",
            ["account", "asset"],
            registry=r,
        )
        self.exposure_usd = Gauge(
            "hedgebot_exposure_usd", "Long exposure in USD", ["account", "asset"], registry=r
        )
        self.hedge_usd = Gauge(
            "hedgebot_hedge_usd", "Current short, USD face", ["account", "instrument"], registry=r
        )
        self.target_usd = Gauge(
            "hedgebot_target_short_usd",
            "Target short, USD",
            ["account", "instrument"],
            registry=r,
        )
        self.margin_ratio = Gauge(
            "hedgebot_margin_ratio", "Maintenance / equity", ["account", "symbol"], registry=r
        )
        self.liquidation_distance = Gauge(
            "hedgebot_liquidation_distance",
            "Fractional rise from mark to liquidation",
            ["account", "symbol"],
            registry=r,
        )
        self.margin_shortfall = Gauge(
            "hedgebot_margin_shortfall_usd",
            "Hedge (USD) the margin wallet cannot carry this tick",
            ["account", "instrument"],
            registry=r,
        )
        self.margin_required = Gauge(
            "hedgebot_margin_required_coins",
            "Equity (settle coin) the coin's shorts need at the minimum liquidation distance",
            ["account", "instrument"],
            registry=r,
        )
        self.margin_equity = Gauge(
            "hedgebot_margin_equity_coins",
            "Margin wallet equity (settle coin): balance + unrealized PnL",
            ["account", "instrument"],
            registry=r,
        )
        self.funding_carry = Gauge(
            "hedgebot_funding_carry_annualized",
            "Annualized funding earned by the short (negative: paid)",
            ["account", "symbol"],
            registry=r,
        )
        self.outbox_backlog = Gauge(
            "hedgebot_outbox_backlog", "Alerts not yet delivered", registry=r
        )
        self.last_tick = Gauge(
            "hedgebot_last_tick_timestamp_seconds",
            "Unix time of the last ok tick",
            ["account"],
            registry=r,
        )

    def observe_duration(self, hedger: Hedger, seconds: float, ok: bool) -> None:
        self.tick_seconds.labels(hedger.account).observe(seconds)
        if not ok:
            self.tick_failures.labels(hedger.account).inc()

    def observe_error(self, account: str, error: BaseException) -> None:
        self.exchange_errors.labels(account, type(error).__name__).inc()

    def observe_margin(self, account: str, outcome: TickOutcome) -> None:
        """Liquidation view of each short; wallet, required margin and shortfall per hedge."""
        for check in outcome.risk:
            if check.margin_ratio is not None:
                self.margin_ratio.labels(account, check.symbol).set(float(check.margin_ratio))
            if check.distance is not None:
                self.liquidation_distance.labels(account, check.symbol).set(float(check.distance))
        for view in outcome.margin:
            self.margin_shortfall.labels(account, view.instrument).set(float(view.shortfall_usd))
            self.margin_required.labels(account, view.instrument).set(float(view.required))
            self.margin_equity.labels(account, view.instrument).set(float(view.equity))

    def listener(self, account: str) -> Callable[[TickOutcome], None]:
        """A tick listener that updates the gauges and order counters of ``account``."""

        def observe(outcome: TickOutcome) -> None:
            decision = outcome.decision
            self.last_tick.labels(account).set(decision.snapshot.taken_at.timestamp())
            for asset, exposure in decision.exposures.items():
                self.exposure_usd.labels(account, asset).set(float(exposure.exposure_usd))
            hedges = {h.instrument: h for h in decision.plan.hedges}
            for hedge in hedges.values():
                self.hedge_usd.labels(account, hedge.instrument).set(float(hedge.current_short_usd))
                self.target_usd.labels(account, hedge.instrument).set(float(hedge.target_short_usd))
            for target in decision.targets:
                bag = decision.exposures.get(target.asset)
                held = hedges.get(target.instrument)
                if bag is not None and held is not None and bag.exposure_usd > 0:
                    self.hedge_ratio.labels(account, target.asset).set(
                        float(held.current_short_usd / bag.exposure_usd)
                    )
            self.observe_margin(account, outcome)
            for symbol, rate in decision.snapshot.funding.items():
                carry = rate.rate * 8760 / rate.interval_hours if rate.interval_hours else 0
                self.funding_carry.labels(account, symbol).set(float(carry))
            execution = outcome.execution
            if execution is not None:
                for status in execution.sent:
                    self.orders.labels(account, status.state.value.lower()).inc()
                self.orders.labels(account, "rejected").inc(len(execution.rejected))
                self.orders.labels(account, "unknown").inc(len(execution.unknown))
                self.orders.labels(account, "not_sent").inc(len(execution.not_sent))
            self.orders.labels(account, "held").inc(len(outcome.held))

        return observe

    def render(self) -> bytes:
        return generate_latest(self.registry)
