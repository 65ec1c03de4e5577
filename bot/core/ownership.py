"""Who owns which part of an instrument's short. Pure.

Several owners may hedge on one instrument: rules (by asset) and margin coins held USD-neutral.
The exchange holds one position; the planner judges each owner's band on its own part
(``bot.core.planner``), carried from one plan to the next as ``Plan.owned``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from bot.core.types import ZERO, HedgeTarget

UNOWNED = ""  # the owner of a short that no target explains


def owner_targets(targets: Sequence[HedgeTarget]) -> dict[str, dict[str, Decimal]]:
    """Target short USD per instrument and owner (the target's asset); negatives count as 0."""
    parts: dict[str, dict[str, Decimal]] = {}
    for target in targets:
        owners = parts.setdefault(target.instrument, {})
        usd = max(target.target_short_usd, ZERO)
        owners[target.asset] = owners.get(target.asset, ZERO) + usd
    return parts


def owner_shares(
    held: Decimal, owners: Mapping[str, Decimal], previous: Mapping[str, Decimal]
) -> dict[str, Decimal]:
    """The short held (contracts) split among owners: as the previous plan meant it, scaled to
    what is really held; without one, in proportion to the targets. A short no target can
    explain belongs to no owner (``""``, target 0): it is closed."""
    if held <= 0:
        return {}
    basis = {o: c for o, c in previous.items() if c > 0}
    if not basis:
        basis = {o: usd for o, usd in owners.items() if usd > 0}
    total = sum(basis.values(), ZERO)
    if total <= 0:
        return {UNOWNED: held}
    return {owner: held * weight / total for owner, weight in basis.items()}


def owners_holding_collateral(targets: Sequence[HedgeTarget]) -> dict[str, frozenset[str]]:
    """Per instrument, the owners whose target holds a margin coin USD-neutral."""
    found: dict[str, set[str]] = {}
    for target in targets:
        if target.collateral:
            found.setdefault(target.instrument, set()).add(target.asset)
    return {symbol: frozenset(owners) for symbol, owners in found.items()}
