"""load_config: valid files become exact Decimal-valued Configs; every problem names path and line.

Each YAML text below starts on line 1 (``\"\"\"\\``), so the expected line numbers can be read
straight off the text.
"""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from bot.config.loader import ConfigError, ConfigProblem, load_config, parse_config
from bot.config.models import Config

REPO = Path(__file__).resolve().parents[2]
KNOWN_TOP_LEVEL = ", ".join(Config.model_fields)  # the message lists them in order
NOT_A_MAPPING = "the top level must be a mapping of sections (exchange:, rules:, ...), not"

VALID = """\
exchange:
  id: sim
  sim:
    prices: {BTC: 50000, ETH: 3000}
rules:
  - asset: BTC
    ratio: 1
  - asset: ETH
    ratio: 0.7
"""


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return [str(problem) for problem in caught.value.problems]


BAD_CONFIGS: dict[str, tuple[str, list[str]]] = {
    "unknown top-level key": (
        VALID + "bogus: 1\n",
        [f"bogus (line 10): unknown key 'bogus' (known keys: {KNOWN_TOP_LEVEL})"],
    ),
    "misspelt top-level key": (
        VALID + "hedges:\n  band: 0.1\n",
        ["hedges (line 10): unknown key 'hedges' (did you mean 'hedge'?)"],
    ),
    "unknown nested key": (
        VALID + "hedge:\n  band: 0.01\n  bandd: 0.1\n",
        ["hedge.bandd (line 12): unknown key 'bandd' (did you mean 'band'?)"],
    ),
    "unknown key in a list item": (
        VALID.replace("    ratio: 0.7", "    ratoi: 0.7"),
        [
            "rules.1.ratio (line 8): missing required key 'ratio'",
            "rules.1.ratoi (line 9): unknown key 'ratoi' (did you mean 'ratio'?)",
        ],
    ),
    "ratio 1.5 in the second rule": (
        VALID.replace("ratio: 0.7", "ratio: 1.5"),
        ["rules.1.ratio (line 9): 1.5 is not valid: Input should be less than or equal to 1"],
    ),
    "value on the line after its key": (
        VALID.replace("ratio: 0.7", "ratio:\n      1.5"),
        ["rules.1.ratio (line 10): 1.5 is not valid: Input should be less than or equal to 1"],
    ),
    "negative cap": (
        VALID + "limits:\n  max_order_usd: -5\n",
        ["limits.max_order_usd (line 11): -5 is not valid: Input should be greater than 0"],
    ),
    "not a number": (
        VALID + "hedge:\n  band: two percent\n",
        ["hedge.band (line 11): 'two percent' is not valid: Input should be a valid decimal"],
    ),
    "missing exchange": (
        """\
        # no exchange section
        rules:
          - {asset: BTC, ratio: 1}
        """,
        ["exchange (line 2): missing required key 'exchange'"],
    ),
    "missing key in a rule": (
        VALID.replace("    ratio: 1\n", ""),
        ["rules.0.ratio (line 6): missing required key 'ratio'"],
    ),
    "rules empty": (
        VALID.split("rules:")[0] + "rules: []\n",
        [
            "rules (line 5): [] is not valid: "
            "List should have at least 1 item after validation, not 0"
        ],
    ),
    "rules null": (
        VALID.split("rules:")[0] + "rules:\nhedge: {band: 0.1}\n",
        ["rules (line 5): null is not valid: expected a list ('- item' lines)"],
    ),
    "duplicate asset": (
        VALID + "  - asset: BTC\n    ratio: 0.5\n",
        ["rules.2.asset (line 10): asset 'BTC' already has a rule (rules.0)"],
    ),
    "lower-case coin": (
        VALID.replace("asset: ETH", "asset: eth"),
        [
            "rules.1.asset (line 8): 'eth' is not valid: "
            "expected a coin symbol in upper case, like 'BTC' (A-Z, 0-9, at most 20)"
        ],
    ),
    "lower-case coin as a key": (
        VALID + "holdings:\n  static:\n    BTC: 1\n    sol: 100\n",
        [
            "holdings.static.sol (line 13): key 'sol' is not valid: "
            "expected a coin symbol in upper case, like 'BTC' (A-Z, 0-9, at most 20)"
        ],
    ),
    "section that is not a mapping": (
        VALID + "hedge: 5\n",
        ["hedge (line 10): 5 is not valid: expected a mapping (indented 'key: value' lines)"],
    ),
    "unknown choice": (
        VALID + "limits:\n  oversize: drop\n",
        ["limits.oversize (line 11): 'drop' is not valid: Input should be 'split' or 'clamp'"],
    ),
    "duplicate YAML key": (
        VALID + "hedge:\n  band: 0.01\n  min_order_usd: 5\n  band: 0.02\n",
        ["hedge.band (line 13): duplicate key 'band' (first on line 11)"],
    ),
    "duplicate YAML key in a flow mapping": (
        VALID.replace("{BTC: 50000, ETH: 3000}", "{BTC: 50000, BTC: 3000}"),
        ["exchange.sim.prices.BTC (line 4): duplicate key 'BTC' (first on line 4)"],
    ),
    "YAML syntax error": (
        VALID.replace("  - asset: ETH", "  - asset: ETH: x"),
        ["<yaml> (line 8): mapping values are not allowed here"],
    ),
    "unclosed flow mapping": (
        VALID.replace("{BTC: 50000, ETH: 3000}", "{BTC: 50000, ETH: 3000"),
        [
            "<yaml> (line 5): expected ',' or '}', but got ':' "
            "(while parsing a flow mapping on line 4)"
        ],
    ),
    "tab indentation": (
        VALID + "hedge:\n\tband: 0.1\n",
        ["<yaml> (line 11): found character '\\t' that cannot start any token"],
    ),
    "exchange id sim without sim section": (
        """\
        exchange:
          id: sim
        rules:
          - {asset: BTC, ratio: 1}
        """,
        ["exchange.sim (line 1): exchange.id 'sim' needs an 'exchange.sim' section"],
    ),
    "sim without prices or replay": (
        VALID.replace("    prices: {BTC: 50000, ETH: 3000}", "    fee_rate: 0.001"),
        ["exchange.sim (line 3): give either 'prices' (fixed USD prices by coin) or 'replay'"],
    ),
    "bad replay start": (
        VALID.replace(
            "    prices: {BTC: 50000, ETH: 3000}",
            "    replay:\n      path: data\n      start: yesterday",
        ),
        [
            "exchange.sim.replay.start (line 6): 'yesterday' is not valid: "
            "expected an ISO 8601 timestamp like '2024-01-01T00:00:00Z'"
        ],
    ),
    "database URL with an unknown driver": (
        VALID + "database:\n  url: mysql://bot:hunter2@db/hedgebot\n",
        [
            "database.url (line 11): 'mysql://bot:***@db/hedgebot' is not valid: "
            "the URL must start with 'sqlite+aiosqlite://' or 'postgresql+asyncpg://'"
        ],
    ),
    "database URL with a bad port": (
        VALID + "database:\n  url: postgresql+asyncpg://bot:hunter2@db:54x2/hedgebot\n",
        [
            "database.url (line 11): 'postgresql+asyncpg://bot:***@db:54x2/hedgebot' is not "
            "valid: cannot parse it as a database URL (check the host and port)"
        ],
    ),
    "an API key pasted where its variable's name belongs": (
        VALID.replace("  id: sim\n", "  id: sim\n  api_key_env: xK9fQ2mLp0aZ7\n"),
        [
            "exchange.api_key_env (line 3): expected the NAME of an environment variable "
            "(A-Z, 0-9 and _), not the key itself"
        ],
    ),
    "top level is a list": (
        "- exchange: sim\n- rules: []\n",
        [f"<yaml> (line 1): {NOT_A_MAPPING} a list"],
    ),
    "top level is text": (
        "# a comment\nhedgebot\n",
        [f"<yaml> (line 2): {NOT_A_MAPPING} the text 'hedgebot'"],
    ),
    "empty file": ("", ["<yaml>: the config file is empty"]),
    "only comments": ("# exchange:\n#   id: sim\n", ["<yaml>: the config file is empty"]),
    "several problems at once": (
        """\
        exchange:
          id: sim
          sim:
            prices: {BTC: -1}
          colour: blue
        rules:
          - asset: BTC
            ratio: 2
        hedge:
          bandd: 0.1
        limits:
          max_order_usd: -5
        database:
          url: mysql://x
        """,
        [
            "exchange.sim.prices.BTC (line 4): -1 is not valid: Input should be greater than 0",
            "exchange.colour (line 5): unknown key 'colour' (known keys: id, testnet, url, "
            "api_key_env, secret_env, api_key_file, secret_file, sim, embedded_emulator, "
            "timeout_ms, order_lookup_grace_seconds, allow_withdraw_permission, "
            "pause_on_unavailable_seconds, adopt_positions, markets_refresh_seconds)",
            "rules.0.ratio (line 8): 2 is not valid: Input should be less than or equal to 1",
            "hedge.bandd (line 10): unknown key 'bandd' (did you mean 'band'?)",
            "limits.max_order_usd (line 12): -5 is not valid: Input should be greater than 0",
            "database.url (line 14): 'mysql://x' is not valid: "
            "the URL must start with 'sqlite+aiosqlite://' or 'postgresql+asyncpg://'",
        ],
    ),
    "several duplicate keys at once": (
        """\
        exchange:
          id: sim
          id: bybit
        rules:
          - {asset: BTC, ratio: 1, ratio: 0.5}
        rules: []
        """,
        [
            "exchange.id (line 3): duplicate key 'id' (first on line 2)",
            "rules.0.ratio (line 5): duplicate key 'ratio' (first on line 5)",
            "rules (line 6): duplicate key 'rules' (first on line 4)",
        ],
    ),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_names_path_line_and_reason(tmp_path: Path, case: str) -> None:
    text, expected = BAD_CONFIGS[case]
    assert problems(tmp_path, text) == expected


def test_error_str_lists_every_problem_one_per_line(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "hedge:\n  bandd: 0.1\nlimits:\n  max_order_usd: -5\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        "hedge.bandd (line 11): unknown key 'bandd' (did you mean 'band'?)\n"
        "limits.max_order_usd (line 13): -5 is not valid: Input should be greater than 0"
    )
    assert caught.value.source == path


def test_problem_without_a_line() -> None:
    assert str(ConfigProblem("<yaml>", None, "empty")) == "<yaml>: empty"
    assert str(ConfigProblem("rules.0.ratio", 12, "bad")) == "rules.0.ratio (line 12): bad"


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    assert str(caught.value) == f"<file>: cannot read config file {missing}: it does not exist"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(caught.value).startswith(f"<file>: cannot read config file {tmp_path}: ")


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"exchange:\n  id: caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert (
        str(caught.value)
        == f"<file>: cannot read config file {path}: it is not UTF-8 text (byte 19)"
    )


