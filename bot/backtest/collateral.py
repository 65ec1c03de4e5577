"""The collateral policy in a replay: its rolling-day usage, and its actions run on the
simulated exchange the way the daemon runs them (``bot.daemon.collateral.CollateralDesk``).

- The settings are the daemon's (``bot.daemon.collateral.collateral_settings``).
- ``UsageWindow``: what the replay moved in the last 24 h, counted as the store counts it
  (``bot.store.collateral_repo.CollateralRecords.usage``): transfers in both directions add
  to ``transferred_usd`` and ``transferred_coins``, ``spot_sell`` legs to ``converted_usd``,
  ``spot_buy`` legs nowhere; only actions that succeeded count (the replay knows at once; the
  daemon also counts the ones whose outcome it does not know yet).
- ``execute_actions``: the decision's actions in their order (spot sells, spot buys,
  transfers) on the engine, a spot buy for its ``amount`` (what is bought; the fee is taken
  from it). The tick's actions are one chain: after a step that fails, the rest is not sent,
  and the margin coins the chain was to fund (every coin it moves to margin, else the failed
  step's coin) are named, so the runner holds increases on their contracts this tick.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from bot.core.types import ZERO, CollateralAction, CollateralUsage
from bot.sim.engine import SimExchange
from bot.sim.errors import SimError

DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class Done:
    """One action the replay ran: when (epoch s) and whether the engine accepted it."""

    at_s: int
    action: CollateralAction
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class UsageWindow:
    """The rolling 24 h of successful actions, as ``CollateralUsage`` (module docstring)."""

    def __init__(self) -> None:
        self._window: deque[Done] = deque()
        self._usage = CollateralUsage()

    def add(self, done: Done) -> None:
        if done.ok and done.action.kind != "spot_buy":
            self._window.append(done)
            self._usage = self._sum()

    def usage(self, now_s: int) -> CollateralUsage:
        """What counts against the caps at ``now_s``: actions at or after ``now_s − 24 h``."""
        window = self._window
        if window and window[0].at_s < now_s - DAY_S:
            while window and window[0].at_s < now_s - DAY_S:
                window.popleft()
            self._usage = self._sum()
        return self._usage

    def _sum(self) -> CollateralUsage:
        transferred = converted = ZERO
        coins: dict[str, Decimal] = {}
        for done in self._window:
            action = done.action
            if action.kind == "transfer":
                transferred += action.usd_value
                coins[action.coin] = coins.get(action.coin, ZERO) + action.amount
            else:
                converted += action.usd_value
        return CollateralUsage(transferred, coins, converted)


@dataclass(slots=True)
class Outcome:
    """What ``execute_actions`` did: every action run (or refused), and the margin coins
    whose funding failed (increases on instruments settled in them wait a tick)."""

    done: list[Done] = field(default_factory=list)
    failed_coins: set[str] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        """Whether the engine's wallets changed."""
        return any(done.ok for done in self.done)


def execute_actions(sim: SimExchange, actions: Sequence[CollateralAction]) -> Outcome:
    """Run ``actions`` in order on ``sim`` (module docstring)."""
    outcome = Outcome()
    now_s = sim.now_ms // 1000
    funded = {a.coin for a in actions if a.kind == "transfer" and a.destination == "margin"}
    for action in actions:
        if outcome.failed_coins:
            error: str | None = "not sent: an earlier step of its chain failed"
        else:
            error = _run(sim, action)
            if error is not None:
                outcome.failed_coins |= funded or {action.coin}
        outcome.done.append(Done(now_s, action, error))
    return outcome


def _run(sim: SimExchange, action: CollateralAction) -> str | None:
    try:
        if action.kind == "transfer":
            if action.source is None or action.destination is None:
                return "transfer without source or destination"
            sim.transfer(
                action.coin,
                action.amount,
                action.source,
                action.destination,
                transfer_id=action.action_id,
            )
        else:
            side = action.side or ("sell" if action.kind == "spot_sell" else "buy")
            symbol = action.symbol or f"{action.coin}/USDT"
            sim.spot_order(symbol, side, action.amount, action.action_id)
    except SimError as exc:
        return str(exc)
    return None
