"""Every number in the config schema has a lower and an upper bound.

An unbounded number lets a typo through ``check-config`` that fails later, where it is harder to
trace: ``schedule.misfire_grace_seconds: 100000000000000`` passed validation, then APScheduler
raised OverflowError on every tick. The walk below visits every pydantic model reachable from
``Config`` (nested sections, ``X | None``, list items, dict values, the rule union) and reads the
annotated_types bounds pydantic keeps in ``FieldInfo.metadata`` or in ``Annotated[...]``. No
field is exempt.
"""

from __future__ import annotations

import textwrap
import types
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
import pytest
from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo

from bot.config.loader import ConfigError, load_config
from bot.config.models import Config

NUMBERS = (int, float, Decimal)
LOWER = (at.Ge, at.Gt)
UPPER = (at.Le, at.Lt)


@dataclass(frozen=True)
class NumericField:
    path: str  # Model.field, with [] for a list item and {} for a dict value
    kind: str
    lower: bool
    upper: bool


def _bounds(metadata: Any) -> list[object]:
    """The annotated_types bounds among ``metadata`` (Field(...) infos are opened)."""
    found: list[object] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            found += _bounds(item.metadata)
        elif isinstance(item, at.Interval):
            found += [
                kind(value)
                for kind, value in (
                    (at.Gt, item.gt),
                    (at.Ge, item.ge),
                    (at.Lt, item.lt),
                    (at.Le, item.le),
                )
                if value is not None
            ]
        elif isinstance(item, LOWER + UPPER):
            found.append(item)
    return found


def numeric_fields(root: type[BaseModel]) -> list[NumericField]:
    """Every int/float/Decimal reachable from ``root``, with whether it is bounded each way."""
    found: list[NumericField] = []
    seen: set[type[BaseModel]] = set()

    def walk(annotation: Any, bounds: list[object], path: str) -> None:
        origin = get_origin(annotation)
        if origin is Annotated:
            inner, *metadata = get_args(annotation)
            walk(inner, bounds + _bounds(metadata), path)
        elif origin is Union or origin is types.UnionType:
            for option in get_args(annotation):
                if option is not type(None):
                    walk(option, bounds, path)  # field-level bounds apply to each option
        elif origin in (list, tuple, set, frozenset):
            for item in get_args(annotation):
                if item is not Ellipsis:
                    walk(item, [], f"{path}[]")  # a list's own bounds are about its length
        elif origin is dict:
            key, value = get_args(annotation)
            walk(key, [], f"{path}{{key}}")
            walk(value, [], f"{path}{{}}")
        elif origin is Literal:
            return  # a fixed set of values is bounded by construction
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation in seen:
                return
            seen.add(annotation)
            for name, field in annotation.model_fields.items():
                walk(field.annotation, _bounds(field.metadata), f"{annotation.__name__}.{name}")
        elif (
            isinstance(annotation, type)
            and issubclass(annotation, NUMBERS)
            and not issubclass(annotation, bool)
        ):
            found.append(
                NumericField(
                    path,
                    annotation.__name__,
                    any(isinstance(b, LOWER) for b in bounds),
                    any(isinstance(b, UPPER) for b in bounds),
                )
            )

    walk(root, [], root.__name__)
    return found


def test_every_numeric_config_field_has_a_lower_and_an_upper_bound() -> None:
    fields = numeric_fields(Config)
    unbounded = [
        f"{f.path} ({f.kind}): {'' if f.lower else 'no lower bound '}"
        f"{'' if f.upper else 'no upper bound'}".strip()
        for f in fields
        if not (f.lower and f.upper)
    ]
    assert unbounded == []
    # The walk reaches every shape the schema uses: nested sections, X | None, dict values,
    # the rule union (list items), per-account sections and the alert rules.
    paths = {f.path for f in fields}
    assert {
        "ScheduleConfig.misfire_grace_seconds",
        "SimConfig.prices{}",
        "SimBalances.spot{}",
        "HoldingsConfig.static{}",
        "CollateralConfig.max_transfer_per_day{}",
        "BetaEstimatorConfig.half_life",
        "BetaEstimatorConfig.min_observations",
        "VolTriggerConfig.enter_above",
        "FundingModifierConfig.max_cost_annualized",
        "WindowConfig.duration_hours",
        "RatioRuleConfig.ratio",
        "HedgeConfig.band",
        "NoTradeConfig.risk_aversion",
        "CarryAlerts.max_cost_per_day_usd",
        "HttpConfig.stale_after_ticks",
        "AlertsConfig.port",
    } <= paths
    assert len(fields) >= 90


