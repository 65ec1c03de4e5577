"""The pieces ``bot.backtest.decision``'s band pass is made of: each symbol's constants for the
float bound (``held_constants``), the planner's exact one-owner test (``one_inside``), the owners'
targets and parts of a short (``owners_of``, ``owner_parts``, ``sole_owner``), and what the
collateral check reads (``positive_by_coin``, ``neutral_coins``). Caches are keyed by the
identity of immutable inputs (markets, Decimal holdings, the previous plan's parts)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from bot.core.exposure import face_usd
from bot.core.ownership import owner_shares
from bot.core.sizing import contracts_for_usd
from bot.core.types import ZERO, Market, Ownership, Snapshot

Collateral = Mapping[str, frozenset[str]]  # symbol -> owners holding a margin coin USD-neutral

OUTSIDE: Mapping[str, Decimal] = {"": ZERO}  # a sentinel: outside the band
NO_NAMES: Mapping[str, str] = {}
NO_OWNED: Ownership = {}
NO_OWNERS: frozenset[str] = frozenset()
NO_COLLATERAL: Collateral = {}
NO_BANDS: Mapping[str, Decimal] = {}


def owners_of(
    symbol: str,
    total: Decimal,
    parts: Mapping[str, Mapping[str, Decimal]] | None,
    names: Mapping[str, str],
    scale: Decimal | None,
) -> tuple[Mapping[str, Decimal], Decimal]:
    """The owners' targets on ``symbol`` and the instrument's target, as ``plan_hedges``
    passes them to ``_load`` (scaled to margin: the scaled parts and their sum)."""
    if parts is None:
        name = names.get(symbol)
        own: Mapping[str, Decimal] = NONE if name is None else {name: total}
    else:
        own = parts.get(symbol, NONE)
    if scale is None:
        return own, total
    own = {owner: usd * scale for owner, usd in own.items()}
    return own, sum(own.values(), ZERO)


def one_inside_float(
    known: Known,
    target_usd: Decimal,
    band: float,
) -> bool:
    """The float bound of ``_constants``: True when the gap is clearly inside the band."""
    size = known[3]
    if not size:
        return False
    target = float(target_usd)
    allowance = band * target
    worst = (abs(target / size + known[5]) * (1 + 1e-9) + known[4]) * size
    return allowance > 0 and worst < allowance * (1 - 1e-9)


def one_inside(
    market: Market, price: Decimal, target_usd: Decimal, signed: Decimal, band: Decimal
) -> bool:
    """``bot.core.planner._decide`` (one owner, or none), exactly: no order unless
    ``|target − current| > band × target``."""
    target_usd = max(target_usd, ZERO)
    gap = contracts_for_usd(market, target_usd, price) + signed  # target − current short
    return not (gap and face_usd(market, abs(gap), price) > band * target_usd)


NONE: Mapping[str, Decimal] = {}


def other_owner(previous: Mapping[str, Decimal], own: Mapping[str, Decimal]) -> bool:
    """The planner's second reason to judge owners apart: a previous owner with a part of the
    short (> 0) that has no target now."""
    if len(previous) == 1 and len(own) == 1:
        (owner,) = previous
        if owner in own:
            return False
    return any(contracts > 0 and owner not in own for owner, contracts in previous.items())


def single_owned(symbol: str, own: Mapping[str, Decimal], signed: Decimal) -> dict[str, Decimal]:
    """``_decide``'s ``owned``: every owner (one) holds the whole short held."""
    (owner,) = own
    return sole_owner(symbol, owner, signed)


def sole_owner(symbol: str, owner: str, signed: Decimal) -> dict[str, Decimal]:
    """``{owner: the short held}`` (contracts), the same object while ``signed`` is."""
    cached = _OWNED.get(symbol)
    if cached is not None and cached[0] is signed and cached[1] == owner:
        return cached[2]
    mine = {owner: max(-signed, ZERO)}
    _OWNED[symbol] = (signed, owner, mine)
    return mine


_OWNED: dict[str, tuple[Decimal, str, dict[str, Decimal]]] = {}


def neutral_coins(collateral: Collateral, markets: Mapping[str, Market]) -> frozenset[str]:
    """Margin coins certainly held USD-neutral (``bot.daemon.decide.neutral_coins``): a coin
    whose collateral target sits on an inverse instrument settled in the coin itself has no
    rule (``collateral_targets``), is no stablecoin, and margins that target, which says no
    ``collateral: ignore``. A neutral coin without such a target (an empty wallet, or no
    inverse contract of its own) is left out: its release is then checked, never skipped."""
    if not collateral:
        return NO_OWNERS
    found: set[str] = set()
    for symbol, owners in collateral.items():
        market = markets.get(symbol)
        if market is not None and market.is_inverse and market.settle in owners:
            found.add(market.settle)
    return frozenset(found)


Shares = tuple[dict[str, Decimal], dict[str, float], Mapping[str, Decimal]]
_SHARES: dict[str, tuple[Decimal, Mapping[str, Decimal], Shares]] = {}


