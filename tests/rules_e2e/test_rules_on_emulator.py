"""Hedge rules end to end: the daemon, real ccxt and the Bybit emulator replaying real prices."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.app import Runtime, open_runtime
from bot.config.loader import parse_config
from bot.core.inverse import isolated_liquidation_price_short
from bot.daemon.tick_outcome import TickOutcome
from bot.emulator import RunningEmulator, start_emulator
from tests.helpers import REPLAY_DIR, REPO

BTC = "BTC/USD:BTC"
ENV = {"HEDGEBOT_API_KEY": "test-key", "HEDGEBOT_API_SECRET": "test-secret"}
START = "2024-04-10T00:00:00+00:00"  # 40 days into data/replay: enough history for a β window


def config_text(tmp_path: Path, body: str, *, perps: str, balances: str, hedge: str = "") -> str:
    return textwrap.dedent(
        f"""
        exchange:
          id: bybit
          url: URL
          timeout_ms: 5000
          order_lookup_grace_seconds: 0
          sim:
            replay: {{path: {REPLAY_DIR}, start: "{START}", step_per_tick: false}}
            inverse_perps: {perps}
            balances: {balances}
            fee_rate: 0.00055
        hedge: {{band: 0.02, min_order_usd: 10, leverage: 2, margin_mode: cross{hedge}}}
        limits: {{max_order_usd: 1000000, max_total_short_usd: 5000000}}
        database: {{url: "sqlite+aiosqlite:///{tmp_path}/db.sqlite"}}
        """
    ) + textwrap.dedent(body)


class Harness:
    """An emulator (manual replay clock) and a daemon runtime talking to it through ccxt."""

    def __init__(self, emulator: RunningEmulator, runtime: Runtime) -> None:
        self.emulator = emulator
        self.runtime = runtime

    @property
    def engine(self) -> Any:
        return self.emulator.engine

    async def tick(self, hours: int = 0) -> TickOutcome:
        for _ in range(hours):
            self.engine.step()
        return await self.runtime.hedger.tick()

    def short(self, symbol: str = BTC) -> Decimal:
        position = self.engine.positions([symbol]).get(symbol)
        return Decimal(0) if position is None else -position.contracts


@pytest.fixture
async def harness_factory(tmp_path: Path) -> AsyncIterator[Any]:
    opened: list[Harness] = []

    async def make(text: str) -> Harness:
        sim_only = parse_config(text.replace("URL", "http://127.0.0.1:1"), base_dir=REPO)
        assert sim_only.exchange.sim is not None
        emulator = await start_emulator(sim_only.exchange.sim, follow_wall_clock=False)
        config = parse_config(text.replace("URL", emulator.url), base_dir=REPO)
        runtime = await open_runtime(config, dry_run=False, environ=ENV)
        harness = Harness(emulator, runtime)
        opened.append(harness)
        return harness

    yield make
    for harness in opened:
        await harness.runtime.close()
        await harness.emulator.stop()


BETA_RULE = """
rules:
  - kind: beta
    asset: SOL
    ratio: 0.7
    hedge_with: auto
    candidates: [BTC, ETH]
    estimator: {interval: 1h, window: 240, method: ols, max_age_hours: 48}
