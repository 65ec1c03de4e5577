"""docs/emulator-admin.md documents every admin route and fault kind, and its examples work.

Every ```http example (``METHOD /path`` then an optional JSON body) is sent, in the order of the
page, to an emulator set up as the page says; each answer must have the ``ok`` and the shape
(the same keys; lists compared by their first item) of the ```json block after it, if any.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.core.types import OrderRequest
from bot.emulator import start_emulator
from bot.emulator.admin import ADMIN_ROUTES
from bot.emulator.clock import CLOCK_MODES
from bot.emulator.faults import Fault, FaultKind, parse_fault
from tests.emulator.conftest import sim_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "emulator-admin.md"
BLOCK = re.compile(r"```(http|json)\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Example:
    method: str
    path: str
    body: dict[str, Any] | None
    answer: dict[str, Any] | None


def examples(text: str) -> list[Example]:
    """The page's ```http requests, each with the ```json block right after it as its answer."""
    found: list[Example] = []
    previous_end = -1
    for match in BLOCK.finditer(text):
        kind, content = match.groups()
        if kind == "http":
            first, _, rest = content.partition("\n")
            method, path = first.split()
            body = json.loads(rest) if rest.strip() else None
            found.append(Example(method, path, body, None))
        elif found and not text[previous_end : match.start()].strip():
            last = found[-1]
            found[-1] = Example(last.method, last.path, last.body, json.loads(content))
        previous_end = match.end() if kind == "http" else -1
    return found


def same_shape(documented: Any, actual: Any, where: str = "answer") -> None:
    if isinstance(documented, dict):
        assert isinstance(actual, dict), where
        assert set(actual) == set(documented), f"{where}: keys {sorted(actual)}"
        for key, value in documented.items():
            same_shape(value, actual[key], f"{where}.{key}")
    elif isinstance(documented, list):
        assert isinstance(actual, list), where
        if documented and actual:
            same_shape(documented[0], actual[0], f"{where}[0]")


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_admin_route_has_a_section_and_a_table_row(doc: str) -> None:
    for method, path, _ in ADMIN_ROUTES:
        assert f"### `{method} {path}`" in doc, (method, path)
        assert f"| `{method}` | `{path}` |" in doc, (method, path)


def test_every_admin_route_has_an_example(doc: str) -> None:
    shown = {(example.method, example.path.partition("?")[0]) for example in examples(doc)}
    assert {(method, path) for method, path, _ in ADMIN_ROUTES} <= shown


def test_the_page_documents_no_route_that_does_not_exist(doc: str) -> None:
    routes = {(method, path) for method, path, _ in ADMIN_ROUTES}
    headed = set(re.findall(r"^### `(GET|POST|DELETE) (/admin/\S+)`$", doc, re.MULTILINE))
    assert headed == routes


def test_every_fault_kind_and_field_is_documented(doc: str) -> None:
    for kind in FaultKind:
        assert f"#### `{kind.value}`" in doc, kind
    for field in fields(Fault):
        if field.name != "fault_id":
            assert f"| `{field.name}` |" in doc, field.name
    for mode in CLOCK_MODES:
        assert f"`{mode}`" in doc, mode


def test_every_fault_kind_has_a_valid_example(doc: str) -> None:
    bodies = [e.body for e in examples(doc) if e.path == "/admin/faults" and e.method == "POST"]
    kinds = {parse_fault(body or {}).kind for body in bodies}
    assert kinds == set(FaultKind)


async def test_every_example_works_as_shown(doc: str) -> None:
    running = await start_emulator(
        sim_config(), start=datetime(2024, 3, 1, tzinfo=UTC), follow_wall_clock=False
    )
    engine = running.engine
    try:
        engine.create_order(
            OrderRequest("BTC/USD:BTC", "sell", Decimal(1000), False, "hb-1-btc-sell")
        )
        engine.spot_order("BTC/USDT", "sell", Decimal("0.1"), "hb-spot-1")
        engine.transfer("BTC", Decimal("0.1"), "spot", "margin", transfer_id="hb-transfer-1")
        async with aiohttp.ClientSession() as session:
            async with session.get(running.url + "/v5/market/time") as response:
                assert response.status == 200
            for example in examples(doc):
                async with session.request(
                    example.method, running.url + example.path, json=example.body
                ) as response:
                    answer = await response.json()
                where = f"{example.method} {example.path} {example.body}"
                expected_ok = example.answer["ok"] if example.answer else True
                assert answer["ok"] is expected_ok, (where, answer)
                assert response.status == (200 if expected_ok else 400), where
                if example.answer is not None:
                    same_shape(example.answer, answer, where)
    finally:
        await running.stop()
