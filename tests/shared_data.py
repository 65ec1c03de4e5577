"""Where the real market history lives: shared/data beside the repository (as on CI), or
HEDGEBOT_SHARED_DATA. Tests that need it fail (never skip) when it is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HEDGEBOT_SHARED_DATA", REPO.parent / "shared" / "data"))


def require(path: Path) -> Path:
    """``path`` if it exists; otherwise fail the test with a clear message."""
    if not path.exists():
        pytest.fail(
            f"real market data not found: {path} (expected shared/data beside the repository, "
            "or set HEDGEBOT_SHARED_DATA)"
        )
    return path
