"""Recording a tick the skip-ahead (``bot.backtest.skip``) did not judge, as the full path
records a quiet one."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.backtest.runner import Replay
    from bot.backtest.skip import QuietPlan
    from bot.backtest.snapshot import SnapshotReader

ZERO = Decimal(0)
ONE = Decimal(1)


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
    without the read: the same Decimal PnL of each open position (all inverse, with an entry:
    ``QuietWindow.plan`` makes no plan otherwise) and the same float sums in the same order. The
    reader is left as it was: its next read reprices from the engine's positions anyway."""
    price = reader.sim.price
    floats = {coin: float(price(coin)) for coin in reader._priced_coins}
    upnl: dict[str, Decimal] = dict.fromkeys(reader._margin, ZERO)
    for _, market, pos, face, inverse_entry in reader._pnl_terms:
        if face is None:
            raise AssertionError("a window over a position without PnL constants")
        pnl = face * (ONE / price(market.base) - inverse_entry)
        if pos.contracts > 0:
            pnl = -pnl
        upnl[market.settle] += pnl
    total = 0.0
    for coin, amount in reader._coins_f:
        total += amount * (floats[coin] if coin in floats else reader._usd(coin, stable))
    for coin in reader._pnl_coins:
        value = upnl[coin]
        if value:
            total += float(value) * (floats[coin] if coin in floats else reader._usd(coin, stable))
    return total
