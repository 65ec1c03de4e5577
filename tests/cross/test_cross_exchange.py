"""SOL held on one exchange account, hedged with a BTC inverse perp on another (two emulators,
real ccxt for both)."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

from bot.app import open_runtime
from bot.config.loader import parse_config
from bot.config.models import SimBalances, SimConfig
from bot.emulator import start_emulator
from tests.helpers import REPO

BTC = "BTC/USD:BTC"


async def test_sol_bag_on_one_account_hedged_on_another(tmp_path: Path) -> None:
    prices = {"BTC": Decimal(60_000), "SOL": Decimal(150)}
    bag = await start_emulator(
        SimConfig(
            prices=prices,
            balances=SimBalances(spot={"SOL": Decimal(1000)}),
            api_key="bag-key",
            secret="bag-secret",
        )
    )
    venue = await start_emulator(
        SimConfig(
            prices=prices, inverse_perps=["BTC"], balances=SimBalances(margin={"BTC": Decimal(2)})
        )
    )
    try:
        config = parse_config(
            textwrap.dedent(f"""
            exchange: {{id: bybit, url: "{venue.url}"}}
            holdings:
              source: exchange
              sources:
                - name: cold-bag
                  exchange: bybit
                  url: "{bag.url}"
                  api_key_env: BAG_KEY
                  secret_env: BAG_SECRET
                  assets: [SOL]
            rules:
              - {{asset: SOL, ratio: 0.7, instrument: "{BTC}"}}
            hedge: {{leverage: 2}}
            database: {{url: "sqlite+aiosqlite:///{tmp_path}/db.sqlite"}}
            """),
            base_dir=REPO,
        )
        environ = {
            "HEDGEBOT_API_KEY": "test-key",
            "HEDGEBOT_API_SECRET": "test-secret",
            "BAG_KEY": "bag-key",
            "BAG_SECRET": "bag-secret",
        }
        runtime = await open_runtime(config, dry_run=False, environ=environ)
        try:
            outcome = await runtime.hedger.tick()
        finally:
            await runtime.close()
        sol = outcome.decision.exposures["SOL"]
        assert sol.spot == 1000  # read from the other account
        assert sol.exposure_usd == Decimal(150_000)
        sol_target = next(t for t in outcome.decision.targets if t.asset == "SOL")
        assert sol_target.target_short_usd == Decimal(105_000)
        assert sol_target.instrument == BTC
        # the BTC margin is held USD-neutral on top: 2 BTC × 60,000 = 120,000 USD
        hedge = next(h for h in outcome.decision.plan.hedges if h.instrument == BTC)
        assert hedge.target_short_usd == Decimal(225_000)
        short = -venue.engine.positions([BTC])[BTC].contracts
        assert hedge.target_contracts - 1 <= short <= hedge.target_contracts
        assert bag.engine.order_history() == []  # the bag's exchange is only read
        assert bag.engine.spot_balances()["SOL"] == 1000
    finally:
        await bag.stop()
        await venue.stop()
