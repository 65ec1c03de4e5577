"""The hedge carries its own collateral, end to end: hedgebot through the real ccxt client
against the emulator (transfers, spot conversions, leverage on margin coins' own perps).

The world: BTC 50,000, SOL 100, ETH 2,500. 1,000 SOL in spot hedged 100 % on the BTC inverse
perp (a proxy hedge: its margin is BTC), 1.5 BTC in the contract wallet (no BTC rule: held
USD-neutral on the same perp), 0.2 BTC in spot. Leverage 5, cross margin, minimum liquidation
distance 50 %, top-ups aiming at 75 %.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config.models import SimConfig
from bot.core.inverse import liquidation_distance, liquidation_price_short
from bot.emulator import start_emulator
from tests.integration.conftest import SIM, Bot, Venue, merged

D = Decimal
BTC = "BTC/USD:BTC"
ETH = "ETH/USD:ETH"
WORLD: dict[str, Any] = merged(
    {k: v for k, v in SIM.items() if k != "balances"},
    {
        "prices": {"BTC": "50000", "SOL": "100", "ETH": "2500"},
        "contract_size_usd": {"BTC": "1", "SOL": "1", "ETH": "1"},
        "balances": {"spot": {"BTC": "0.2", "SOL": "1000"}, "margin": {"BTC": "1.5"}},
    },
)
POLICY = {
    "min_liquidation_distance": "0.5",
    "target_liquidation_distance": "0.75",
    "release_above_distance": "1.5",
    "fund_from": "spot",
    "convert": True,
    "max_transfer_per_day_usd": 1_000_000,
    "max_convert_per_day_usd": 1_000_000,
}
RULES = [{"asset": "SOL", "ratio": 1, "instrument": BTC}]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[Bot]:
    running = await start_emulator(SimConfig.model_validate(WORLD), follow_wall_clock=False)
    try:
        async with aiohttp.ClientSession() as session:
            harness = Bot(Venue(running, session), tmp_path)
            yield harness
            for runtime in harness.runtimes:
                await runtime.close()
    finally:
        await running.stop()


def config_overrides(**extra: Any) -> dict[str, Any]:
    return {
        "exchange": {"sim": WORLD},
        "rules": RULES,
        "collateral": POLICY,
        "limits": {"max_order_usd": 1_000_000, "max_total_short_usd": 2_000_000},
        **extra,
    }


def distance(bot: Bot) -> Decimal | None:
    """Our liquidation distance of the BTC short, from the emulator's own books (cross)."""
    engine = bot.venue.running.engine
    position = engine.positions([BTC])[BTC]
    face = -position.contracts
    wallet = engine.margin_wallets()["BTC"].balance
    price = engine.price("BTC")
    liquidation = liquidation_price_short(face, position.entry_price, wallet, D("0.005"), "mark")
    return liquidation_distance(liquidation, price)


async def test_a_rally_that_breaches_the_distance_tops_up_and_converts_within_one_tick(
    world: Bot,
) -> None:
    bot = world
    runtime = await bot.open(bot.config(**config_overrides()))
    first = await runtime.hedger.tick()
    assert first.decision.collateral.actions == ()  # 1.5 BTC carries 175,000 USD at 50 %
    assert bot.venue.short() == D(175_000)  # 100,000 SOL + 75,000 BTC held USD-neutral
    assert (await bot.venue.call("GET", "/admin/transfers"))["transfers"] == []

    await bot.venue.post("/admin/price", {"coin": "BTC", "price": "70000"})
    before = distance(bot)
    assert before is not None
    assert before < D("0.5")

    second = await runtime.hedger.tick()
    kinds = [a.kind for a in second.decision.collateral.actions]
    assert kinds == ["spot_sell", "spot_buy", "transfer"]
    assert second.collateral is not None
    assert not second.collateral.failed
    transfers = (await bot.venue.call("GET", "/admin/transfers"))["transfers"]
    assert len(transfers) == 1
    moved = D(transfers[0]["amount"])
    assert moved > D("0.2")  # the spot BTC and the converted SOL, in one transfer
    spot_orders = (await bot.venue.call("GET", "/admin/spot-orders"))["orders"]
    assert [(o["symbol"], o["side"]) for o in spot_orders] == [
        ("SOL/USDT", "sell"),
        ("BTC/USDT", "buy"),
    ]
    sold = D(spot_orders[0]["filled"])
    engine = bot.venue.running.engine
    assert engine.spot_balances()["SOL"] == D(1000) - sold
    after = distance(bot)
    assert after is not None
    assert after >= D("0.5")
    # the sold SOL left SOL's exposure and its target in the same tick
    sol_target = next(t for t in second.decision.targets if t.asset == "SOL")
    planned = second.decision.collateral.actions[0].amount
    assert sol_target.target_short_usd == (D(1000) - planned) * D(100)
    assert abs(planned - sold) <= D("0.000001")  # the venue's lot: 6 decimals
    states = bot.rows("select kind, state from collateral_actions order by id")
    assert states == [("spot_sell", "SUCCESS"), ("spot_buy", "SUCCESS"), ("transfer", "SUCCESS")]
    assert not [o for o in await bot.venue.orders() if o["state"] == "REJECTED"]


async def test_a_transfer_whose_response_is_lost_is_not_repeated_after_a_restart(
    world: Bot,
) -> None:
    bot = world
    # Spot BTC is plenty here: the top-up is a plain transfer, no conversion.
    await bot.venue.move("deposit", "BTC", "2")
    config = bot.config(**config_overrides())
    runtime = await bot.open(config)
    await runtime.hedger.tick()
    await bot.venue.post("/admin/price", {"coin": "BTC", "price": "70000"})
    await bot.venue.fault(
        "lost_response", path="/v5/asset/transfer/inter-transfer", delay_s=2.5, drop=True
    )
    lost = await runtime.hedger.tick()
    assert lost.collateral is not None
    assert len(lost.collateral.unknown) == 1
    assert bot.rows("select state from collateral_actions") == [("UNKNOWN",)]
    transfers = (await bot.venue.call("GET", "/admin/transfers"))["transfers"]
    assert len(transfers) == 1  # it did land
    # no increase went out on the strength of margin that had not been confirmed
    assert all(o.reduce_only for o in lost.orders)

    await bot.close(runtime)  # the daemon stops; another starts on the same database
    again = await bot.open(config)
    resumed = await again.hedger.tick()
    assert bot.rows("select state from collateral_actions") == [("SUCCESS",)]
    assert (await bot.venue.call("GET", "/admin/transfers"))["transfers"] == transfers
    assert resumed.decision.collateral.actions == ()  # the wallet is funded: nothing more


async def test_margin_coins_without_a_rule_get_leverage_and_their_hedge_fills(
    world: Bot,
) -> None:
    bot = world
    await bot.venue.move("deposit", "ETH", "20", wallet="margin")
    runtime = await bot.open(bot.config(**config_overrides(collateral={})))
    assert ETH in runtime.hedger.prepared_symbols
    engine = bot.venue.running.engine
    outcome = await runtime.hedger.tick()
    eth_orders = [o for o in outcome.orders if o.symbol == ETH]
    assert eth_orders
    assert all(o.side == "sell" for o in eth_orders)
    position = engine.positions([ETH])[ETH]
    assert position.leverage == D(5)
    # 20 ETH held USD-neutral: 50,000 USD short, all of it filled (no refusal)
    assert -position.contracts == D(50_000)
    refused = [o for o in await bot.venue.orders() if o["state"] == "REJECTED"]
    assert refused == []
