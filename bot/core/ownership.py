"""Who owns which part of an instrument's short. Pure.

Several owners may hedge on one instrument: rules (by asset) and margin coins held USD-neutral.
The exchange holds one position; the planner judges each owner's band on its own part
(``bot.core.planner``), carried from one plan to the next as ``Plan.owned``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_DOWN, Decimal

from bot.core.types import ZERO, HedgeTarget

UNOWNED = ""  # the owner of a short that no target explains
PART_QUANTUM = Decimal("1e-12")  # contracts: the grain of an owner's part (``owner_shares``)


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
    explain belongs to no owner (``""``, target 0): it is closed.

    The parts always sum to ``held`` exactly: each is cut to ``PART_QUANTUM`` contracts (a
    trillionth, far below any exchange's step) and what the cuts leave goes to the largest
    part (the first by name among equals). So a previous split of the same short is returned
    as it was, not rescaled: without that, each plan would move the parts by a rounding, and a
    split held for a thousand ticks would drift."""
    if held <= 0:
        return {}
    basis = {o: c for o, c in previous.items() if c > 0}
    if not basis:
        basis = {o: usd for o, usd in owners.items() if usd > 0}
    total = sum(basis.values(), ZERO)
    if total <= 0:
        return {UNOWNED: held}
    if total == held:
        return basis
    shares = {
        owner: (held * weight / total).quantize(PART_QUANTUM, ROUND_DOWN)
        for owner, weight in basis.items()
    }
    residual = held - sum(shares.values(), ZERO)
    if residual:
        largest = min(shares, key=lambda owner: (-shares[owner], owner))
        shares[largest] += residual
    return shares


def owners_holding_collateral(targets: Sequence[HedgeTarget]) -> dict[str, frozenset[str]]:
    """Per instrument, the owners whose target holds a margin coin USD-neutral."""
    found: dict[str, set[str]] = {}
    for target in targets:
        if target.collateral:
            found.setdefault(target.instrument, set()).add(target.asset)
    return {symbol: frozenset(owners) for symbol, owners in found.items()}
