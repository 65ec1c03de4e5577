"""Collateral is exposure: targets for coins held in coin-margined wallets.

Reference: hedging-math.md §2 and Example 2.2. A coin posted as margin is long that coin like any
other coins. Two cases:

- the coin has a rule of its own: its wallet equity is already part of that rule's exposure
  (``bot.core.exposure``: exposure = spot + collateral), so it is hedged at that rule's ratio and
  nothing is added here;
- it has no rule (e.g. BTC posted only to margin a SOL → BTC proxy short): it is held USD-neutral,
  a short of 1 × equity × price USD on its own inverse perp (β = 1), unless every rule whose hedge
  is margined in that coin says ``collateral: ignore``.

Stablecoins and quote currencies (USDT, USDC, USD, ...) carry no coin price risk and are skipped.
The extra targets sum with the rules' targets per instrument (``bot.core.planner``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

from bot.config.models import CollateralMode
from bot.core.types import Exposure, HedgeTarget, Market
from strategies.base import own_inverse_perp
from strategies.events import RuleEvent, RuleResult

STABLECOINS = frozenset({"USD", "USDT", "USDC", "BUSD", "FDUSD", "DAI", "TUSD", "USDE"})
ONE = Decimal(1)


@runtime_checkable
class CollateralPolicy(Protocol):
    """What collateral handling needs from a rule: its asset and its ``collateral`` mode."""

    @property
    def asset(self) -> str: ...

    @property
    def collateral(self) -> CollateralMode: ...


def collateral_targets(
    exposures: Mapping[str, Exposure],
    rules: Sequence[CollateralPolicy],
    markets: Mapping[str, Market],
    rule_targets: Sequence[HedgeTarget] = (),
    default: CollateralMode = "neutral",
) -> RuleResult:
    """Targets holding rule-less margin coins USD-neutral, plus events for those that cannot be.

    ``exposures``: by coin, with ``collateral`` = coin-margined wallet equity (coin) and
    ``price`` (USD per coin). ``rule_targets``: this tick's targets of ``rules`` (their
    instruments tell which coin margins which rule). ``default`` applies to a margin coin that
    margins no rule's hedge.
    """
    ruled = {rule.asset for rule in rules}
    mode_by_asset = {rule.asset: rule.collateral for rule in rules}
    targets: list[HedgeTarget] = []
    events: list[RuleEvent] = []
    for coin, exposure in sorted(exposures.items()):
        if coin in ruled or coin in STABLECOINS or exposure.collateral <= 0:
            continue
        users = _margined_assets(coin, rule_targets, markets)
        modes = {mode_by_asset.get(asset, default) for asset in users} or {default}
        if modes == {"ignore"}:
            continue
        instrument = _neutral_instrument(coin, markets, rule_targets)
        usd = exposure.collateral * exposure.price
        if instrument is None:
            events.append(_unhedged(coin, usd))
            continue
        why = f"collateral: {exposure.collateral} {coin} in margin, no {coin} rule: USD-neutral"
        if users:
            why += f" (margins the hedge of {', '.join(sorted(users))})"
        targets.append(
            HedgeTarget(
                asset=coin,
                instrument=instrument,
                ratio=ONE,
                target_short_usd=usd,
                reason=why,
                collateral=True,
            )
        )
    return RuleResult(tuple(targets), tuple(events))


def _margined_assets(
    coin: str, rule_targets: Sequence[HedgeTarget], markets: Mapping[str, Market]
) -> set[str]:
    """Assets whose hedge instrument is an inverse contract settled in ``coin``."""
    users: set[str] = set()
    for target in rule_targets:
        market = markets.get(target.instrument)
        if market is not None and market.is_inverse and market.settle == coin:
            users.add(target.asset)
    return users


def _neutral_instrument(
    coin: str, markets: Mapping[str, Market], rule_targets: Sequence[HedgeTarget]
) -> str | None:
    """The coin's own inverse perp when listed, else an inverse contract of the coin in use."""
    own = markets.get(own_inverse_perp(coin))
    if own is not None and own.active:
        return own.symbol
    in_use = sorted(
        {
            t.instrument
            for t in rule_targets
            if (m := markets.get(t.instrument)) is not None
            and m.active
            and m.is_inverse
            and m.base == coin
            and t.target_short_usd > 0
        }
    )
    return in_use[0] if in_use else None


def _unhedged(coin: str, usd: Decimal) -> RuleEvent:
    return RuleEvent(
        kind="collateral_unhedged",
        severity="warning",
        asset=coin,
        instrument=None,
        message=f"{coin} in margin ({usd} USD) has no rule and no inverse contract to hedge it on",
        values={"exposure_usd": str(usd)},
    )
