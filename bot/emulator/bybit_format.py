"""Pure conversions from simulated-exchange objects to Bybit v5 JSON rows (field names as Bybit).

Units, as Bybit reports them:

* Inverse markets: ``qty``/``size``/``execQty`` are contracts (Bybit: 1 contract = 1 USD; here
  ``Market.contract_size`` USD). ``lotSizeFilter.minOrderQty`` carries the contract size because
  ccxt derives ``contractSize`` from it; values (``cumExecValue``, ``execValue``,
  ``positionValue``), fees and PnL are in the settle coin.
* Linear markets: quantities are in coin (contracts × ``contract_size``), values in the quote.
* Prices are USD per coin; times are epoch milliseconds as strings (Bybit convention).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Literal

from bot.core.types import Candle, FundingRate, Market
from bot.sim.records import datetime_to_ms

ZERO = Decimal(0)
Category = Literal["inverse", "linear", "spot"]
MONTH_CODES = "FGHJKMNQUVXZ"  # Bybit/CME futures month letters, January first
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
SPOT_QUOTE = "USDT"
Row = dict[str, Any]


def fmt(value: Decimal | int | None) -> str:
    """Bybit number text: plain notation, no trailing zeros; None -> ``""``."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def envelope(
    ret_code: int, ret_msg: str, result: Any, ret_ext_info: Mapping[str, Any], time_ms: int
) -> Row:
    """Bybit's response envelope (``time`` is the server clock, epoch ms)."""
    return {
        "retCode": ret_code,
        "retMsg": ret_msg,
        "result": result,
        "retExtInfo": dict(ret_ext_info),
        "time": time_ms,
    }


# -- symbols -----------------------------------------------------------------------------------


def bybit_id(market: Market) -> str:
    """``BTCUSD`` (inverse perpetual), ``BTCUSDH25`` (inverse future), ``BTCUSDT`` (linear
    perpetual), ``BTC-28MAR25`` (linear future)."""
    if market.expiry is None:
        return f"{market.base}{market.quote}"
    exp = market.expiry
    if market.kind == "inverse":
        return f"{market.base}{market.quote}{MONTH_CODES[exp.month - 1]}{exp.year % 100:02d}"
    return f"{market.base}-{exp.day:02d}{MONTHS[exp.month - 1]}{exp.year % 100:02d}"


def spot_id(coin: str) -> str:
    return f"{coin}{SPOT_QUOTE}"


@dataclass(frozen=True, slots=True)
class SymbolMap:
    """Bybit ids <-> engine markets, per category."""

    by_id: Mapping[tuple[str, str], Market]
    ids: Mapping[str, str]  # engine symbol -> Bybit id

    @classmethod
    def build(cls, markets: Iterable[Market]) -> SymbolMap:
        by_id: dict[tuple[str, str], Market] = {}
        ids: dict[str, str] = {}
        for market in markets:
            bid = bybit_id(market)
            by_id[(market.kind, bid)] = market
            ids[market.symbol] = bid
        return cls(by_id, ids)

    def market(self, category: str, bid: str) -> Market | None:
        return self.by_id.get((category, bid))


# -- quantities and prices ---------------------------------------------------------------------


def to_qty(market: Market, contracts: Decimal) -> Decimal:
    """Engine contracts -> Bybit quantity (inverse: contracts; linear: coin)."""
    return contracts if market.kind == "inverse" else contracts * market.contract_size


def from_qty(market: Market, qty: Decimal) -> Decimal:
    """Bybit quantity -> engine contracts."""
    return qty if market.kind == "inverse" else qty / market.contract_size


def qty_step(market: Market) -> Decimal:
    return to_qty(market, market.amount_step)


def tick_size(price: Decimal) -> Decimal:
    """A price tick for a coin priced ``price``: about 1/100,000 of it, a power of ten (BTC at
    50,000 -> 0.1; ETH at 2,500 -> 0.01), at least 1e-8."""
    if price <= 0:
        return Decimal("0.0001")
    exponent = price.adjusted() - 5
    return Decimal(1).scaleb(max(exponent, -8))