"""


async def test_sol_without_its_own_perp_is_hedged_with_btc_at_ratio_times_beta(
    harness_factory: Any, tmp_path: Path
) -> None:
    text = config_text(
        tmp_path,
        BETA_RULE,
        perps="[BTC, ETH]",
        balances="{spot: {SOL: 1000}, margin: {BTC: 3, ETH: 1}}",
    )
    harness = await harness_factory(text)
    outcome = await harness.tick()
    (target,) = [t for t in outcome.decision.targets if t.asset == "SOL"]
    assert target.proxy is True
    assert target.instrument in (BTC, "ETH/USD:ETH")
    estimate = harness.runtime.hedger.estimates.betas[("SOL", target.instrument.split("/")[0])]
    assert estimate.state == "ok"
    assert estimate.n == 240
    assert target.rho is not None
    assert target.rho >= Decimal("0.7")
    exposure = outcome.decision.exposures["SOL"].exposure_usd
    expected = Decimal("0.7") * exposure * target.beta
    assert target.target_short_usd == expected  # multiply by β, never divide
    # the rule carries β rounded to 6 decimals (a statistic, not money)
    assert abs(target.beta - Decimal(str(estimate.beta))) <= Decimal("5e-7")
    # the margin coin is held USD-neutral on its own perp; the proxy hedge sums with it
    hedge = next(h for h in outcome.decision.plan.hedges if h.instrument == target.instrument)
    margin_coin = target.instrument.split("/")[0]
    collateral = outcome.decision.exposures[margin_coin].exposure_usd
    assert hedge.target_short_usd == expected + collateral
    short = harness.short(target.instrument)
    assert abs(short - hedge.target_contracts) <= 1
    assert outcome.decision.exposures["SOL"].spot == 1000


async def test_plan_json_shows_beta_rho_proxy(harness_factory: Any, tmp_path: Path) -> None:
    from bot.daemon.report import decision_report

    text = config_text(
        tmp_path, BETA_RULE, perps="[BTC, ETH]", balances="{spot: {SOL: 1000}, margin: {BTC: 3}}"
    )
    harness = await harness_factory(text)
    outcome = await harness.tick()
    report = decision_report(outcome.decision)
    sol = next(h for h in report["hedges"] if h["asset"] == "SOL")
    assert sol["proxy"] is True
    assert Decimal(sol["beta"]) > 1
    assert Decimal(sol["rho"]) >= Decimal("0.7")
    btc = next(h for h in report["hedges"] if h["asset"] == "BTC")
    assert btc["proxy"] is False
    assert "neutral" in btc["reason"] or "collateral" in btc["reason"]


FUNDING_RULE = """
rules:
  - kind: beta
    asset: BTC
    ratio: 0.8
    hedge_with: auto
    funding_modifier:
      max_cost_annualized: 0.20
      after_hours: 3
      floor_ratio: 0.2
      restore_below_annualized: 0.05
      restore_after_hours: 3
"""


async def test_funding_modifier_drops_to_floor_then_recovers(
    harness_factory: Any, tmp_path: Path
) -> None:
    text = config_text(
        tmp_path, FUNDING_RULE, perps="[BTC]", balances="{spot: {BTC: 0.5}, margin: {BTC: 1.5}}"
    )
    harness = await harness_factory(text)
    first = await harness.tick()
    (target,) = [t for t in first.decision.targets if t.asset == "BTC"]
    assert target.ratio == Decimal("0.8")
    # funding turns negative: the short pays 0.05 % per 8 h = 54.75 % a year > 20 %
    harness.engine.set_funding_rate("BTC", Decimal("-0.0005"))
    ratios = []
    for _ in range(5):
        outcome = await harness.tick(hours=1)
        ratios.append(next(t for t in outcome.decision.targets if t.asset == "BTC").ratio)
    assert ratios[0] == Decimal("0.8")  # not yet: the cost must hold for 3 hours
    assert ratios[-1] == Decimal("0.2")
    floor_short = harness.short()
    assert floor_short < Decimal("0.3") * first.decision.plan.hedges[0].target_contracts
    # funding normalizes (the short earns): restored after restore_after_hours, not before
    harness.engine.set_funding_rate("BTC", Decimal("0.0001"))
    ratios = []
    for _ in range(5):
        outcome = await harness.tick(hours=1)
        ratios.append(next(t for t in outcome.decision.targets if t.asset == "BTC").ratio)
    assert ratios[0] == Decimal("0.2")
    assert ratios[-1] == Decimal("0.8")
    reasons = [t.reason for t in outcome.decision.targets]
    assert all("funding" not in r or "restored" in r for r in reasons)
    assert harness.short() > Decimal("0.7") * first.decision.plan.hedges[0].target_contracts


async def test_own_liquidation_price_matches_the_emulator(
    harness_factory: Any, tmp_path: Path
) -> None:
    rules = "\nrules:\n  - {asset: BTC, ratio: 1}\n"
    text = config_text(
        tmp_path,
        rules,
        perps="[BTC]",
        balances="{spot: {BTC: 1.5}, margin: {BTC: 1.5}}",
        hedge=", maintenance_basis: entry",
    ).replace("leverage: 2, margin_mode: cross", "leverage: 3, margin_mode: isolated")
    harness = await harness_factory(text)
    await harness.tick()
    outcome = await harness.tick(hours=1)
    (check,) = outcome.risk
    assert check.exchange_price is not None
    assert check.own_price is not None
    assert check.mismatch is not None
    assert check.mismatch < Decimal("0.005")
    assert check.formula == "entry-basis isolated"
    closed_form = isolated_liquidation_price_short(
        check.entry_price, Decimal(3), Decimal("0.005"), "entry"
    )
    assert closed_form is not None
    assert abs(check.own_price / closed_form - 1) < Decimal("1e-9")


async def test_window_opens_and_closes_and_the_hedge_follows(
    harness_factory: Any, tmp_path: Path
) -> None:
    start = datetime.fromisoformat(START)
    opens, closes = start + timedelta(hours=2), start + timedelta(hours=5)
    rules = f"""