def owner_parts(
    symbol: str, current: Decimal, own: Mapping[str, Decimal], previous: Mapping[str, Decimal]
) -> Shares:
    """``owner_shares`` (the short split among owners), its floats, and the owned parts the
    planner keeps when every owner is inside (the parts > 0, sorted by owner). When the owned
    parts equal ``previous``, ``previous`` itself is returned: the next tick passes it back,
    and the cached answer for (``current``, ``previous``) is reused without any arithmetic."""
    cached = _SHARES.get(symbol)
    if cached is not None and cached[1] is previous and cached[0] == current:
        return cached[2]
    share = owner_shares(current, own, previous)
    mine: Mapping[str, Decimal] = {o: share[o] for o in sorted(share) if share[o] > 0}
    if mine == previous:
        mine = previous
    result = (share, {o: float(c) for o, c in share.items()}, mine)
    if any(c > 0 for c in previous.values()):  # else the split follows the targets: no cache
        _SHARES[symbol] = (current, previous, result)
    return result


def positive_by_coin(
    parts: Mapping[str, Mapping[str, Decimal]] | None,
    names: Mapping[str, str] | None,
    totals: Mapping[str, Decimal],
    markets: Mapping[str, Market],
) -> dict[str, tuple[float, tuple[str, ...]]]:
    """Per margin coin, the positive targets on its inverse instruments (float) and the other
    assets wanting them, as ``plan_collateral`` sums them (``_targets_by_coin``); from the
    owners' parts, or from the totals (all >= 0) and each instrument's one owner."""
    usd: dict[str, float] = {}
    proxies: dict[str, list[str]] = {}
    for symbol, total in totals.items():
        market = markets.get(symbol)
        if market is None or not market.is_inverse:
            continue
        coin = market.settle
        own: Mapping[str, Decimal]
        if parts is None:
            name = names.get(symbol) if names is not None else None
            own = NONE if name is None else {name: total}
        else:
            own = parts.get(symbol, NONE)
        for owner, part in own.items():
            if part > 0:
                usd[coin] = usd.get(coin, 0.0) + float(part)
                if owner != coin:
                    proxies.setdefault(coin, []).append(owner)
    return {coin: (value, tuple(proxies.get(coin, ()))) for coin, value in usd.items()}


def holdings_of(
    totals: dict[str, Decimal], snapshot: Snapshot, held: Mapping[str, Decimal] | None
) -> tuple[Mapping[str, Decimal], Mapping[str, Decimal | None]]:
    """Signed contracts and marks per symbol (from the positions when ``held`` is None); a
    short without a target gets a zero total (the planner closes it)."""
    marks: Mapping[str, Decimal | None] = {}
    if held is None:
        held = {s: p.contracts for s, p in snapshot.positions.items()}
        marks = {s: p.mark_price for s, p in snapshot.positions.items()}
    for symbol, contracts in held.items():
        if contracts < 0 and symbol not in totals:
            totals[symbol] = ZERO
    return held, marks


_FLOATS: dict[str, tuple[Market, float, float]] = {}
Known = tuple[Market | None, Decimal, bool, float, float, float, str | None]
_HELD: dict[str, Known] = {}


def known_for(symbol: str, market: Market | None, signed: Decimal) -> Known:
    """``held_constants``, the same tuple while ``market`` and ``signed`` are the same
    objects."""
    known = _HELD.get(symbol)
    if known is None or known[1] is not signed or known[0] is not market:
        known = _HELD[symbol] = held_constants(symbol, market, signed)
    return known


def held_constants(symbol: str, market: Market | None, signed: Decimal) -> Known:
    """What ``decision.BandPass`` derives from a symbol's market and signed holding (both
    immutable, so cached by identity): ``_constants``, ``float(signed)``, and the margin coin
    whose wallet carries the symbol (active inverse markets; None otherwise)."""
    if market is None:
        return None, signed, signed > 0, 0.0, 0.0, float(signed), None
    constants = _FLOATS.get(symbol)
    if constants is None or constants[0] is not market:
        constants = _FLOATS[symbol] = _constants(market)
    coin = market.settle if market.is_inverse and market.active else None
    return market, signed, signed > 0, constants[1], constants[2], float(signed), coin


def _constants(market: Market) -> tuple[Market, float, float]:
    """``(market, USD per contract, slack in contracts)`` for the float bound of
    ``decision.BandPass`` (size 0 for a linear market: no bound, the exact test decides).

    The planner's target in contracts is ``target_usd / size`` floored to the amount step, or 0
    below the minimum order, so it is within ``max(step, minimum)`` contracts of the float
    quotient. If even the largest gap that allows, with a margin for float error (1e-9 relative,
    1e-6 contracts), is worth less than ``band × target_usd``, the exact gap is too; anything
    closer is left to the exact Decimal test."""
    if not market.is_inverse:
        return market, 0.0, 0.0
    slack = float(max(market.amount_step, market.min_contracts)) + 1e-6
    return market, float(market.contract_size), slack