class _Leaf(BaseModel):
    bare: float
    bounded: Annotated[float, Field(gt=0, le=1)]
    flag: bool
    choice: Literal[1, 2]


class _Tree(BaseModel):
    count: int
    floor_only: Annotated[Decimal, Field(ge=0)] | None = None
    both: Annotated[int, Field(ge=1, le=9)] | None = None
    field_level: Decimal = Field(Decimal(1), gt=0, lt=2)
    by_coin: dict[str, Annotated[Decimal, Field(le=5)]] = {}
    leaves: list[_Leaf] = []
    interval: Annotated[int, at.Interval(ge=0, lt=10)] = 0


def test_the_walk_finds_every_unbounded_shape() -> None:
    """The check above can fail: each shape of unbounded number is found, bounded ones are not."""
    missing = {
        (f.path, f.lower, f.upper) for f in numeric_fields(_Tree) if not (f.lower and f.upper)
    }
    assert missing == {
        ("_Tree.count", False, False),
        ("_Tree.floor_only", True, False),
        ("_Tree.by_coin{}", False, True),
        ("_Leaf.bare", False, False),
    }
    assert {f.path for f in numeric_fields(_Tree)} == {
        "_Tree.count",
        "_Tree.floor_only",
        "_Tree.both",
        "_Tree.field_level",
        "_Tree.by_coin{}",
        "_Leaf.bare",
        "_Leaf.bounded",
        "_Tree.interval",
    }


BASE = """\
exchange:
  id: sim
  sim:
    prices: {BTC: 50000}
rules:
  - asset: BTC
    ratio: 1
"""

# (the config's text, the problem's path and line); BASE has 7 lines.
ABOVE_THE_BOUND = {
    "misfire grace": (
        BASE + "schedule:\n  misfire_grace_seconds: 100000000000000\n",
        "schedule.misfire_grace_seconds (line 9)",
    ),
    "price": (BASE.replace("{BTC: 50000}", "{BTC: 1e10}"), "exchange.sim.prices.BTC (line 4)"),
    "coins held elsewhere": (
        BASE + "holdings:\n  static: {BTC: 1e16}\n",
        "holdings.static.BTC (line 9)",
    ),
    "order minimum": (
        BASE + "hedge:\n  min_order_usd: 2000000\n",
        "hedge.min_order_usd (line 9)",
    ),
    "order cap": (BASE + "limits:\n  max_order_usd: 1e13\n", "limits.max_order_usd (line 9)"),
    "resting limit": (
        BASE + "execution:\n  reprice_after_seconds: 86401\n",
        "execution.reprice_after_seconds (line 9)",
    ),
    "stale ticks": (BASE + "http:\n  stale_after_ticks: .inf\n", "http.stale_after_ticks (line 9)"),
    "carry alert": (
        BASE + "alerts:\n  rules:\n    carry:\n      max_cost_per_day_usd: 1e13\n",
        "alerts.rules.carry.max_cost_per_day_usd (line 11)",
    ),
    "daily transfer cap in coins": (
        BASE + "collateral:\n  max_transfer_per_day: {BTC: 1e16}\n",
        "collateral.max_transfer_per_day.BTC (line 9)",
    ),
    "beta half-life": (
        BASE.replace("  - asset: BTC\n    ratio: 1\n", "")
        + "  - kind: beta\n    asset: BTC\n    ratio: 1\n"
        + "    estimator: {method: ewma, half_life: 1e6}\n",
        "rules.0.estimator.half_life (line 9)",
    ),
}


@pytest.mark.parametrize("case", list(ABOVE_THE_BOUND))
def test_a_value_above_its_bound_names_path_and_line(tmp_path: Path, case: str) -> None:
    text, where = ABOVE_THE_BOUND[case]
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [problem] = [str(p) for p in caught.value.problems]
    assert problem.startswith(f"{where}: ")
    assert "less than or equal to" in problem


def test_the_bounds_themselves_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        BASE.replace("{BTC: 50000}", "{BTC: 1000000000}")
        + textwrap.dedent(
            """\
            schedule: {misfire_grace_seconds: 86400}
            holdings: {static: {BTC: 1000000000000000}}
            hedge: {min_order_usd: 1000000}
            limits: {max_order_usd: 1000000000000, max_total_short_usd: 1000000000000}
            """
        )
    )
    config = load_config(path)
    assert config.schedule.misfire_grace_seconds == 86_400
    assert config.exchange.sim is not None
    assert config.exchange.sim.prices["BTC"] == Decimal(10**9)
    assert config.limits.max_total_short_usd == Decimal(10**12)
