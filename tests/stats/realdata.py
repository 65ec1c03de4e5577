"""Fast loading of the real hourly spot candles in shared/data/spot_1h (csv + numpy)."""

from __future__ import annotations

import csv
import gzip
from functools import cache

import numpy as np

from bot.stats.returns import CloseSeries
from tests.shared_data import SHARED_DATA, require

DATA_DIR = SHARED_DATA
SPOT_1H = DATA_DIR / "spot_1h"
HOUR = 3600


@cache
def hourly_closes(coin: str) -> CloseSeries:
    """Hourly closes of ``<coin>/USDT`` (Binance spot), open times in epoch seconds UTC.

    Fails the calling test when the data folder is missing (never a silent skip).
    """
    path = require(SPOT_1H / f"binance_spot_{coin}USDT_1h.csv.gz")
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        assert header[0] == "timestamp"
        assert header[4] == "close"
        rows = [(row[0], row[4]) for row in reader]
    stamps = np.array([t.removesuffix("Z") for t, _ in rows], dtype="datetime64[s]")
    closes = np.array([c for _, c in rows], dtype=np.float64)
    return CloseSeries(HOUR, stamps.astype(np.int64), closes)