def on_tick(price: Decimal, tick: Decimal) -> bool:
    return price % tick == 0


def round_to_tick(price: Decimal, tick: Decimal) -> Decimal:
    return (price / tick).to_integral_value(ROUND_FLOOR) * tick


def price_scale(tick: Decimal) -> int:
    """Decimal places of a tick (0.1 -> 1, 0.005 -> 3, 5 -> 0)."""
    exponent = tick.normalize().as_tuple().exponent
    return max(-exponent, 0) if isinstance(exponent, int) else 0


def expiry_text(market: Market) -> str:
    """Bybit ``deliveryTime``: the expiry in epoch ms, ``"0"`` for a perpetual."""
    return "0" if market.expiry is None else str(ms(market.expiry))


def ms(at: datetime) -> int:
    return datetime_to_ms(at)


# -- instruments and tickers -------------------------------------------------------------------

_CONTRACT_TYPES = {
    ("inverse", True): "InversePerpetual",
    ("inverse", False): "InverseFutures",
    ("linear", True): "LinearPerpetual",
    ("linear", False): "LinearFutures",
}


def contract_instrument(
    market: Market, *, tick: Decimal, funding_interval_min: int, launch_ms: int
) -> Row:
    """An ``instruments-info`` row for a derivatives market."""
    perpetual = market.expiry is None
    if market.kind == "inverse":
        min_qty = market.contract_size  # ccxt: contractSize = minOrderQty for inverse
    else:
        min_qty = to_qty(market, market.min_contracts)
    step = qty_step(market)
    max_qty = step * 25_000_000
    return {
        "symbol": bybit_id(market),
        "contractType": _CONTRACT_TYPES[(market.kind, perpetual)],
        "status": "Trading" if market.active else "Closed",
        "baseCoin": market.base,
        "quoteCoin": market.quote,
        "launchTime": str(launch_ms),
        "deliveryTime": expiry_text(market),
        "deliveryFeeRate": "" if perpetual else "0.0005",
        "priceScale": str(price_scale(tick)),
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "priceFilter": {
            "minPrice": fmt(tick),
            "maxPrice": fmt(tick * 19_999_998),
            "tickSize": fmt(tick),
        },
        "lotSizeFilter": {
            "maxOrderQty": fmt(max_qty),
            "minOrderQty": fmt(min_qty),
            "qtyStep": fmt(step),
            "postOnlyMaxOrderQty": fmt(max_qty),
            "maxMktOrderQty": fmt(max_qty / 5),
            "minNotionalValue": "" if market.kind == "inverse" else "5",
        },
        "unifiedMarginTrade": True,
        "fundingInterval": funding_interval_min if perpetual else 0,
        "settleCoin": market.settle,
        "copyTrading": "none",
        "upperFundingRate": "0.00375" if perpetual else "",
        "lowerFundingRate": "-0.00375" if perpetual else "",
        "isPreListing": False,
        "preListingInfo": None,
        "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.1"},
        "displayName": "",
        "symbolType": "",
        "forbidUplWithdrawal": False,
    }


def spot_instrument(coin: str, tick: Decimal) -> Row:
    """An ``instruments-info`` row for the spot pair ``COIN/USDT``."""
    return {
        "symbol": spot_id(coin),
        "baseCoin": coin,
        "quoteCoin": SPOT_QUOTE,
        "innovation": "0",
        "status": "Trading",
        "marginTrading": "none",
        "stTag": "0",
        "lotSizeFilter": {
            "basePrecision": "0.000001",
            "quotePrecision": "0.00000001",
            "minOrderQty": "0.000001",
            "maxOrderQty": "100000",
            "minOrderAmt": "5",
            "maxOrderAmt": "10000000",
        },
        "priceFilter": {"tickSize": fmt(tick)},
        "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
    }


