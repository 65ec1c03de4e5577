"""The engine over the replay slice, and the in-process ExchangePort wrapper."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.config.models import ReplayConfig, SimBalances, SimConfig
from bot.core.types import (
    Candle,
    Fill,
    FundingPayment,
    FundingRate,
    MarginWallet,
    Market,
    OrderState,
    OrderStatus,
    Position,
    Ticker,
)
from bot.exchange.errors import (
    ConfigurationMismatchError,
    OrderNotFoundError,
    OrderRejectedError,
    PermanentExchangeError,
)
from bot.exchange.sim_port import SimExchangePort, build_sim_port
from bot.sim.engine import SimExchange
from bot.sim.errors import InvalidRequestError, ReplayExhaustedError
from tests.sim.conftest import BTC_PERP, REPLAY_DIR, D, order, read_closes

H = timedelta(hours=1)
MARCH_1 = datetime(2024, 3, 1, tzinfo=UTC)
BTC_ROWS = read_closes(REPLAY_DIR / "binance_spot_BTCUSDT_1h.csv.gz")


def replay_config(**replay: object) -> SimConfig:
    return SimConfig(
        replay=ReplayConfig(path=REPLAY_DIR, **replay),
        balances=SimBalances(spot={"BTC": D(1)}, margin={"BTC": D(2), "ETH": D(10)}),
        fee_rate=D("0.0005"),
        contract_size_usd={"ETH": D(10)},
    )


def test_from_config_replay_markets_and_start() -> None:
    sim = SimExchange.from_config(replay_config())
    assert sim.now == MARCH_1
    assert sim.is_replay
    assert sim.step_seconds == 3600
    markets = sim.markets()
    assert sorted(markets) == ["BTC/USD:BTC", "ETH/USD:ETH", "SOL/USD:SOL"]
    assert markets["ETH/USD:ETH"].contract_size == D(10)
    assert markets[BTC_PERP].contract_size == D(1)
    assert (markets[BTC_PERP].kind, markets[BTC_PERP].settle) == ("inverse", "BTC")
    assert sim.spot_balances() == {"BTC": D(1)}
    late = SimExchange.from_config(replay_config(start="2024-04-30T12:00:00"))  # naive = UTC
    assert late.now == datetime(2024, 4, 30, 12, tzinfo=UTC)
    with pytest.raises(InvalidRequestError, match="before the price data"):
        SimExchange.from_config(replay_config(start="2024-02-01T00:00:00Z"))


def test_step_walks_the_candles_and_settles_funding() -> None:
    sim = SimExchange.from_config(replay_config())
    assert sim.price("BTC") == BTC_ROWS[0][1]  # first candle's open before it closes
    sim.create_order(order("sell", 60_000, "hedge"))
    entry = BTC_ROWS[0][1]
    for i in range(24):
        assert sim.step() == MARCH_1 + (i + 1) * H
        assert sim.price("BTC") == BTC_ROWS[i][2]
        ticker = sim.tickers([BTC_PERP])[BTC_PERP]
        assert (ticker.last, ticker.timestamp) == (BTC_ROWS[i][2], sim.now)
    payments = sim.funding_payments(BTC_PERP)
    assert [p.timestamp for p in payments] == [MARCH_1 + 8 * H, MARCH_1 + 16 * H, MARCH_1 + 24 * H]
    closes_at_funding = [BTC_ROWS[7][2], BTC_ROWS[15][2], BTC_ROWS[23][2]]
    assert [p.amount for p in payments] == [D(60_000) / c * D("0.0001") for c in closes_at_funding]
    position = sim.positions([BTC_PERP])[BTC_PERP]
    assert position.entry_price == entry
    assert position.mark_price == BTC_ROWS[23][2]
    # candles never include the candle in progress
    candles = sim.candles(BTC_PERP, limit=500)
    assert len(candles) == 24
    assert candles[-1].close == BTC_ROWS[23][2]


def test_limit_order_fills_on_a_later_candle() -> None:
    sim = SimExchange.from_config(replay_config())
    target = max(close for _, _, close in BTC_ROWS[:48])
    status = sim.create_order(order("sell", 1_000, "lim", limit=target))
    assert status.state is OrderState.OPEN
    sim.set_time(MARCH_1 + 48 * H)
    filled = sim.order_status(client_id="lim")
    assert filled is not None
    assert (filled.state, filled.average_price) == (OrderState.FILLED, target)
    first_cross = next(i for i, (_, _, c) in enumerate(BTC_ROWS) if c >= target)
    assert filled.updated_at == BTC_ROWS[first_cross][0] + H


def test_replay_ends_cleanly() -> None:
    sim = SimExchange.from_config(replay_config(start="2024-04-30T22:00:00Z"))
    assert sim.can_step()
    sim.step()
    sim.step()
    assert sim.now == datetime(2024, 5, 1, tzinfo=UTC)
    assert sim.price("BTC") == BTC_ROWS[-1][2]
    assert not sim.can_step()
    with pytest.raises(ReplayExhaustedError):
        sim.step()
    assert sim.now == datetime(2024, 5, 1, tzinfo=UTC)


async def test_port_steps_one_candle_per_fetch_time() -> None:
    port = build_sim_port(replay_config())
    assert port.name == "sim"
    assert await port.fetch_time() == MARCH_1 + H
    assert await port.fetch_time() == MARCH_1 + 2 * H
    tickers = await port.fetch_tickers([BTC_PERP, "XRP/USD:XRP", "ETH/USDT", "XRP/USDT"])
    assert list(tickers) == [BTC_PERP, "ETH/USDT"]  # spot pairs of priced coins too
    assert isinstance(tickers[BTC_PERP], Ticker)
    assert tickers[BTC_PERP].last == BTC_ROWS[1][2]
    candles = await port.fetch_ohlcv("BTC/USDT", "1h", None, 10)
    assert [c.close for c in candles] == [BTC_ROWS[0][2], BTC_ROWS[1][2]]
    assert all(isinstance(c, Candle) for c in candles)


async def test_port_returns_core_types() -> None:
    cfg = SimConfig(
        prices={"BTC": D(50_000)},
        balances=SimBalances(spot={"BTC": D(1)}, margin={"BTC": D(2)}),
    )
    port = build_sim_port(cfg)
    now = await port.fetch_time()
    assert await port.fetch_time() == now  # fixed prices: the clock does not move
    markets = await port.load_markets()
    assert all(isinstance(m, Market) for m in markets.values())
    assert await port.fetch_spot_balances() == {"BTC": D(1)}
    await port.set_leverage(BTC_PERP, D(1))
    await port.set_margin_mode(BTC_PERP, "cross", D(1))
    status = await port.create_order(order("sell", 50_000, "p1"))
    assert isinstance(status, OrderStatus)
    assert status.state is OrderState.FILLED
    wallets = await port.fetch_margin_wallets()
    assert isinstance(wallets["BTC"], MarginWallet)
    positions = await port.fetch_positions([BTC_PERP, "NOPE/USD:NOPE"])
    assert list(positions) == [BTC_PERP]
    assert isinstance(positions[BTC_PERP], Position)
    assert positions[BTC_PERP].contracts == D(-50_000)
    rates = await port.fetch_funding_rates([BTC_PERP])
    assert isinstance(rates[BTC_PERP], FundingRate)
    assert await port.fetch_order_by_client_id(BTC_PERP, "p1") == status
    assert await port.fetch_order_by_client_id(BTC_PERP, "unknown") is None
    fills = await port.fetch_fills(BTC_PERP, None)
    assert len(fills) == 1
    assert isinstance(fills[0], Fill)
    port.engine.advance(8 * 3600)
    payments = await port.fetch_funding_payments(BTC_PERP, now)
    assert all(isinstance(p, FundingPayment) for p in payments)
    assert [p.amount for p in payments] == [D("0.0001")]
    resting = await port.create_order(order("buy", 100, "rest", limit=40_000))
    assert [o.client_order_id for o in await port.fetch_open_orders([BTC_PERP])] == ["rest"]
    cancelled = await port.cancel_order(BTC_PERP, "rest")
    assert cancelled.state is OrderState.CANCELLED
    assert await port.cancel_order(BTC_PERP, "rest") == cancelled  # already closed: unchanged
    assert resting.exchange_order_id == cancelled.exchange_order_id
    await port.close()


async def test_port_raises_only_port_errors() -> None:
    cfg = SimConfig(prices={"BTC": D(50_000)}, balances=SimBalances(margin={"BTC": D(1)}))
    port = build_sim_port(cfg)
    with pytest.raises(OrderRejectedError) as rejected:
        await port.create_order(order("buy", 10, "ro", reduce_only=True))
    assert rejected.value.code == "reduce_only"
    with pytest.raises(OrderRejectedError) as duplicate:
        await port.create_order(order("sell", 10, "ro"))
    assert duplicate.value.code == "duplicate_client_id"
    with pytest.raises(OrderRejectedError) as poor:
        await port.create_order(order("sell", 60_000, "big"))
    assert poor.value.code == "insufficient_balance"
    with pytest.raises(OrderNotFoundError):
        await port.cancel_order(BTC_PERP, "missing")
    await port.create_order(order("sell", 10, "s"))
    with pytest.raises(ConfigurationMismatchError):
        await port.set_margin_mode(BTC_PERP, "isolated", D(1))
    with pytest.raises(ConfigurationMismatchError):
        await port.set_leverage("DOGE/USD:DOGE", D(2))
    with pytest.raises(PermanentExchangeError):
        await port.fetch_ohlcv(BTC_PERP, "1w", None, 10)


async def test_port_reports_the_end_of_the_replay() -> None:
    engine = SimExchange.from_config(replay_config(start="2024-04-30T23:00:00Z"))
    port = SimExchangePort(engine, auto_step=True)
    assert await port.fetch_time() == datetime(2024, 5, 1, tzinfo=UTC)
    with pytest.raises(PermanentExchangeError, match="replay finished"):
        await port.fetch_time()
    with pytest.raises(ValueError, match="auto_step needs a replay"):
        SimExchangePort(SimExchange.from_config(SimConfig(prices={"BTC": Decimal(1)})), True)


def test_runs_are_deterministic() -> None:
    def run() -> tuple[object, ...]:
        sim = SimExchange.from_config(replay_config())
        sim.create_order(order("sell", 50_000, "a"))
        sim.create_order(order("buy", 20_000, "b", limit=60_000), max_fill_fraction=D("0.25"))
        for _ in range(72):
            sim.step()
        return (
            sim.executions(),
            sim.order_history(),
            sim.margin_wallets(),
            sim.positions([BTC_PERP]),
        )

    assert run() == run()
