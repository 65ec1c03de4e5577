"""The configuration reference: generated from the schema, complete, and committed as it is.

``docs/configuration.md`` must be exactly what ``hedgebot config reference`` prints, every field
of every model reachable from ``Config`` must carry a description, and every such field must
appear in the reference.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from bot.cli.config_reference import REGENERATE, render_reference, schema_keys
from bot.config.models import Config
from tests.helpers import run_cli

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "docs" / "configuration.md"


def reachable_models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """Every model below ``model`` (itself included), found from the annotations alone."""
    found: list[type[BaseModel]] = []

    def visit(annotation: Any) -> None:
        origin = get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.append(annotation)
                for field in annotation.model_fields.values():
                    visit(field.annotation)
        elif origin in (Annotated, list, dict, Union, types.UnionType):
            for arg in get_args(annotation):
                visit(arg)

    visit(model)
    return found


def schema_fields() -> set[tuple[type[BaseModel], str]]:
    return {(model, name) for model in reachable_models(Config) for name in model.model_fields}


def test_the_committed_reference_is_what_the_command_prints() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render_reference(), (
        f"docs/configuration.md is out of date with the config schema; regenerate it with "
        f"`{REGENERATE}` and commit the result"
    )


def test_the_cli_prints_the_reference() -> None:
    result = run_cli("config", "reference")
    assert result.returncode == 0, result.stderr
    assert result.stdout == render_reference()


def test_every_field_of_the_schema_has_a_description() -> None:
    missing = sorted(
        f"{model.__name__}.{name}"
        for model, name in schema_fields()
        if not (model.model_fields[name].description or "").strip()
    )
    assert missing == [], "fields without Field(description=...): " + ", ".join(missing)


def test_every_field_of_the_schema_is_in_the_reference() -> None:
    documented = {(key.owner, key.field) for key in schema_keys()}
    assert documented == schema_fields()


def test_every_documented_key_has_a_type_a_default_and_a_description() -> None:
    keys = schema_keys()
    assert len(keys) >= len(schema_fields())
    for key in keys:
        assert key.value_type, key.path
        assert key.default, key.path
        assert key.description, key.path
        assert "\n" not in key.description, key.path


def test_the_reference_states_its_key_count() -> None:
    assert f"\n{len(schema_keys())} keys in " in render_reference()


@pytest.mark.parametrize(
    "prefix",
    [
        "execution.",
        "rules[].vol_trigger.",
        "exchange.url",
        "exchange.sim.",
        "exchange.sim.replay.",
        "accounts[].",
        "alerts.rules.funding.",
        "alerts.rules.daemon.",
        "collateral.",
        "holdings.sources[].",
        "rules[].windows[].",
        "http.",
    ],
)
def test_once_undocumented_keys_are_documented(prefix: str) -> None:
    reference = render_reference()
    paths = [key.path for key in schema_keys() if key.path.startswith(prefix)]
    assert paths, prefix
    for path in paths:
        assert f"| `{path}` |" in reference


def test_every_execution_key_is_listed() -> None:
    from bot.config.models import ExecutionConfig

    paths = {key.path for key in schema_keys()}
    assert {f"execution.{name}" for name in ExecutionConfig.model_fields} <= paths


def test_each_rule_kind_has_its_own_table() -> None:
    reference = render_reference()
    assert "## `rules[]` with `kind: ratio` (the default)" in reference
    assert "## `rules[]` with `kind: beta`" in reference
    kinds = [key.default for key in schema_keys() if key.path == "rules[].kind"]
    assert kinds == ["`ratio`", "**required**"]


def row(path: str) -> tuple[str, str, str]:
    (key,) = [key for key in schema_keys() if key.path == path]
    return key.value_type, key.default, key.allowed


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("exchange.id", ("string", "**required**", "at least 1 character")),
        ("exchange.url", ("string or null", "`null`", "")),
        ("exchange.timeout_ms", ("integer", "`10000`", "[500, 120000]")),
        ("hedge.band", ("decimal or null", "`null`", "[0, 1]")),
        ("hedge.maintenance_margin_rate", ("decimal", "`0.005`", "(0, 0.5)")),
        ("execution.style", ("string", "`market`", "`market`, `limit`")),
        ("execution.limit_offset", ("decimal", "`0.0005`", "[0, 0.05]")),
        ("execution.max_slippage", ("decimal", "`0.01`", "(0, 0.5]")),
        (
            "limits.kill_switch_env",
            ("env var name or null", "`HEDGEBOT_KILL`", "a variable's name: `A-Z`, `0-9`, `_`"),
        ),
        (
            "rules[].candidates",
            (
                "list of coins",
                "`[BTC, ETH]`",
                "items: upper-case symbol, e.g. `BTC`; at least 1 item",
            ),
        ),
        ("rules[].vol_trigger.enter_above", ("number", "**required**", "(0, 100]")),
        ("rules[].estimator.half_life", ("number or null", "`null`", "(0, 100000]")),
        (
            "exchange.sim.funding_rate",
            ("map coin → decimal", "`{}`", "keys: upper-case symbol, e.g. `BTC`; values: [-1, 1]"),
        ),
        ("accounts[].name", ("string", "**required**", "pattern `^[A-Za-z0-9_.-]{1,64}$`")),
        ("accounts[].hedge", ("section or null, as `hedge`", "`null`", "")),
        ("accounts[].rules", ("list of rules, as `rules[]`", "**required**", "at least 1 item")),
        ("alerts.rules", ("section", "(its defaults)", "")),
        (
            "alerts.rules.margin_ratio.repeat_after_seconds",
            ("number or null", "`3600`", "(0, 31536000]"),
        ),
        ("alerts.rules.daemon.cooldown_seconds", ("number", "`0`", "[0, 31536000]")),
    ],
)
def test_rows_show_the_schema(path: str, expected: tuple[str, str, str]) -> None:
    assert row(path) == expected


def test_the_readme_points_at_the_reference() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    assert "(docs/configuration.md)" in section
    assert "`hedgebot config reference`" in section
    assert "(docs/emulator-admin.md)" in section