@dataclass(frozen=True, slots=True)
class DayStats:
    """The last 24 hours of one coin: opening price, range and volume (coin)."""

    prev_price: Decimal
    high: Decimal
    low: Decimal
    volume_coin: Decimal

    @classmethod
    def from_candles(cls, candles: list[Candle], price: Decimal) -> DayStats:
        if not candles:
            return cls(price, price, price, ZERO)
        return cls(
            candles[0].open,
            max(max(c.high for c in candles), price),
            min(min(c.low for c in candles), price),
            sum((c.volume for c in candles), ZERO),
        )

    def change(self, price: Decimal) -> Decimal:
        return (price / self.prev_price - 1).quantize(Decimal("0.000001"))


def contract_ticker(
    market: Market,
    price: Decimal,
    day: DayStats,
    funding: FundingRate | None,
    open_interest: Decimal,
    tick: Decimal,
) -> Row:
    """A ``tickers`` row for a derivatives market; ``open_interest`` in contracts. Bid and ask
    sit one tick either side of the price (the engine itself fills at the price)."""
    inverse = market.kind == "inverse"
    oi_qty = to_qty(market, open_interest)
    if inverse:
        oi_value = open_interest * market.contract_size / price
        volume, turnover = day.volume_coin * price, day.volume_coin
    else:
        oi_value = oi_qty * price
        volume, turnover = day.volume_coin, day.volume_coin * price
    perpetual = market.expiry is None
    return {
        "symbol": bybit_id(market),
        "lastPrice": fmt(price),
        "indexPrice": fmt(price),
        "markPrice": fmt(price),
        "prevPrice24h": fmt(day.prev_price),
        "price24hPcnt": fmt(day.change(price)),
        "highPrice24h": fmt(day.high),
        "lowPrice24h": fmt(day.low),
        "prevPrice1h": fmt(price),
        "openInterest": fmt(oi_qty),
        "openInterestValue": fmt(oi_value),
        "turnover24h": fmt(turnover),
        "volume24h": fmt(volume),
        "fundingRate": fmt(funding.rate) if funding else "",
        "nextFundingTime": (
            str(ms(funding.next_funding_time)) if funding and funding.next_funding_time else "0"
        ),
        "predictedDeliveryPrice": "",
        "basisRate": "",
        "deliveryFeeRate": "" if perpetual else "0.0005",
        "deliveryTime": expiry_text(market),
        "ask1Size": "1000000",
        "bid1Price": fmt(price - tick),
        "ask1Price": fmt(price + tick),
        "bid1Size": "1000000",
        "basis": "",
        "preOpenPrice": "",
        "preQty": "",
        "curPreListingPhase": "",
        "fundingIntervalHour": fmt(funding.interval_hours) if funding else "",
        "basisRateYear": "",
        "fundingCap": "0.005" if perpetual else "",
    }


def spot_ticker(coin: str, price: Decimal, day: DayStats, tick: Decimal) -> Row:
    return {
        "symbol": spot_id(coin),
        "bid1Price": fmt(price - tick),
        "bid1Size": "100",
        "ask1Price": fmt(price + tick),
        "ask1Size": "100",
        "lastPrice": fmt(price),
        "prevPrice24h": fmt(day.prev_price),
        "price24hPcnt": fmt(day.change(price)),
        "highPrice24h": fmt(day.high),
        "lowPrice24h": fmt(day.low),
        "turnover24h": fmt(day.volume_coin * price),
        "volume24h": fmt(day.volume_coin),
        "usdIndexPrice": fmt(price),
    }


def kline_row(candle: Candle, category: str) -> list[str]:
    """``[start, open, high, low, close, volume, turnover]``; inverse volume is in contracts
    (USD) and turnover in coin, the others the other way round."""
    coin = candle.volume
    usd = coin * candle.close
    volume, turnover = (usd, coin) if category == "inverse" else (coin, usd)
    return [*price_kline_row(candle), fmt(volume), fmt(turnover)]


def price_kline_row(candle: Candle) -> list[str]:
    """``[start, open, high, low, close]`` (mark / index price klines)."""
    return [
        str(ms(candle.opened_at)),
        fmt(candle.open),
        fmt(candle.high),
        fmt(candle.low),
        fmt(candle.close),
    ]