rules:
  - kind: beta
    asset: BTC
    ratio: 1
    hedge_with: auto
    collateral: ignore
    windows:
      - {{every: once, start: "{opens.isoformat()}", end: "{closes.isoformat()}"}}
"""
    text = config_text(
        tmp_path, rules, perps="[BTC]", balances="{spot: {BTC: 0.5}, margin: {BTC: 1.5}}"
    )
    harness = await harness_factory(text)
    shorts = []
    for hours in (0, 1, 1, 1, 1, 1, 1):
        await harness.tick(hours=hours)
        shorts.append(harness.short())
    assert shorts[0] == shorts[1] == 0  # before the window: no hedge
    assert shorts[3] > 0  # inside: hedged
    assert shorts[-1] == 0  # after: lifted with reduce-only orders
    lifts = [o for o in harness.engine.order_history() if o.status.reduce_only]
    assert lifts


async def test_dated_future_rolls_before_expiry(harness_factory: Any, tmp_path: Path) -> None:
    from bot.core.types import Market

    rules = """
rules:
  - kind: beta
    asset: BTC
    ratio: 1
    hedge_with: BTC
    contract: inverse_future
    roll_hours_before_expiry: 24
    collateral: ignore
"""
    text = config_text(
        tmp_path, rules, perps="[BTC]", balances="{spot: {BTC: 0.5}, margin: {BTC: 1.5}}"
    )
    start = datetime.fromisoformat(START)
    near_expiry, far_expiry = start + timedelta(hours=27), start + timedelta(days=30)
    # the futures must exist before the daemon loads markets: add them, then open the runtime
    sim_only = parse_config(text.replace("URL", "http://127.0.0.1:1"), base_dir=REPO)
    assert sim_only.exchange.sim is not None
    emulator = await start_emulator(sim_only.exchange.sim, follow_wall_clock=False)
    try:
        for expiry in (near_expiry, far_expiry):
            emulator.engine.add_market(
                Market(
                    symbol=f"BTC/USD:BTC-{expiry:%y%m%d}",
                    base="BTC",
                    quote="USD",
                    settle="BTC",
                    kind="inverse",
                    contract_size=Decimal(1),
                    expiry=expiry,
                )
            )
        near, far = f"BTC/USD:BTC-{near_expiry:%y%m%d}", f"BTC/USD:BTC-{far_expiry:%y%m%d}"
        config = parse_config(text.replace("URL", emulator.url), base_dir=REPO)
        runtime = await open_runtime(config, dry_run=False, environ=ENV)
        harness = Harness(emulator, runtime)
        try:
            await harness.tick()
            assert harness.short(near) > 0
            assert harness.short(far) == 0
            outcome = await harness.tick(hours=4)  # 23 h to expiry: inside the roll window
            assert harness.short(near) == 0
            assert harness.short(far) > 0
            symbols = {o.symbol for o in outcome.orders}
            assert symbols == {near, far}  # close and open in one decision, one tick
        finally:
            await runtime.close()
    finally:
        await emulator.stop()
