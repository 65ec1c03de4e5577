"""A replay small enough to work out by hand: every number below is derived in the comments.

Book: 1 BTC in the margin wallet, nothing else; rule BTC ratio 1 on BTC/USD:BTC (1 USD contracts);
fee 0.1 %; band 1 %. Prices: 10,000 at the start (the first candle's open), then every hourly
close of UTC day d (d = 0..3) is M[d+1] with M = 10,000, 12,500, 10,000, 8,000, 10,000, so the
book is valued at the midnights at M[0..4]. Funding (Binance format) +0.0001 at 00/08/16 UTC.

Tick 0 (day 0, 00:00, P = 10,000): exposure 1 BTC = 10,000 USD, so the planner sells 10,000
contracts (face 10,000 USD). Fee = 0.001 × 10,000 / 10,000 = 0.001 BTC = 10 USD. The balance
becomes 0.999 BTC.

Afterwards (no more trades; checked below): equity(P) = 0.999 + 10,000·(1/P − 1/10,000) + F,
where F is the BTC received as funding; each settlement pays |Q|/P·f = 10,000/P × 0.0001 =
1/P BTC, i.e. exactly 1 USD at the settlement price. Day d holds three settlements (08:00, 16:00
and the next 00:00), all at M[d+1]. The hedged value H = equity × P = 10,000 − 0.001·P + P·F:

  H(mid 0) = 10,000 (recorded before the first order)
  H(mid 1) = 10,000 − 12.5 + 12,500·(3/12,500)                                = 9,990.5
  H(mid 2) = 10,000 − 10   + 10,000·(3/12,500 + 3/10,000)        = 9,990 + 5.4 = 9,995.4
  H(mid 3) = 10,000 − 8    + 8,000·(3/12,500 + 3/10,000 + 3/8,000) = 9,992 + 7.32 = 9,999.32
  H(mid 4) = 10,000 − 10   + 10,000·(0.00024 + 0.0003 + 0.000375 + 0.0003) = 9,990 + 12.15
           = 10,002.15

ΔH = −9.5, 4.9, 3.92, 2.83; mean 0.5375; squared deviations 100.75140625, 19.03140625,
11.44130625, 5.25555625, sum 136.479675, sample variance 45.493225.
Unhedged U = 1 BTC × P: ΔU = 2,500, −2,500, −2,000, 2,000; mean 0; sum of squares 20,500,000;
sample variance 6,833,333.33...
Effectiveness = 1 − 45.493225 / 6,833,333.33... = 1 − 6.657545...e-6 = 0.99999334245...

The largest gap afterwards is at mid 4: target floor(10,002.15) = 10,002 contracts vs 10,000
held, 2 USD, inside the band (1 % of 10,002 USD): one order in the whole run.
The unit hedge (a short of 1 × P) loses exactly ΔU each day: ρ = −1, ρ² = 1, β* = 1.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.backtest.helpers import run, sim_config, utc, write_binance_funding, write_candles

START = utc(2024, 1, 1)
LEVELS = [10_000, 12_500, 10_000, 8_000, 10_000]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    closes = [LEVELS[d + 1] for d in range(4) for _ in range(24)]
    write_candles(tmp_path, "BTC", START, closes, first_open=LEVELS[0])
    settlements = [(START + timedelta(hours=8 * i), "0.0001") for i in range(13)]
    write_binance_funding(tmp_path, "BTC", settlements)
    return tmp_path


def test_effectiveness_and_costs_by_hand(data: Path) -> None:
    cfg = sim_config(
        rules="  - {asset: BTC, ratio: 1}",
        margin="{BTC: 1}",
        band="0.01",
        fee="0.001",
        leverage="2",
        min_order="1",
    )
    result = run(cfg, data)

    assert (result.start, result.end, result.days) == (START, utc(2024, 1, 5), 4)
    assert result.orders == 1
    assert result.costs.turnover == Decimal(10_000)
    assert result.costs.fees == Decimal(10)  # 0.001 BTC at 10,000
    assert result.costs.funding_received == Decimal(12)  # 12 settlements of exactly 1 USD
    assert result.costs.funding_paid == 0
    assert result.hedged.final_value == pytest.approx(10_002.15, abs=1e-9)
    assert result.unhedged.final_value == pytest.approx(10_000)
    series = result.series
    midnights = [series.hedged[i] for i in range(0, series.times.size, 24)]
    assert midnights == pytest.approx([10_000, 9_990.5, 9_995.4, 9_999.32, 10_002.15], abs=1e-9)
    assert result.effectiveness == pytest.approx(1 - 45.493225 / (20_500_000 / 3), abs=1e-12)
    assert result.ceiling == pytest.approx(1.0, abs=1e-12)
    (ceiling,) = result.ceilings
    assert (ceiling.rho, ceiling.rho2, ceiling.beta_star) == pytest.approx((-1, 1, 1), abs=1e-12)
    assert result.unhedged.daily_vol == pytest.approx((20_500_000 / 3) ** 0.5)
    # Drawdowns: unhedged from 12,500 to 8,000; hedged from 10,000 (start) to 9,987.5, the
    # value at 01:00-07:00 of day 0 (P = 12,500, fee paid, no funding yet: 10,000 − 12.5).
    assert result.unhedged.max_drawdown == pytest.approx(4_500)
    assert result.hedged.max_drawdown == pytest.approx(12.5, abs=1e-9)
    assert not result.gaps
    assert not result.rejected
