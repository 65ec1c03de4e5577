"""Config checks that come from the profiles, the cross-exchange holdings shape, and the
``hedgebot exchanges`` command."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from bot.cli.exchanges import exchange_row
from bot.cli.main import app
from bot.config.loader import ConfigError, load_config, parse_config
from bot.config.models import Config
from bot.config.secrets import Credentials, resolve_credentials
from bot.exchange.profile_model import ExchangeProfile
from bot.exchange.profiles import PROFILES
from bot.exchange.spot_sources import SpotSource, open_spot_source, read_spot_sources
from tests.exchanges.recorded import RecordingClient, offline_exchange

HEDGE_ON_WEEX = """\
exchange:
  id: weex
rules:
  - asset: ETH
    ratio: 0.5
    instrument: ETH/USDT:USDT
  - asset: BTC
    ratio: 1
"""

TWO_ACCOUNTS = """\
exchange:
  id: bybit
  url: http://127.0.0.1:8123
  api_key_env: HEDGE_KEY
  secret_env: HEDGE_SECRET
holdings:
  source: none
  sources:
    - name: sol-bag
      exchange: bybit
      url: http://127.0.0.1:8124
      api_key_env: BAG_KEY
      secret_env: BAG_SECRET
      assets: [SOL]
rules:
  - kind: beta
    asset: SOL
    ratio: 0.7
    hedge_with: BTC
"""


def parse(text: str) -> Config:
    return parse_config(text, Path.cwd())


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(problem) for problem in caught.value.problems]


def test_inverse_hedge_on_an_exchange_without_inverse_perps_names_it(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, HEDGE_ON_WEEX)
    assert problem.startswith("rules.1.asset (line 7): ")
    assert "'weex' lists no inverse perpetuals" in problem


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ("  - asset: BTC\n    ratio: 1\n    instrument: BTC/USD:BTC\n", "rules.0.instrument"),
        ("  - kind: beta\n    asset: SOL\n    ratio: 1\n    hedge_with: BTC\n", "rules.0.asset"),
        (
            "  - kind: beta\n    asset: SOL\n    ratio: 1\n    hedge_with: BTC/USD:BTC\n",
            "rules.0.hedge_with",
        ),
    ],
)
def test_every_way_of_asking_for_inverse_is_caught(tmp_path: Path, rule: str, path: str) -> None:
    (problem,) = _problems(tmp_path, "exchange:\n  id: weex\nrules:\n" + rule)
    assert problem.startswith(path + " (line ")


def test_linear_hedges_on_weex_are_fine() -> None:
    config = parse(
        "exchange:\n  id: weex\nrules:\n  - kind: beta\n    asset: SOL\n    ratio: 1\n"
        "    hedge_with: ETH\n    contract: linear_perp\n"
    )
    assert config.exchange.id == "weex"


def test_existing_configs_keep_working_without_sources() -> None:
    config = parse("exchange:\n  id: bybit\nrules:\n  - asset: BTC\n    ratio: 1\n")
    assert config.holdings.sources == []


def test_two_emulator_accounts_with_their_own_credentials() -> None:
    config = parse(TWO_ACCOUNTS)
    (source,) = config.holdings.sources
    assert (source.label, source.exchange, source.url, source.assets) == (
        "sol-bag",
        "bybit",
        "http://127.0.0.1:8124",
        ["SOL"],
    )
    environ = {"HEDGE_KEY": "k1", "HEDGE_SECRET": "s1", "BAG_KEY": "k2", "BAG_SECRET": "s2"}
    hedging = resolve_credentials(config.exchange, environ)
    bag = resolve_credentials(source.exchange_config(), environ)
    assert hedging.api_key.get_secret_value() == "k1"
    assert (bag.api_key.get_secret_value(), bag.secret.get_secret_value()) == ("k2", "s2")


def test_a_source_needs_its_own_credentials(tmp_path: Path) -> None:
    text = TWO_ACCOUNTS.replace("      api_key_env: BAG_KEY\n", "")
    (problem,) = _problems(tmp_path, text)
    assert problem.startswith("holdings.sources.0.api_key_env")


async def test_spot_source_port_points_at_its_own_url() -> None:
    config = parse(TWO_ACCOUNTS)
    (source,) = config.holdings.sources
    credentials = Credentials(api_key=SecretStr("k2"), secret=SecretStr("s2"))
    opened = open_spot_source(source, credentials)
    try:
        assert set(opened.port.resolved_api_urls().values()) == {"http://127.0.0.1:8124"}
        assert opened.port.client.apiKey == "k2"
    finally:
        await opened.close()


async def test_sources_merge_into_one_spot_mapping() -> None:
    config = parse(TWO_ACCOUNTS)
    (source,) = config.holdings.sources
    balance = {"total": {"SOL": 1_000, "USDT": 12.5, "BTC": 0}}
    client = RecordingClient(offline_exchange("bybit"), {"fetch_balance": balance})
    from bot.exchange.ccxt_port import CcxtPort
    from bot.exchange.spot_sources import source_profile

    spot = SpotSource(source, CcxtPort(client, source_profile(source)))
    merged = await read_spot_sources({"BTC": Decimal("0.5")}, [spot])
    assert merged == {"BTC": Decimal("0.5"), "SOL": Decimal(1_000)}
    assert client.named("fetch_balance") == [({"type": "spot"},)]


def test_exchanges_json_lists_every_profile() -> None:
    result = CliRunner().invoke(app, ["exchanges", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["exchange"]: row for row in json.loads(result.output)["exchanges"]}
    assert set(rows) == set(PROFILES)
    for exchange_id, profile in PROFILES.items():
        row = rows[exchange_id]
        assert row["inverse_perps"] == profile.inverse_perps
        assert row["linear_perps"] == profile.linear_perps
        assert row["dated_futures"] == profile.dated_futures
        assert row["sandbox"] == profile.sandbox
        assert row["set_leverage"] == profile.supports_set_leverage
        assert row["client_ids"]["param"] == profile.client_id_param
        assert row["amount_unit"] == profile.amount_unit
    assert rows["mexc"]["sandbox"] == "none"
    assert rows["binancecoinm"]["sandbox"] == "demo"
    assert rows["weex"]["inverse_perps"] is False
    assert rows["deribit"]["client_ids"]["param"] == "label"


def test_exchanges_table_names_each_exchange() -> None:
    result = CliRunner().invoke(app, ["exchanges"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    for exchange_id in PROFILES:
        assert exchange_id in result.output
    assert "none (live only)" in result.output


def test_an_exchange_missing_from_ccxt_says_so() -> None:
    row = exchange_row(ExchangeProfile(ccxt_id="not_in_this_ccxt"))
    assert row["ccxt"] is False
    assert row["inverse_perps"] is False
    assert "not available in the installed ccxt" in row["quirks"]
