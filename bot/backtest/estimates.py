"""The daemon's β and volatility estimates (``bot.daemon.estimates.EstimateCache``), on the feed.

Same schedule (``strategies.requests.is_due`` for β, ``VOL_REFRESH`` for volatility), same
candles (what ``fetch_candles`` pages out of the simulator: the closed candles opened in
``[ceil((now − interval·count) / interval)·interval, now − interval]``, newest ``count``), same
statistics (``estimate_beta`` / ``realized_vol`` with ``estimate_for`` / ``vol_for``'s
parameters). The candles and returns are cut from each coin's whole history computed once
(``bot.backtest.history``) instead of being fetched and computed at every refresh.

A due β is estimated when a rule first reads it (``LazyBetas``), as of the tick it fell due:
the value is the daemon's, but one nobody reads before the next refresh (a proxy's β while the
asset's own contract is used, say) is never computed. The backtest reports no estimates, so
nothing else needs them. ``tests/backtest`` compares the result with ``EstimateCache`` on real
data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar, overload

from bot.backtest.history import History
from bot.daemon.estimates import VOL_REFRESH
from bot.sim.feed import ReplayFeed
from bot.sim.series import to_epoch
from bot.stats.beta import BetaEstimate
from bot.stats.returns import CloseSeries, aligned_returns
from bot.stats.vol import realized_vol
from strategies.base import HedgeRule, collect_requests
from strategies.requests import BetaRequest, due_since, estimate_on_returns

BetaKey = tuple[str, str]
T = TypeVar("T")


@dataclass(slots=True)
class _Due:
    """A β that fell due at ``at``, and its estimate once computed."""

    request: BetaRequest
    at: datetime
    estimate: BetaEstimate | None = None


class LazyBetas(Mapping[BetaKey, BetaEstimate]):
    """The latest β per ``(asset, hedge coin)``; a scheduled one is computed on first read.

    ``schedule(request, now)`` replaces the entry with the estimate ``compute(request, now)``
    would give; reading it computes that once. The keys are every key ever scheduled, in the
    order first scheduled (like the daemon's dict)."""

    def __init__(self, compute: Callable[[BetaRequest, datetime], BetaEstimate]) -> None:
        self._compute = compute
        self._entries: dict[BetaKey, _Due] = {}
        self.computed = 0
        self._pending = 0  # entries scheduled and not computed yet
        self._plain: dict[BetaKey, BetaEstimate] | None = None  # see ``view``

    def schedule(self, request: BetaRequest, now: datetime) -> None:
        entry = self._entries.get(request.key)
        if entry is None:
            self._entries[request.key] = _Due(request, now)
            self._pending += 1
        else:
            if entry.estimate is not None:
                self._pending += 1
            entry.at, entry.estimate = now, None
        self._plain = None

    def view(self) -> Mapping[BetaKey, BetaEstimate]:
        """What rules read: this mapping while some entry is still to be computed on first
        read; once all are, a plain dict of the same entries in the same order (a rule's
        ``get`` is then a dict's), until the next ``schedule``."""
        if self._pending:
            return self
        plain = self._plain
        if plain is None:
            plain = self._plain = {key: self[key] for key in self._entries}
        return plain

    def due_at(self, key: BetaKey) -> datetime | None:
        """When ``key`` last fell due (None: never)."""
        entry = self._entries.get(key)
        return None if entry is None else entry.at

    def known(self, key: BetaKey) -> BetaEstimate | None:
        """``key``'s estimate if it was computed (read) since it last fell due, else None;
        never computes one (a read counts in ``computed``)."""
        entry = self._entries.get(key)
        return None if entry is None else entry.estimate

    def __getitem__(self, key: BetaKey) -> BetaEstimate:
        entry = self._entries[key]  # KeyError: never scheduled
        if entry.estimate is None:
            entry.estimate = self._compute(entry.request, entry.at)
            self.computed += 1
            self._pending -= 1
        return entry.estimate

    @overload
    def get(self, key: BetaKey, /) -> BetaEstimate | None: ...

    @overload
    def get(self, key: BetaKey, /, default: BetaEstimate | T) -> BetaEstimate | T: ...

    def get(self, key: BetaKey, /, default: object = None) -> object:
        # ``Mapping.get`` goes through ``__getitem__`` and an exception handler: rules call
        # this every tick for every proxy.
        entry = self._entries.get(key)
        if entry is None:
            return default
        estimate = entry.estimate
        return self[key] if estimate is None else estimate

    def __iter__(self) -> Iterator[BetaKey]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class Estimates:
    """The latest β per ``(asset, hedge coin)`` and volatility per coin, refreshed when due."""

    def __init__(self, feed: ReplayFeed, rules: Sequence[HedgeRule]) -> None:
        self.feed = feed
        self.beta_requests, self.vol_requests = collect_requests(rules)
        self._beta_keys = [(request, request.key) for request in self.beta_requests]
        self.betas = LazyBetas(self._estimate)
        self.vols: dict[str, float] = {}
        self.due = 0  # β estimates that fell due (``betas.computed`` of them were read)
        self._vols_at: dict[str, datetime] = {}
        self._next_beta: datetime | None = None  # no β falls due before this (None: ask)
        self.history = History(feed)
        self._now: tuple[datetime | None, int] = (None, 0)  # the last ``now`` estimated at, in s

    @property
    def needed(self) -> bool:
        return bool(self.beta_requests or self.vol_requests)

    def refresh(self, now: datetime) -> None:
        """Re-estimate every due β and volatility (see the module docstring)."""
        if self._next_beta is None or now >= self._next_beta:
            self._refresh_betas(now)
        for vol in self.vol_requests:
            last = self._vols_at.get(vol.coin)
            if last is not None and now - last < VOL_REFRESH:
                continue
            now_s = to_epoch(now)
            series = self.closes(vol.coin, vol.interval_seconds, vol.candles_needed, now_s)
            value = realized_vol(
                series,
                vol.window,
                min_observations=max(2, vol.window // 2),
                now=now,
                max_age=vol.max_age,
            )
            self._vols_at[vol.coin] = now
            if value is None:
                self.vols.pop(vol.coin, None)
            else:
                self.vols[vol.coin] = value

    def _refresh_betas(self, now: datetime) -> None:
        """Schedule every due β (``due_since``); ``_next_beta``: the earliest instant one falls
        due again (``due_since`` is ``now − estimated_at >= refresh``), before which no tick
        needs to ask."""
        betas = self.betas
        upcoming: datetime | None = None
        for request, key in self._beta_keys:
            at = betas.due_at(key)
            if due_since(request, at, now):
                betas.schedule(request, now)  # now due at ``now``
                self.due += 1
                at = now
            if at is not None:
                due = at + request.params.refresh
                if upcoming is None or due < upcoming:
                    upcoming = due
        self._next_beta = upcoming

    def _estimate(self, request: BetaRequest, now: datetime) -> BetaEstimate:
        """``estimate_for`` on the candles the daemon would fetch at ``now``."""
        p = request.params
        if now is not self._now[0]:  # the βs due at one tick are computed as of one ``now``
            self._now = (now, to_epoch(now))
        now_s = self._now[1]
        if p.method == "ols":  # O(1) from prefix sums, the same estimate (``History.ols``)
            found = self.history.ols(request, now_s, now)
            if found is not None:
                return found
        returns = self.history.aligned(request, now_s)
        if returns is None:  # what ``estimate_beta`` does with the fetched candles
            returns = aligned_returns(
                self.closes(request.asset, p.interval_seconds, p.candles_needed, now_s),
                self.closes(request.hedge, p.interval_seconds, p.candles_needed, now_s),
                p.aggregate_seconds,
            )
        return estimate_on_returns(request, returns, now)

    def closes(self, coin: str, interval_s: int, count: int, now_s: int) -> CloseSeries:
        """The closes the daemon would fetch at ``now_s`` (``History.closes``)."""
        return self.history.closes(coin, interval_s, count, now_s)
