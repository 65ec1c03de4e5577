"""Field types and helpers shared by every config section (coins, paths, env names)."""

from __future__ import annotations

import contextlib
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from bot.core.bounds import MAX_COINS, MAX_PRICE_USD, MAX_USD

# Every number in the schema has a lower and an upper bound (tests/config/test_bounds.py checks
# it): an unbounded one lets a typo through check-config to fail later, in the daemon's ticks.
Fraction = Annotated[Decimal, Field(ge=0, le=1)]
Price = Annotated[Decimal, Field(gt=0, le=MAX_PRICE_USD)]  # USD per coin
PositiveUsd = Annotated[Decimal, Field(gt=0, le=MAX_USD)]  # a USD cap or threshold
Coins = Annotated[Decimal, Field(ge=0, le=MAX_COINS)]  # an amount of one coin
PositiveCoins = Annotated[Decimal, Field(gt=0, le=MAX_COINS)]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///hedgebot.sqlite"

ERROR_AT = "config_error_at"  # the error type of error_at(); ctx["at"] extends the error's loc


def error_at(message: str, *at: str | int) -> PydanticCustomError:
    """A validation error about the node ``at`` below the one being validated.

    Pydantic reports a validator's error at the validated field or model; the loader appends
    ``ctx["at"]`` to that location, so the user sees e.g. ``rules.1.asset`` instead of ``rules``.
    """
    return PydanticCustomError(ERROR_AT, message, {"at": at})


def _resolve_path(path: Path, info: ValidationInfo) -> Path:
    with contextlib.suppress(RuntimeError):  # "~user" for an unknown user: leave it as written
        path = path.expanduser()
    base_dir = info.context.get("base_dir") if isinstance(info.context, dict) else None
    if base_dir is not None and not path.is_absolute():
        return Path(base_dir) / path
    return path


def _coin(symbol: str) -> str:
    if not re.fullmatch(r"[A-Z0-9]{1,20}", symbol):
        raise ValueError("expected a coin symbol in upper case, like 'BTC' (A-Z, 0-9, at most 20)")
    return symbol


def _env_var_name(name: str) -> str:
    if not re.fullmatch(r"[A-Z_][A-Z0-9_]{0,99}", name):
        raise ValueError(
            "expected the NAME of an environment variable (A-Z, 0-9 and _), not the key itself"
        )
    return name


Coin = Annotated[str, AfterValidator(_coin)]
ConfigPath = Annotated[Path, AfterValidator(_resolve_path)]
# Upper case only, so that a key pasted in by mistake is rejected (and never echoed).
EnvVarName = Annotated[str, AfterValidator(_env_var_name)]


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
