"""Read one consistent snapshot of the account through the exchange port."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from bot.config.models import HoldingsConfig
from bot.core.types import MarginWallet, Market, Snapshot
from bot.exchange.port import ExchangePort
from bot.exchange.spot_sources import SpotSource, read_spot_sources
from strategies.base import HedgeRule, own_inverse_perp, rule_instruments


def price_symbol(coin: str, markets: Mapping[str, Market]) -> str:
    """Where a coin's USD price comes from: its own inverse perp's mark, else spot COIN/USDT."""
    own = own_inverse_perp(coin)
    return own if own in markets else f"{coin}/USDT"


def collateral_instruments(
    margin: Mapping[str, MarginWallet], markets: Mapping[str, Market]
) -> list[str]:
    """The own inverse perp of every coin held in a margin wallet: where a margin coin without
    a rule of its own is held USD-neutral."""
    symbols = (own_inverse_perp(coin) for coin, wallet in margin.items() if wallet.balance != 0)
    return sorted(symbol for symbol in symbols if symbol in markets)


def all_instruments(
    rules: Sequence[HedgeRule], markets: Mapping[str, Market], now: datetime
) -> list[str]:
    """Every symbol any rule may target now (proxies, futures around a roll, own perps)."""
    return sorted({symbol for rule in rules for symbol in rule_instruments(rule, markets, now)})


async def read_snapshot(
    port: ExchangePort,
    holdings: HoldingsConfig,
    rules: Sequence[HedgeRule],
    spot_sources: Sequence[SpotSource] = (),
) -> Snapshot:
    """Balances, positions, prices and funding for every instrument and coin the rules touch."""
    taken_at = await port.fetch_time()
    markets = await port.load_markets()
    instruments = all_instruments(rules, markets, taken_at)
    own = await port.fetch_spot_balances() if holdings.source == "exchange" else None
    spot = await read_spot_sources(own, spot_sources)  # bags held on other exchanges too
    margin = await port.fetch_margin_wallets()
    # A margin coin's own perp carries its USD-neutral hedge: its position must be read too,
    # or a short there would look flat and be sold again every tick.
    instruments = sorted(set(instruments) | set(collateral_instruments(margin, markets)))
    positions = await port.fetch_positions(instruments)
    coins = sorted(
        {rule.asset for rule in rules}
        | {coin for coin, wallet in margin.items() if wallet.balance != 0}
        | {markets[symbol].base for symbol in instruments if symbol in markets}
        | set(holdings.static)
        | {coin for coin, amount in spot.items() if amount != 0}
    )
    symbol_by_coin = {coin: price_symbol(coin, markets) for coin in coins}
    # Spot prices of the hedged coins too: the basis watch compares each perp with spot.
    spot_symbols = {f"{markets[s].base}/USDT" for s in instruments if s in markets}
    tickers = await port.fetch_tickers(
        sorted(set(symbol_by_coin.values()) | set(instruments) | spot_symbols)
    )
    prices: dict[str, Decimal] = {
        coin: tickers[symbol].reference
        for coin, symbol in symbol_by_coin.items()
        if symbol in tickers
    }
    perps = [
        symbol for symbol in instruments if symbol in markets and markets[symbol].expiry is None
    ]
    funding = await port.fetch_funding_rates(perps) if perps else {}
    return Snapshot(
        taken_at=taken_at,
        spot=dict(spot),
        static=dict(holdings.static),
        margin=dict(margin),
        positions=dict(positions),
        prices=prices,
        markets=dict(markets),
        funding=dict(funding),
        unknown_positions=frozenset(s for s in instruments if s in markets and s not in positions),
        tickers=dict(tickers),
    )
