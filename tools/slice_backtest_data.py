"""Rebuild ``data/backtest/`` from the shared developer data set: a row slice, nothing else.

    python3 tools/slice_backtest_data.py ../shared/data

Copies the header and every row whose timestamp (first 20 characters, UTC) lies in
``[FIRST, LAST]`` byte for byte; gzip level 9, mtime 0 and no file name, so that re-running it
reproduces the committed files exactly (tests/backtest/test_bundled_data.py checks their
SHA-256 against data/backtest/README.md).
"""

from __future__ import annotations

import gzip
import hashlib
import sys
from pathlib import Path

FIRST = "2023-01-01T00:00:00Z"
LAST = "2024-12-31T23:00:00Z"
FILES = (
    "spot_1h/binance_spot_BTCUSDT_1h.csv.gz",
    "spot_1h/binance_spot_ETHUSDT_1h.csv.gz",
    "spot_1h/binance_spot_SOLUSDT_1h.csv.gz",
    "perp_binance_usdm/binance_usdm_BTCUSDT_funding.csv",
    "perp_binance_usdm/binance_usdm_ETHUSDT_funding.csv",
    "perp_binance_usdm/binance_usdm_SOLUSDT_funding.csv",
)
OUT = Path(__file__).resolve().parents[1] / "data" / "backtest"


def read_lines(path: Path) -> list[str]:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", newline="") as handle:
            return handle.readlines()
    return path.read_text().splitlines(keepends=True)


def main(shared: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        lines = read_lines(shared / name)
        kept = [lines[0], *(line for line in lines[1:] if FIRST <= line[:20] <= LAST)]
        text = "".join(kept).encode()
        target = OUT / (Path(name).name.removesuffix(".gz") + ".gz")
        with (
            target.open("wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as packed,
        ):
            packed.write(text)
        digest = hashlib.sha256(text).hexdigest()
        print(f"{target.name}  rows {len(kept) - 1:,}  {kept[1][:20]} .. {kept[-1][:20]}  {digest}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
