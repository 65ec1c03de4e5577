"""The replay skips a tick only when the daemon's ``decide()`` would do nothing on it.

On every tick the replay skips, ``SkipChecked`` calls ``bot.daemon.decide.decide`` itself with
the inputs the daemon would pass (margin terms, collateral settings, the rolling-day usage,
the previous plan's ``owned``) and checks that its plan has no order and no collateral action,
and that the ``owned`` and shortfall the replay keeps are the plan's. Books: margin shortfalls
(a BTC wallet too small for a SOL proxy hedge and its own USD-neutral hedge), a collateral hedge
sharing the rule's instrument, ``fund_from: spot`` with and without ``convert``, plain ratio
rules capped by their wallets, two plain rules on one instrument.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

import pytest

from bot.backtest import BacktestOptions, MarketData, load_for
from bot.backtest.collateral import Done
from bot.backtest.decision import BandCheck
from bot.backtest.runner import Replay
from bot.config.models import Config
from bot.core.exposure import face_usd
from bot.core.margin import carry_capacity, coin_wallets
from bot.core.types import HedgeTarget, Ownership, Snapshot
from bot.daemon.decide import Decision, decide
from strategies.base import HedgeRule
from tests.backtest.helpers import REPO, sim_config, utc

REPLAY = REPO / "data" / "replay"
# every tick judged here (the skip-ahead's windows record ticks without judging them: they are
# compared with this full path in ``test_skip_equivalence``)
OPTIONS = BacktestOptions(start=utc(2024, 3, 4), end=utc(2024, 4, 28), skip_ahead=False)
SOL_ON_BTC = """\
  - kind: beta
    asset: SOL
    ratio: 1
    hedge_with: BTC
    rho_floor: 0.3
    estimator: {interval: 1h, window: 240, method: ols, refresh_minutes: 60, max_age_hours: 3}
