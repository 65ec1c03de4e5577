"""data/backtest is the row slice its README describes: the checksums, row counts and ranges in
the README are the files' own, and every file loads as backtest data."""

from __future__ import annotations

import gzip
import hashlib
import re

from tests.helpers import REPO

FOLDER = REPO / "data" / "backtest"


def readme_rows() -> list[tuple[str, int, str, str, str]]:
    text = (FOLDER / "README.md").read_text()
    pattern = r"^\| `([^`]+)` \| ([\d,]+) \| ([\d: -]+) \| ([\d: -]+) \| `([0-9a-f]{64})` \|$"
    return [
        (name, int(rows.replace(",", "")), first.strip(), last.strip(), digest)
        for name, rows, first, last, digest in re.findall(pattern, text, re.M)
    ]


def test_the_readme_describes_every_file_exactly() -> None:
    rows = readme_rows()
    assert sorted(name for name, *_ in rows) == sorted(
        p.name for p in FOLDER.iterdir() if p.suffix == ".gz"
    )
    for name, count, first, last, digest in rows:
        text = gzip.decompress((FOLDER / name).read_bytes())
        assert hashlib.sha256(text).hexdigest() == digest, name
        lines = text.decode().splitlines()
        assert len(lines) - 1 == count, name
        assert lines[1][:16].replace("T", " ") == first, name
        assert lines[-1][:16].replace("T", " ") == last, name
