"""Recording a tick the skip-ahead (``bot.backtest.skip``) did not judge, as the full path
records a quiet one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.backtest.runner import Replay
    from bot.backtest.skip_plan import QuietPlan
    from bot.backtest.snapshot import SnapshotReader


def record_quiet(replay: Replay, plan: QuietPlan) -> None:
    """Record a tick inside the window as ``Replay._tick`` records a quiet tick: the account's
    value at the tick's prices, the shorts of the last read, in band, quiet, no shortfall, each
    varying rule's hedge coin as it was (``owned``, the rule states and the targets stay as
    they are) and the events its rules report (``plan``'s: the same at every tick)."""
    rec = replay.recording
    if replay._window is not None:
        replay._window.skipped += 1
    rec.times.append(replay.sim.now_ms // 1000)
    rec.hedged.append(quiet_value(replay.reader, replay.stable))
    rec.short_index.append(len(rec.shorts) - 1)
    for asset in replay._varying:
        rec.hedge_coin[asset].append(replay._hedge_coin[asset])
    if plan.terms.events:
        replay.activity.events.update(plan.terms.events)
    rec.outside.append(False)
    rec.quiet.append(True)
    rec.shortfall.append(False)


def quiet_value(reader: SnapshotReader, stable: Mapping[str, float]) -> float:
    """``reader.account_value(stable)`` after a ``read`` with no change since the last one,
    without the read: the same float sums at the engine's prices now (``value_at``)."""
    price = reader.sim.price
    return reader.value_at({coin: float(price(coin)) for coin in reader._priced_coins}, stable)
