"""The one simulated exchange of the project (in-process port, emulator, backtester).

Modules: ``feed`` (fixed prices / replayed candles, the price-at-time rule), ``engine``
(``SimExchange``: clock, markets, events), ``trading`` (orders, funding, liquidation),
``queries`` (read-only views, wallet moves), ``account``/``orders``/``records`` (state and
history), ``margin`` (contract math by market kind), ``errors``.
"""

from bot.sim.engine import SimExchange
from bot.sim.feed import FixedPrices, Gap, PriceFeed, ReplayFeed
from bot.sim.params import SimParams

__all__ = ["FixedPrices", "Gap", "PriceFeed", "ReplayFeed", "SimExchange", "SimParams"]
