"""What ``run`` refuses as it starts, refused by the config already (so by ``check-config`` too):
an exchange id without an adapter profile, a rule symbol no exchange can list, and (with
``startup_checks``) a rule market a simulated exchange with fixed prices does not list.

Each problem names its YAML path and line; each YAML text starts on line 1.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config.exchange_ids import PROFILED_EXCHANGE_IDS, SUPPORTED_EXCHANGE_IDS
from bot.config.loader import ConfigError, load_config, parse_config
from bot.config.market_checks import SIM_STABLECOINS, sim_markets
from bot.exchange.profiles import PROFILES
from bot.sim.engine import SimExchange
from bot.sim.params import STABLECOINS


def problems(tmp_path: Path, text: str, *, startup_checks: bool = False) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, startup_checks=startup_checks)
    return [str(problem) for problem in caught.value.problems]


# --- exchange.id ---------------------------------------------------------------------------------


def test_the_supported_ids_are_the_adapters_profiles_and_sim() -> None:
    assert set(PROFILED_EXCHANGE_IDS) == set(PROFILES)
    assert set(SUPPORTED_EXCHANGE_IDS) == {*PROFILES, "sim"}


KRAKEN = """\
exchange:
  id: kraken
rules:
  - {asset: BTC, ratio: 1}
"""
SUPPORTED = "binancecoinm, bingx, bybit, deribit, mexc, okx, weex, sim"


def test_an_unsupported_exchange_id_names_path_line_value_and_the_supported_ids(
    tmp_path: Path,
) -> None:
    assert problems(tmp_path, KRAKEN) == [
        f"exchange.id (line 2): exchange 'kraken' is not supported (supported: {SUPPORTED}; "
        "see `hedgebot exchanges`)"
    ]


def test_an_accounts_exchange_id_is_checked_too(tmp_path: Path) -> None:
    text = """\
exchange:
  id: bybit
rules:
  - {asset: BTC, ratio: 1}
accounts:
  - name: second
    exchange:
      id: binance
    rules:
      - {asset: ETH, ratio: 1}
"""
    [problem] = problems(tmp_path, text)
    assert problem.startswith("accounts.0.exchange.id (line 8): exchange 'binance' is not")


@pytest.mark.parametrize("exchange_id", SUPPORTED_EXCHANGE_IDS)
def test_every_supported_id_is_accepted(tmp_path: Path, exchange_id: str) -> None:
    sim = "\n  sim: {prices: {BTC: 50000}}" if exchange_id == "sim" else ""
    rule = "{asset: BTC, ratio: 1}"
    if not PROFILES.get(exchange_id, PROFILES["bybit"]).inverse_perps:
        rule = "{asset: BTC, ratio: 1, instrument: BTC/USDT:USDT}"
    text = f"exchange:\n  id: {exchange_id}{sim}\nrules:\n  - {rule}\n"
    assert parse_config(text, tmp_path, startup_checks=True).exchange.id == exchange_id


def test_a_spot_source_may_be_any_ccxt_exchange() -> None:
    """Spot sources only read balances (``spot_source_profile``): no profile is needed."""
    text = """\
exchange: {id: bybit}
holdings:
  sources:
    - {exchange: binance, api_key_env: BAG_KEY, secret_env: BAG_SECRET}
rules:
  - {asset: BTC, ratio: 1}
"""
    config = parse_config(text, Path("."), startup_checks=True)
    assert config.holdings.sources[0].exchange_config().id == "binance"


# --- rule symbols --------------------------------------------------------------------------------

RATIO = """\
exchange:
  id: bybit
rules:
  - asset: BTC
    ratio: 1
    instrument: '{symbol}'
"""
BETA = """\
exchange:
  id: bybit
rules:
  - kind: beta
    asset: SOL
    ratio: 1
    hedge_with: '{symbol}'
"""
NOT_A_CONTRACT = "expected a contract's market symbol BASE/QUOTE:SETTLE"


@pytest.mark.parametrize(
    "symbol", ["BTCUSD", "BTC-USD", "BTC/USD", "BTC/USD:", "BTC/USD :BTC", "BTC/USD:BTC/X"]
)
def test_a_symbol_no_exchange_lists_is_refused(tmp_path: Path, symbol: str) -> None:
    [ratio] = problems(tmp_path, RATIO.format(symbol=symbol))
    assert ratio.startswith(f"rules.0.instrument (line 6): {symbol!r} is not valid: ")
    assert NOT_A_CONTRACT in ratio
    if "/" in symbol:  # hedge_with without one is a coin, checked as such
        [beta] = problems(tmp_path, BETA.format(symbol=symbol))
        assert beta.startswith(f"rules.0.hedge_with (line 7): {symbol!r} is not valid: ")
        assert NOT_A_CONTRACT in beta


@pytest.mark.parametrize(
    "symbol", ["BTC/USD:BTC", "BTC/USDT:USDT", "BTC/USD:BTC-260327", "1000PEPE/USDT:USDT"]
)
def test_contract_symbols_are_accepted(tmp_path: Path, symbol: str) -> None:
    config = parse_config(RATIO.format(symbol=symbol), tmp_path, startup_checks=True)
    assert config.rules[0].instrument == symbol  # type: ignore[union-attr]
    beta = parse_config(BETA.format(symbol=symbol), tmp_path, startup_checks=True)
    assert beta.rules[0].hedge_with == symbol  # type: ignore[union-attr]


# --- markets of a simulated exchange with fixed prices ---------------------------------------

SIM = """\
exchange:
  id: sim
  sim:
    prices: {{BTC: 50000, ETH: 3000, USDT: 1}}
    inverse_perps: [BTC, ETH]