"""


class SkipChecked(Replay):
    """Runs ``decide()`` on every skipped tick and compares (module docstring)."""

    def __init__(self, config: Config, market: MarketData, options: BacktestOptions) -> None:
        super().__init__(config, market, options)
        self.seen: Counter[str] = Counter()

    def _skip(self, snapshot: Snapshot, check: BandCheck, tick: int) -> bool:
        now_s = self.sim.now_ms // 1000
        decision = decide(
            self.reader.with_tickers(snapshot),
            self.rules,
            self.settings,
            f"backtest:{tick}",
            betas=self.estimates.betas,
            realized_vol=self.estimates.vols,
            states=self.states,
            margin=self.terms,
            collateral=self.collateral,
            usage=None if self.collateral is None else self.usage.usage(now_s),
            owned=self.owned,
        )
        plan = decision.plan
        self._compare_wallets(snapshot)
        assert plan.orders == ()
        assert decision.collateral.actions == ()
        assert check.owned == plan.owned
        assert check.shortfall == bool(plan.shortfalls)
        self.seen["skipped"] += 1
        self.seen["shortfall"] += check.shortfall
        self.seen["shared"] += any(len(parts) > 1 for parts in plan.owned.values())
        self.seen["neutral_wide"] += _neutral_wide(decision.targets, plan.owned, snapshot)
        return super()._skip(snapshot, check, tick)

    def _decide(self, snapshot: Snapshot, tick: int, rules: Sequence[HedgeRule]) -> Decision:
        """On a tick that decides: the book's recalled answers give the decision the rules
        give (after collateral moves, ``decide()`` re-evaluates on another view: the rules
        answer themselves)."""
        decision = super()._decide(snapshot, tick, rules)
        assert decision == super()._decide(snapshot, tick, self.rules)
        self.seen["decided"] += 1
        return decision

    def _compare_wallets(self, snapshot: Snapshot) -> None:
        """The float wallets the checks use against ``coin_wallets`` of the snapshot."""
        states = self.reader.wallet_states(self.terms.leverage)
        for coin, wallet in coin_wallets(snapshot, self.terms.leverage).items():
            state = states[coin]
            price = float(wallet.price)
            assert state.equity(price) == pytest.approx(float(wallet.equity), rel=1e-9, abs=1e-9)
            assert state.face == pytest.approx(float(wallet.short_face), rel=1e-12)
            assert state.initial == pytest.approx(float(wallet.initial_margin), rel=1e-12)
            entry = 0.0 if wallet.entry is None else float(wallet.entry)
            assert state.entry == pytest.approx(entry, rel=1e-12)
            capacity = float(carry_capacity(wallet, self.terms))
            assert self.margin_check.capacity(state, price) == pytest.approx(
                capacity, rel=1e-9, abs=1e-6
            )
            self.seen["wallets"] += 1


def _neutral_wide(targets: Sequence[HedgeTarget], owned: Ownership, snapshot: Snapshot) -> bool:
    """Whether a margin coin held USD-neutral keeps a part of a shared short that is outside
    a band of its own target (the planner's band is of the instrument's whole target)."""
    band = Decimal("0.02")  # sim_config's
    for target in targets:
        parts = owned.get(target.instrument, {})
        if not target.collateral or len(parts) < 2 or target.asset not in parts:
            continue
        market = snapshot.markets[target.instrument]
        part_usd = face_usd(market, parts[target.asset], snapshot.prices[market.base])
        if abs(target.target_short_usd - part_usd) > band * target.target_short_usd:
            return True
    return False


def _run(config: Config) -> SkipChecked:
    replay = SkipChecked(config, load_for([config], REPLAY, OPTIONS), OPTIONS)
    replay.run()
    return replay


def _kinds(replay: Replay) -> Counter[str]:
    return Counter(d.action.kind for d in replay.activity.collateral if d.ok)


def test_margin_shortfall_with_a_shared_instrument() -> None:
    """0.5 BTC (about 33,000 USD) cannot carry a 130,000 USD SOL hedge at 50 % distance."""
    cfg = sim_config(rules=SOL_ON_BTC, spot="{SOL: 1000}", margin="{BTC: 0.5}", leverage="5")
    replay = _run(cfg)
    seen = replay.seen
    assert seen["skipped"] > 500
    assert seen["shortfall"] > 100  # skipped ticks that still report the shortfall
    assert seen["shared"] > 100  # SOL and the BTC collateral own parts of BTC/USD:BTC
    assert seen["wallets"] >= seen["skipped"]
    assert sum(replay.recording.shortfall) > seen["shortfall"]
    assert len(replay.recording.shortfall) == len(replay.recording.times)
    assert not replay.activity.rejected
    assert replay.activity.orders
    assert not replay.activity.collateral


@pytest.mark.parametrize("convert", [False, True])
def test_fund_from_spot(convert: bool) -> None:
    """Spot BTC tops the wallet up (small daily caps make it take days); with ``convert`` SOL
    is sold for BTC once the spot BTC is gone."""
    collateral = (
        f"collateral: {{fund_from: spot, convert: {str(convert).lower()}, fee_rate: 0.00055,\n"
        "  max_transfer_per_day_usd: 30000, max_convert_per_day_usd: 20000}"
    )
    cfg = sim_config(
        rules=SOL_ON_BTC,
        spot="{SOL: 1000, BTC: 0.6}",
        margin="{BTC: 0.2}",
        leverage="5",
        extra=collateral,
    )
    replay = _run(cfg)
    kinds = _kinds(replay)
    assert kinds["transfer"] >= 2
    assert (kinds["spot_sell"] > 0) is convert
    assert kinds["spot_sell"] == kinds["spot_buy"]
    assert all(d.ok for d in replay.activity.collateral)
    assert replay.seen["skipped"] > 300
    assert replay.seen["shared"] > 100
    assert not replay.activity.rejected
    usage = replay.usage.usage(replay.sim.now_ms // 1000)
    assert usage.transferred_usd <= 30_000 + 1


def _released(replay: Replay) -> list[Done]:
    return [d for d in replay.activity.collateral if d.ok and d.action.destination == "spot"]


def test_release_above_the_release_distance() -> None:
    """Far more margin than the hedge needs, on a coin with a rule of its own (BTC, hedged
    alike in spot and margin): the surplus goes back to spot, within the cap."""
    cfg = sim_config(
        rules=SOL_ON_BTC + "  - {asset: BTC, ratio: 1}\n",
        spot="{SOL: 1000}",
        margin="{BTC: 10}",
        leverage="2",
        extra="collateral: {fund_from: spot, max_transfer_per_day_usd: 50000}",
    )
    replay = _run(cfg)
    assert len(_released(replay)) >= 3
    assert replay.seen["skipped"] > 300
    assert replay.seen["shared"] > 300  # the SOL and BTC rules on BTC/USD:BTC
    assert not replay.activity.rejected


def test_a_neutral_margin_coin_is_never_released() -> None:
    """The same surplus on BTC held USD-neutral (no BTC rule): it stays in margin, where it is
    hedged, and the ticks it is idle on are skipped. Its part of the short is judged on the
    instrument's whole target."""
    cfg = sim_config(
        rules=SOL_ON_BTC,
        spot="{SOL: 1000}",
        margin="{BTC: 10}",
        leverage="5",
        extra="collateral: {fund_from: spot, max_transfer_per_day_usd: 50000}",
    )
    replay = _run(cfg)
    assert not replay.activity.collateral
    assert replay.seen["skipped"] > 1000
    assert replay.seen["shared"] > 1000
    assert replay.seen["neutral_wide"] > 0  # outside a band of its own target, inside this one
    assert not replay.activity.rejected


def test_plain_ratio_rules_capped_by_their_wallets() -> None:
    """Plain rules (the replay's cheapest path), a SOL wallet that carries its hedge only in
    part, and SOL topped up from spot on a second run."""
    rules = "  - {asset: SOL, ratio: 1}\n  - {asset: ETH, ratio: 1}"
    for extra in ("", "collateral: {fund_from: spot, max_transfer_per_day_usd: 5000}"):
        cfg = sim_config(
            rules=rules,
            spot="{SOL: 1000, ETH: 10}",
            margin="{SOL: 100, ETH: 10}",
            band="0.01",
            leverage="3",
            extra=extra,
        )
        replay = _run(cfg)
        assert replay.book.plain_owners is not None
        assert replay.seen["skipped"] > 300
        assert not replay.activity.rejected
        if extra:
            assert _kinds(replay)["transfer"] > 0
        else:
            assert replay.seen["shortfall"] > 100


def test_two_plain_rules_on_one_instrument() -> None:
    rules = "  - {asset: SOL, ratio: 0.5, instrument: BTC/USD:BTC}\n  - {asset: BTC, ratio: 1}"
    cfg = sim_config(rules=rules, spot="{SOL: 1000, BTC: 1}", margin="{BTC: 1}", leverage="5")
    replay = _run(cfg)
    assert replay.book.plain
    assert replay.book.plain_owners is None
    assert replay.seen["skipped"] > 300
    assert replay.seen["shared"] > 300
    assert replay.activity.orders
