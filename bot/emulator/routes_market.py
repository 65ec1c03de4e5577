"""Public market endpoints: time, instruments, tickers, klines, funding-rate history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from bot.core.types import Candle, Market
from bot.emulator.bybit_format import (
    DayStats,
    contract_instrument,
    fmt,
    kline_row,
    ms,
    price_kline_row,
    spot_id,
    spot_instrument,
    spot_ticker,
)
from bot.emulator.bybit_format import (
    contract_ticker as contract_ticker_row,
)
from bot.emulator.reply import (
    NOT_SUPPORTED_SYMBOLS,
    PARAMS_ERROR,
    ApiError,
    Params,
    Reply,
    opt_int,
    opt_str,
    paginate,
    params_error,
    req_category,
    req_str,
)
from bot.emulator.state import EmulatorState, Route, RouteTable
from bot.sim.errors import SimError
from bot.sim.records import ms_to_datetime

CONTRACT_CATEGORIES = ("inverse", "linear")
INTERVALS = {
    "1": "1m",
    "3": "3m",
    "5": "5m",
    "15": "15m",
    "30": "30m",
    "60": "1h",
    "120": "2h",
    "240": "4h",
    "360": "6h",
    "720": "12h",
    "D": "1d",
}
INTERVAL_MS = {
    key: int(tf[:-1]) * {"m": 60_000, "h": 3_600_000, "d": 86_400_000}[tf[-1]]
    for key, tf in INTERVALS.items()
}


def unknown_symbol() -> ApiError:
    return ApiError(PARAMS_ERROR, NOT_SUPPORTED_SYMBOLS)


def contract_market(state: EmulatorState, category: str, symbol: str) -> Market:
    """The engine market of a Bybit id in ``category``; 10001 "Not supported symbols"."""
    market = state.symbols().market(category, symbol)
    if market is None:
        raise unknown_symbol()
    return market


def market_time(state: EmulatorState, params: Params) -> Reply:
    now = state.engine.now_ms
    return Reply({"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)})


def _markets_with_status(state: EmulatorState, category: str, status: str | None) -> list[Market]:
    markets = [m for m in state.engine.markets().values() if m.kind == category]
    if status is None or status == "Trading":
        return [m for m in markets if m.active]
    if status in ("Closed", "Delivering"):
        return [m for m in markets if not m.active]
    return []  # PreLaunch and anything else: none


def instruments_info(state: EmulatorState, params: Params) -> Reply:
    category = req_category(params, ("inverse", "linear", "spot", "option"))
    status = opt_str(params, "status")
    symbol = opt_str(params, "symbol")
    base = opt_str(params, "baseCoin")
    limit = opt_int(params, "limit", 1, 1000) or 500
    rows: list[dict[str, object]]
    if category == "spot":
        coins = state.spot_coins() if status in (None, "Trading") else []
        rows = [spot_instrument(c, state.tick(c)) for c in coins]
    elif category == "option":
        rows = []
    else:
        rows = [
            contract_instrument(
                m,
                tick=state.tick(m.base),
                funding_interval_min=state.funding_interval_min,
                launch_ms=state.launch_ms,
            )
            for m in _markets_with_status(state, category, status)
        ]
    rows = [
        r
        for r in rows
        if (symbol is None or r["symbol"] == symbol) and (base is None or r["baseCoin"] == base)
    ]
    page, cursor = paginate(rows, limit, opt_str(params, "cursor"))
    return Reply({"category": category, "list": page, "nextPageCursor": cursor})


def day_stats(state: EmulatorState, coin: str) -> DayStats:
    """Open, range and volume of the last 24 hourly candles (flat with fixed prices)."""
    price = state.engine.price(coin)
    try:
        candles = state.engine.candles(coin, 24, timeframe="1h")
    except SimError:
        candles = []
    return DayStats.from_candles(candles, price)


def contract_ticker(state: EmulatorState, market: Market) -> dict[str, object]:
    engine = state.engine
    price = engine.price(market.base)
    funding = engine.funding_rates([market.symbol]).get(market.symbol)
    position = engine.positions([market.symbol]).get(market.symbol)
    open_interest = abs(position.contracts) if position else Decimal(0)
    return contract_ticker_row(
        market,
        price,
        day_stats(state, market.base),
        funding,
        open_interest,
        state.tick(market.base),
    )


def tickers(state: EmulatorState, params: Params) -> Reply:
    category = req_category(params, ("inverse", "linear", "spot"))
    symbol = opt_str(params, "symbol")
    rows: list[dict[str, object]]
    if category == "spot":
        coins = state.spot_coins()
        if symbol is not None:
            coins = [c for c in coins if spot_id(c) == symbol]
            if not coins:
                raise unknown_symbol()
        rows = [
            spot_ticker(c, state.engine.price(c), day_stats(state, c), state.tick(c)) for c in coins
        ]
    else:
        if symbol is not None:
            markets = [contract_market(state, category, symbol)]
        else:
            markets = _markets_with_status(state, category, None)
        rows = [contract_ticker(state, m) for m in markets]
    return Reply({"category": category, "list": rows})


def _candles(state: EmulatorState, params: Params) -> tuple[str, str, list[Candle]]:
    """(category, Bybit symbol, closed candles oldest first) for a kline request."""
    category = opt_str(params, "category") or "linear"
    if category not in ("inverse", "linear", "spot"):
        raise params_error(f"category {category!r} is not supported here")
    symbol = req_str(params, "symbol")
    interval = req_str(params, "interval")
    timeframe = INTERVALS.get(interval)
    if timeframe is None:
        raise params_error(f"interval {interval!r} is not supported (use {', '.join(INTERVALS)})")
    if category == "spot":
        coins = [c for c in state.spot_coins() if spot_id(c) == symbol]
        if not coins:
            raise unknown_symbol()
        source = coins[0]
    else:
        source = contract_market(state, category, symbol).symbol
    limit = opt_int(params, "limit", 1, 1000) or 200
    start = opt_int(params, "start", 0)
    end = opt_int(params, "end", 0)
    since: datetime | None = None if start is None else ms_to_datetime(start)
    until = None if end is None else ms_to_datetime(end + INTERVAL_MS[interval])
    try:
        candles = state.engine.candles(source, limit, since=since, until=until, timeframe=timeframe)
    except SimError as exc:
        raise params_error(str(exc)) from None
    return category, symbol, candles


def kline(state: EmulatorState, params: Params) -> Reply:
    """``[start, open, high, low, close, volume, turnover]`` rows, newest first."""
    category, symbol, candles = _candles(state, params)
    rows = [kline_row(c, category) for c in reversed(candles)]
    return Reply({"category": category, "symbol": symbol, "list": rows})


def price_kline(state: EmulatorState, params: Params) -> Reply:
    """Mark / index price klines: ``[start, open, high, low, close]``, newest first (mark =
    index = last in the simulator)."""
    category, symbol, candles = _candles(state, params)
    rows = [price_kline_row(c) for c in reversed(candles)]
    return Reply({"category": category, "symbol": symbol, "list": rows})


def funding_history(state: EmulatorState, params: Params) -> Reply:
    """Past settlements of a perpetual's rate, newest first. Bybit refuses a startTime alone."""
    category = req_category(params, CONTRACT_CATEGORIES)
    symbol = req_str(params, "symbol")
    market = contract_market(state, category, symbol)
    start = opt_int(params, "startTime", 0)
    end = opt_int(params, "endTime", 0)
    if start is not None and end is None:
        raise params_error("startTime needs endTime")
    limit = opt_int(params, "limit", 1, 200) or 200
    rows = []
    for at, rate in state.engine.funding_rate_history(market.symbol):
        at_ms = ms(at)
        if (start is None or at_ms >= start) and (end is None or at_ms <= end):
            rows.append(
                {"symbol": symbol, "fundingRate": fmt(rate), "fundingRateTimestamp": str(at_ms)}
            )
    rows.reverse()
    return Reply({"category": category, "list": rows[:limit]})


ROUTES: RouteTable = {
    ("GET", "/v5/market/time"): Route(market_time, private=False),
    ("GET", "/v5/market/instruments-info"): Route(instruments_info, private=False),
    ("GET", "/v5/market/tickers"): Route(tickers, private=False),
    ("GET", "/v5/market/kline"): Route(kline, private=False),
    ("GET", "/v5/market/mark-price-kline"): Route(price_kline, private=False),
    ("GET", "/v5/market/index-price-kline"): Route(price_kline, private=False),
    ("GET", "/v5/market/funding/history"): Route(funding_history, private=False),
}