def test_url_password_never_shown(tmp_path: Path) -> None:
    text = VALID + "database:\n  url: postgresql://bot:s3cr3t-pw@db:5432/hedgebot\n"
    assert "s3cr3t-pw" not in "\n".join(problems(tmp_path, text))


# --- valid configs ------------------------------------------------------------------------------


DECIMALS = """\
exchange:
  id: sim
  sim:
    prices: {BTC: 50000, ETH: 3000.5}
    fee_rate: 1e-4
rules:
  - {asset: BTC, ratio: 1}
  - {asset: ETH, ratio: 0.7}
holdings:
  static: {BTC: 0.1, ETH: 1.23456789}
hedge:
  band: 0.015
  min_order_usd: 12.5
  leverage: 3
limits:
  max_order_usd: 25000.1
schedule:
  interval_seconds: 0.25
"""


def test_decimals_are_exactly_as_written(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, DECIMALS))
    assert config.rules[1].ratio == Decimal("0.7")
    assert str(config.rules[1].ratio) == "0.7"
    assert config.rules[0].ratio == Decimal(1)
    assert config.holdings.static == {"BTC": Decimal("0.1"), "ETH": Decimal("1.23456789")}
    assert str(config.hedge.band) == "0.015"
    assert config.hedge.min_order_usd == Decimal("12.5")
    assert config.hedge.leverage == Decimal(3)
    assert str(config.limits.max_order_usd) == "25000.1"
    assert config.schedule.interval_seconds == 0.25
    assert config.exchange.sim is not None
    assert config.exchange.sim.prices == {"BTC": Decimal(50000), "ETH": Decimal("3000.5")}
    assert config.exchange.sim.fee_rate == Decimal("0.0001")
    decimals = (config.rules[1].ratio, config.hedge.band, config.limits.max_order_usd)
    assert all(type(value) is Decimal for value in decimals)


def test_defaults_fill_what_is_left_out(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID))
    assert config == Config.model_validate(
        {
            "exchange": {"id": "sim", "sim": {"prices": {"BTC": 50000, "ETH": 3000}}},
            "rules": [{"asset": "BTC", "ratio": 1}, {"asset": "ETH", "ratio": "0.7"}],
        }
    )
    assert config.exchange.testnet is True
    assert config.database.url == "sqlite+aiosqlite:///hedgebot.sqlite"
    assert not config.is_mainnet


MERGED_RULES = """\
exchange:
  id: sim
  sim:
    prices: {BTC: 50000, ETH: 3000}
rules:
  - &base
    asset: BTC
    ratio: RATIO
  - <<: *base
    asset: ETH
"""


def test_anchors_and_merge_keys(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MERGED_RULES.replace("RATIO", "0.7")))
    assert [(rule.asset, rule.ratio) for rule in config.rules] == [
        ("BTC", Decimal("0.7")),
        ("ETH", Decimal("0.7")),
    ]


def test_error_in_a_merged_key_points_at_the_item(tmp_path: Path) -> None:
    assert problems(tmp_path, MERGED_RULES.replace("RATIO", "1.5")) == [
        "rules.0.ratio (line 8): 1.5 is not valid: Input should be less than or equal to 1",
        "rules.1.ratio (line 9): 1.5 is not valid: Input should be less than or equal to 1",
    ]


