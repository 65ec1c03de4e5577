"""The ``collateral:`` section: defaults, bounds and cross-field checks, each problem with its YAML
path and line; per-account overrides; ``hedgebot check-config`` refusing a bad value.

Each YAML text starts on line 1, so expected line numbers can be read off the text: ``BASE`` has
7 lines, so ``collateral:`` is on line 8 and its first key on line 9.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.config.loader import ConfigError, parse_config
from bot.config.models import CollateralConfig, Config
from tests.helpers import run_cli, write_config

BASE = """\
exchange:
  id: sim
  sim:
    prices: {BTC: 50000, ETH: 3000}
rules:
  - asset: BTC
    ratio: 1
"""


def load(text: str) -> Config:
    return parse_config(text, base_dir=Path("."))


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(text)
    return [str(problem) for problem in caught.value.problems]


def test_defaults() -> None:
    collateral = load(BASE).collateral
    assert collateral == CollateralConfig()
    assert collateral.min_liquidation_distance == Decimal("0.5")
    assert collateral.fee_rate == Decimal("0.001")
    assert collateral.fund_from == "none"
    assert collateral.target_liquidation_distance is None
    assert collateral.release_above_distance is None
    assert collateral.target_distance == Decimal("0.75")  # 1.5 x min
    assert collateral.release_distance == Decimal("1.5")  # 3 x min
    assert collateral.max_transfer_per_day_usd == Decimal(100_000)
    assert collateral.max_transfer_per_day == {}
    assert collateral.convert is False
    assert collateral.max_convert_per_day_usd == Decimal(50_000)


def test_every_key_read_exactly() -> None:
    collateral = load(
        BASE
        + """\
collateral:
  min_liquidation_distance: 0.4
  fee_rate: 0.0006
  fund_from: spot
  target_liquidation_distance: 0.7
  release_above_distance: 2.5
  max_transfer_per_day_usd: 25000.5
  max_transfer_per_day: {BTC: 2, ETH: 0.75}
  convert: true
  max_convert_per_day_usd: 1000
"""
    ).collateral
    assert collateral == CollateralConfig(
        min_liquidation_distance=Decimal("0.4"),
        fee_rate=Decimal("0.0006"),
        fund_from="spot",
        target_liquidation_distance=Decimal("0.7"),
        release_above_distance=Decimal("2.5"),
        max_transfer_per_day_usd=Decimal("25000.5"),
        max_transfer_per_day={"BTC": Decimal(2), "ETH": Decimal("0.75")},
        convert=True,
        max_convert_per_day_usd=Decimal(1000),
    )
    assert (collateral.target_distance, collateral.release_distance) == (
        Decimal("0.7"),
        Decimal("2.5"),
    )
    assert all(type(value) is Decimal for value in collateral.max_transfer_per_day.values())


@pytest.mark.parametrize(
    ("yaml", "target", "release"),
    [
        ("min_liquidation_distance: 2", "3.0", "6"),  # both from the minimum
        ("target_liquidation_distance: 1.2", "1.2", "1.5"),  # release from the minimum
        ("release_above_distance: 0.8", "0.75", "0.8"),  # target from the minimum
        ("target_liquidation_distance: 0.5", "0.5", "1.5"),  # target == min is allowed
        ("min_liquidation_distance: 10", "15.0", "30"),  # defaults may exceed the bound of 10
    ],
)
def test_resolved_distances(yaml: str, target: str, release: str) -> None:
    collateral = load(BASE + f"collateral:\n  {yaml}\n").collateral
    assert collateral.target_distance == Decimal(target)
    assert collateral.release_distance == Decimal(release)


BAD: dict[str, tuple[str | None, list[str]]] = {
    "distance zero": (
        "  min_liquidation_distance: 0\n",
        [
            "collateral.min_liquidation_distance (line 9): 0 is not valid: "
            "Input should be greater than 0"
        ],
    ),
    "distance above 10": (
        "  min_liquidation_distance: 10.5\n",
        [
            "collateral.min_liquidation_distance (line 9): 10.5 is not valid: "
            "Input should be less than or equal to 10"
        ],
    ),
    "negative distance": (
        "  min_liquidation_distance: -0.5\n",
        [
            "collateral.min_liquidation_distance (line 9): -0.5 is not valid: "
            "Input should be greater than 0"
        ],
    ),
    "fee rate above 1%": (
        "  fee_rate: 0.02\n",
        [
            "collateral.fee_rate (line 9): 0.02 is not valid: "
            "Input should be less than or equal to 0.01"
        ],
    ),
    "negative fee rate": (
        "  fee_rate: -0.001\n",
        [
            "collateral.fee_rate (line 9): -0.001 is not valid: "
            "Input should be greater than or equal to 0"
        ],
    ),
    "unknown fund_from": (
        "  fund_from: margin\n",
        ["collateral.fund_from (line 9): 'margin' is not valid: Input should be 'none' or 'spot'"],
    ),
    "target zero": (
        "  target_liquidation_distance: 0\n",
        [
            "collateral.target_liquidation_distance (line 9): 0 is not valid: "
            "Input should be greater than 0"
        ],
    ),
    "release above 10": (
        "  release_above_distance: 11\n",
        [
            "collateral.release_above_distance (line 9): 11 is not valid: "
            "Input should be less than or equal to 10"
        ],
    ),
    "transfer cap zero": (
        "  max_transfer_per_day_usd: 0\n",
        [
            "collateral.max_transfer_per_day_usd (line 9): 0 is not valid: "
            "Input should be greater than 0"
        ],
    ),
    "coin cap zero": (
        "  max_transfer_per_day:\n    BTC: 0\n",
        [
            "collateral.max_transfer_per_day.BTC (line 10): 0 is not valid: "
            "Input should be greater than 0"
        ],
    ),
    "coin cap in lower case": (
        "  max_transfer_per_day:\n    btc: 2\n",
        [
            "collateral.max_transfer_per_day.btc (line 10): key 'btc' is not valid: "
            "expected a coin symbol in upper case, like 'BTC' (A-Z, 0-9, at most 20)"
        ],
    ),
    "convert cap negative": (
        "  max_convert_per_day_usd: -1\n",
        [
            "collateral.max_convert_per_day_usd (line 9): -1 is not valid: "
            "Input should be greater than 0"
        ],
    ),
    "convert not a bool": (
        "  convert: maybe\n",
        [
            "collateral.convert (line 9): 'maybe' is not valid: "
            "Input should be a valid boolean, unable to interpret input"
        ],
    ),
    "unknown key": (
        "  min_liquidation_distanse: 0.5\n",
        [
            "collateral.min_liquidation_distanse (line 9): unknown key "
            "'min_liquidation_distanse' (did you mean 'min_liquidation_distance'?)"
        ],
    ),
    "target below min": (
        "  min_liquidation_distance: 0.5\n  target_liquidation_distance: 0.4\n",
        [
            "collateral.target_liquidation_distance (line 10): "
            "must be at least min_liquidation_distance (0.5)"
        ],
    ),
    "release equal to target": (
        "  fund_from: spot\n  target_liquidation_distance: 1\n  release_above_distance: 1\n",
        [
            "collateral.release_above_distance (line 11): "
            "must be above target_liquidation_distance (1)"
        ],
    ),
    "release below the default target": (
        "  release_above_distance: 0.6\n",
        [
            "collateral.release_above_distance (line 9): "
            "must be above the target distance (1.5 x min_liquidation_distance = 0.75)"
        ],
    ),
    "target above the default release": (
        "  target_liquidation_distance: 2\n",
        [
            "collateral.target_liquidation_distance (line 9): must be below "
            "release_above_distance (default 3 x min_liquidation_distance = 1.5); "
            "lower it or set release_above_distance"
        ],
    ),
    "convert without funding": (
        "  max_convert_per_day_usd: 100\n  convert: true\n",
        [
            "collateral.convert (line 10): convert: true needs fund_from: spot "
            "(converted coins land in spot and must be transferred to the contract wallet)"
        ],
    ),
    "not a mapping": (
        None,
        [
            "collateral (line 8): 'neutral' is not valid: "
            "expected a mapping (indented 'key: value' lines)"
        ],
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_value_names_path_and_line(case: str) -> None:
    body, expected = BAD[case]
    text = BASE + ("collateral: neutral\n" if body is None else "collateral:\n" + body)
    assert problems(text) == expected


def test_rule_collateral_mode_is_a_different_key() -> None:
    """A rule's ``collateral: neutral|ignore`` stays what it was, next to the section."""
    config = load(
        BASE.replace("    ratio: 1\n", "    ratio: 1\n    collateral: ignore\n")
        + "collateral:\n  fund_from: spot\n"
    )
    assert config.rules[0].collateral == "ignore"
    assert config.collateral.fund_from == "spot"