rules:
{rules}
"""


@pytest.mark.parametrize(
    ("rule", "where", "symbol"),
    [
        ("  - {asset: SOL, ratio: 1}", "rules.0.asset (line 7)", "SOL/USD:SOL"),
        ("  - {asset: USDT, ratio: 1}", "rules.0.asset (line 7)", "USDT/USD:USDT"),
        (
            "  - {asset: BTC, ratio: 1, instrument: BTC/USDT:USDT}",
            "rules.0.instrument (line 7)",
            "BTC/USDT:USDT",
        ),
        (
            "  - {kind: beta, asset: SOL, ratio: 1, hedge_with: XRP/USD:XRP}",
            "rules.0.hedge_with (line 7)",
            "XRP/USD:XRP",
        ),
    ],
)
def test_a_market_the_simulator_does_not_list_is_refused_at_startup(
    tmp_path: Path, rule: str, where: str, symbol: str
) -> None:
    text = SIM.format(rules=rule)
    [problem] = problems(tmp_path, text, startup_checks=True)
    assert problem.startswith(f"{where}: the simulated exchange lists no market {symbol} ")
    assert "it lists BTC/USD:BTC, ETH/USD:ETH" in problem
    # The backtest takes its markets from its data, not from exchange.sim.prices.
    assert parse_config(text, tmp_path).rules[0].asset in {"SOL", "USDT", "BTC"}


def test_an_accounts_sim_markets_are_checked_too(tmp_path: Path) -> None:
    text = SIM.format(rules="  - {asset: BTC, ratio: 1}") + (
        "accounts:\n"
        "  - name: two\n"
        "    exchange: {id: sim, sim: {prices: {ETH: 3000}}}\n"
        "    rules:\n"
        "      - {asset: ETH, ratio: 1}\n"
        "      - {asset: BTC, ratio: 1}\n"
    )
    [problem] = problems(tmp_path, text, startup_checks=True)
    assert problem.startswith("accounts.0.rules.1.asset (line 13): the simulated exchange lists")


def test_listed_markets_and_proxies_choosing_among_coins_pass(tmp_path: Path) -> None:
    rules = (
        "  - {asset: BTC, ratio: 1}\n"
        "  - {asset: ETH, ratio: 1, instrument: BTC/USD:BTC}\n"
        "  - {kind: beta, asset: SOL, ratio: 1, hedge_with: XRP}\n"  # run lists only what exists
    )
    config = parse_config(SIM.format(rules=rules), tmp_path, startup_checks=True)
    assert len(config.rules) == 3


def test_replayed_and_real_exchanges_are_left_to_run(tmp_path: Path) -> None:
    replay = SIM.format(rules="  - {asset: SOL, ratio: 1}").replace(
        "prices: {BTC: 50000, ETH: 3000, USDT: 1}", "replay: {path: candles}"
    )
    assert parse_config(replay, tmp_path, startup_checks=True).rules[0].asset == "SOL"
    real = RATIO.format(symbol="SOL/USD:SOL")
    assert parse_config(real, tmp_path, startup_checks=True).rules[0].asset == "BTC"


@pytest.mark.parametrize(
    "sim",
    [
        "{prices: {BTC: 50000, ETH: 3000, USDT: 1, USDC: 1}}",
        "{prices: {BTC: 50000, ETH: 3000, SOL: 150}, inverse_perps: [SOL]}",
        "{prices: {DAI: 1}}",
    ],
)
def test_the_listing_is_the_simulators(tmp_path: Path, sim: str) -> None:
    """The check's market list is the one SimExchange builds (without importing it)."""
    assert SIM_STABLECOINS == STABLECOINS
    text = f"exchange: {{id: sim, sim: {sim}}}\nrules:\n  - {{asset: BTC, ratio: 0}}\n"
    exchange = parse_config(text, tmp_path).exchange
    assert exchange.sim is not None
    built = SimExchange.from_config(exchange.sim, start=datetime(2024, 1, 1, tzinfo=UTC))
    assert sim_markets(exchange) == set(built.markets())