def test_yaml_timestamp_for_replay_start(tmp_path: Path) -> None:
    text = VALID.replace(
        "    prices: {BTC: 50000, ETH: 3000}",
        "    replay:\n      path: data\n      start: 2024-03-01T00:00:00Z",
    )
    config = load_config(write(tmp_path, text))
    assert config.exchange.sim is not None
    assert config.exchange.sim.replay is not None
    assert config.exchange.sim.replay.start == "2024-03-01T00:00:00+00:00"


def test_relative_paths_are_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    text = VALID.replace(
        "    prices: {BTC: 50000, ETH: 3000}", "    replay:\n      path: ../data/replay"
    ).replace("  id: sim\n", "  id: sim\n  api_key_file: keys/api.key\n")
    write(tmp_path / "conf", text)
    monkeypatch.chdir(tmp_path)  # from here, ../data/replay would be outside tmp_path
    config = load_config(Path("conf/config.yaml"))
    assert config.exchange.sim is not None
    assert config.exchange.sim.replay is not None
    replay = config.exchange.sim.replay.path
    assert replay.is_absolute()
    assert replay.resolve() == (tmp_path / "data" / "replay").resolve()
    assert config.exchange.api_key_file is not None
    assert config.exchange.api_key_file.resolve() == (tmp_path / "conf/keys/api.key").resolve()


def test_absolute_and_home_paths_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    text = VALID.replace(
        "  id: sim\n",
        f"  id: sim\n  api_key_file: {tmp_path}/abs.key\n  secret_file: ~/.hedgebot/secret\n",
    )
    config = load_config(write(tmp_path, text))
    assert config.exchange.api_key_file == tmp_path / "abs.key"
    assert config.exchange.secret_file == tmp_path / "home" / ".hedgebot" / "secret"


def test_parse_config_without_a_file(tmp_path: Path) -> None:
    config = parse_config(
        VALID.replace("prices: {BTC: 50000, ETH: 3000}", "replay: {path: candles}"), tmp_path
    )
    assert config.exchange.sim is not None
    assert config.exchange.sim.replay is not None
    assert config.exchange.sim.replay.path == tmp_path / "candles"


EXAMPLES = sorted((REPO / "config").glob("*.yaml"))


def test_the_examples_exist() -> None:
    names = {path.name for path in EXAMPLES}
    assert {"example-bybit-testnet.yaml", "example-postgres.yaml"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_shipped_examples_load(path: Path) -> None:
    config = load_config(path)
    assert config.rules
    assert not config.is_mainnet


def test_bybit_example_reads_secrets_from_named_variables() -> None:
    config = load_config(REPO / "config" / "example-bybit-testnet.yaml")
    assert config.exchange.id == "bybit"
    assert config.exchange.testnet is True
    assert (config.exchange.api_key_env, config.exchange.secret_env) == (
        "HEDGEBOT_BYBIT_KEY",
        "HEDGEBOT_BYBIT_SECRET",
    )
    assert config.holdings.static == {"BTC": Decimal("1.25"), "ETH": Decimal(12)}
    assert [(rule.asset, rule.ratio) for rule in config.rules] == [
        ("BTC", Decimal(1)),
        ("ETH", Decimal("0.7")),
    ]


def test_postgres_example_uses_asyncpg() -> None:
    config = load_config(REPO / "config" / "example-postgres.yaml")
    assert config.database.url.startswith("postgresql+asyncpg://")