ACCOUNTS = (
    BASE
    + """\
collateral:
  fund_from: spot
  min_liquidation_distance: 0.6
accounts:
  - name: second
    exchange:
      id: sim
      sim:
        prices: {BTC: 50000}
    rules:
      - {asset: BTC, ratio: 1}
    collateral:
      min_liquidation_distance: 0.8
  - name: third
    exchange:
      id: sim
      sim:
        prices: {BTC: 50000}
    rules:
      - {asset: BTC, ratio: 1}
"""
)


def test_per_account_override() -> None:
    configs = dict(load(ACCOUNTS).account_configs())
    top = CollateralConfig(fund_from="spot", min_liquidation_distance=Decimal("0.6"))
    assert configs["default"].collateral == top
    # An account's section replaces the top-level one as a whole (no key-by-key merge).
    assert configs["second"].collateral == CollateralConfig(min_liquidation_distance=Decimal("0.8"))
    assert configs["second"].collateral.target_distance == Decimal("1.2")
    assert configs["third"].collateral == top  # left out: inherited


def test_bad_value_in_an_account_names_its_path() -> None:
    text = ACCOUNTS.replace(
        "min_liquidation_distance: 0.8", "min_liquidation_distance: 0.8\n      convert: true"
    )
    assert problems(text) == [
        "accounts.0.collateral.convert (line 21): convert: true needs fund_from: spot "
        "(converted coins land in spot and must be transferred to the contract wallet)"
    ]


def test_check_config_exits_2_on_a_bad_value(tmp_path: Path) -> None:
    body = (
        BASE
        + "collateral:\n  fee_rate: 0.5\n"
        + f"database:\n  url: sqlite+aiosqlite:///{tmp_path}/x.db\n"
    )
    config = write_config(tmp_path, body)
    result = run_cli("check-config", str(config), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    stderr = " ".join(result.stderr.split())  # the console may wrap long lines
    expected = "collateral.fee_rate (line 9): 0.5 is not valid: Input should be less than or equal"
    assert f"{expected} to 0.01" in stderr
    assert not (tmp_path / "x.db").exists()


def test_check_config_accepts_a_good_section(tmp_path: Path) -> None:
    body = (
        BASE
        + "collateral:\n  fund_from: spot\n  convert: true\n  max_transfer_per_day: {BTC: 2}\n"
        + f"database:\n  url: sqlite+aiosqlite:///{tmp_path}/x.db\n"
    )
    result = run_cli("check-config", str(write_config(tmp_path, body)), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout
