"""Checks of the names a config uses against what the exchange lists: the exchange id, and the
markets a rule needs (on a simulated exchange with fixed prices, known before it runs), as
``run`` checks them at start. Used by ``bot.config.models.Config``'s validators.
"""

from __future__ import annotations

from bot.config.exchange_config import ExchangeConfig
from bot.config.exchange_ids import unsupported_exchange_message
from bot.config.fields import error_at
from bot.config.rule_config import RatioRuleConfig, RuleConfig

STARTUP_CHECKS = "startup_checks"  # validation context key: also check what `run` checks first
# Coins the simulated exchange lists no perpetual for: bot.sim.params.STABLECOINS, not imported
# (the simulator would cost check-config 60 ms); tests/config/test_startup_checks.py keeps them
# equal, and the markets above equal to those SimExchange lists.
SIM_STABLECOINS = frozenset({"USD", "USDT", "USDC", "BUSD", "FDUSD", "DAI"})


def supported_exchange(exchange: ExchangeConfig) -> ExchangeConfig:
    """``exchange`` when the daemon can trade on its id (``run`` refuses any other at start)."""
    problem = unsupported_exchange_message(exchange.id)
    if problem is not None:
        raise error_at(problem, "id")
    return exchange


def sim_markets(exchange: ExchangeConfig) -> frozenset[str] | None:
    """The markets a simulated exchange with fixed prices lists (``id: sim``, or the embedded
    emulator serving it); None when they are not known before it runs (replayed candles, whose
    coins are the files', or a real exchange)."""
    sim = exchange.sim
    if sim is None or sim.replay is not None:
        return None
    if exchange.id != "sim" and not exchange.embedded_emulator:
        return None
    return frozenset(
        f"{coin}/USD:{coin}"  # bot.sim.params.inverse_perpetual
        for coin in sim.prices
        if coin not in SIM_STABLECOINS and (sim.inverse_perps is None or coin in sim.inverse_perps)
    )


def unlisted_symbol(rule: RuleConfig, listed: frozenset[str]) -> tuple[str, str] | None:
    """(key, symbol) of the market ``rule`` must trade that is not in ``listed``: the symbols
    ``run`` requires at start (a ratio rule's instrument, a beta rule's fixed symbol); a beta
    rule choosing among coins only uses the listed ones."""
    if isinstance(rule, RatioRuleConfig):
        if rule.instrument is None:
            symbol = f"{rule.asset}/USD:{rule.asset}"  # strategies.base.own_inverse_perp
            return None if symbol in listed else ("asset", symbol)
        return None if rule.instrument in listed else ("instrument", rule.instrument)
    if "/" in rule.hedge_with and rule.hedge_with not in listed:
        return "hedge_with", rule.hedge_with
    return None


def is_inverse_symbol(symbol: str) -> bool:
    """``BTC/USD:BTC`` (settled in the base coin) is inverse; ``BTC/USDT:USDT`` is not."""
    pair, _, settle = symbol.partition(":")
    base = pair.partition("/")[0]
    return bool(settle) and settle.split("-")[0] == base


def inverse_rule_without_inverse_perps(
    exchange_id: str, rules: list[RuleConfig]
) -> tuple[int, str] | None:
    """(rule index, key to point at) of the first rule asking for an inverse contract on an
    exchange whose profile lists none; None when every rule is fine or the id is unknown."""
    from bot.exchange.profiles import PROFILES

    profile = PROFILES.get(exchange_id)
    if profile is None or profile.inverse_perps:
        return None
    for index, rule in enumerate(rules):
        if isinstance(rule, RatioRuleConfig):
            if rule.instrument is None:
                return index, "asset"
            if is_inverse_symbol(rule.instrument):
                return index, "instrument"
        elif "/" in rule.hedge_with:
            if is_inverse_symbol(rule.hedge_with):
                return index, "hedge_with"
        elif rule.contract.startswith("inverse"):
            return index, "asset"
    return None
