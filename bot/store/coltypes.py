"""Column types that behave the same on SQLite and PostgreSQL.

``DecimalText`` keeps money and contract counts exact: a ``Decimal`` is stored as canonical
fixed-point text (see :func:`canonical_decimal`). SQLite's ``NUMERIC`` would go through float and
warn; storing text on PostgreSQL too keeps both backends byte-for-byte alike. Because the text is
canonical, SQL equality against a bound ``Decimal`` works; ordering and arithmetic in SQL do not
(the text compares lexically), so compute in Python.

``UTCDateTime`` accepts only timezone-aware datetimes, stores them in UTC and always returns aware
UTC datetimes. On SQLite the stored value is SQLAlchemy's fixed-width text form, so ``ORDER BY``
and ``max()`` on it are chronological.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def canonical_decimal(value: Decimal | int) -> str:
    """The one text form of a finite number: fixed-point, no exponent, no trailing zeros.

    ``Decimal("1.10")`` and ``Decimal("1.1")`` both give ``"1.1"``; ``Decimal("1E+3")`` gives
    ``"1000"``; zero of any sign or exponent gives ``"0"``. No context rounding is applied, so
    every digit survives. Floats are refused: they are not exact.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"expected Decimal or int, got {type(value).__name__}")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"cannot store a non-finite Decimal: {number}")
    if number.is_zero():
        return "0"
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


class DecimalText(TypeDecorator[Decimal]):
    """An exact ``Decimal`` stored as canonical text (``TEXT`` on both backends)."""

    impl = Text
    cache_ok = True

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else canonical_decimal(value)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant; naive datetimes are refused rather than guessed at."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone-aware one")
        value = value.astimezone(UTC)
        # SQLite has no time zones: store the UTC wall time and re-attach UTC on the way out.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"database returned {type(value).__name__} for a timestamp")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
