"""The correlation gate of a proxy hedge: a continuous taper, a one-tick dip that trades no more
than the taper's change, and a lift only on a real breakdown (with hysteresis)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from strategies.rho_gate import RhoGateState, step_rho_gate, taper_scale
from strategies.state import RuleState
from tests.strategies.helpers import NOW, beta_rule, estimate, exposure, inputs, markets
from tests.strategies.test_beta_rule import BTC, inverse, only

D = Decimal
FLOOR, TAPER = D("0.4"), D("0.2")
rhos = st.decimals(D("-1"), D("1"), places=6)


@given(rhos, st.decimals(D("0.000001"), D("0.01"), places=6))
def test_the_taper_is_continuous_and_monotone_in_rho(rho: Decimal, step: Decimal) -> None:
    """A change of ρ by ``step`` moves the kept share by at most step / taper (Lipschitz:
    continuous), never the other way (monotone), and always within 0..1."""
    low, high = taper_scale(rho, FLOOR, TAPER), taper_scale(rho + step, FLOOR, TAPER)
    assert 0 <= low <= high <= 1
    assert high - low <= step / TAPER


def test_the_taper_runs_from_the_floor_to_its_bottom() -> None:
    assert taper_scale(D("0.4"), FLOOR, TAPER) == 1
    assert taper_scale(D("0.3"), FLOOR, TAPER) == D("0.5")
    assert taper_scale(D("0.2"), FLOOR, TAPER) == 0
    assert taper_scale(D("-0.5"), FLOOR, TAPER) == 0


@given(st.decimals(D("0.30"), D("0.95"), places=3), st.decimals(D("0.0"), D("0.6"), places=3))
def test_a_one_tick_dip_trades_no_more_than_the_tapers_change(
    before: Decimal, dip: Decimal
) -> None:
    """The rule's target moves, on a dip of ρ for one tick, by exactly what the taper says:
    ratio × exposure × β × (scale(before) − scale(after)); then it comes back."""
    after = before - dip
    rule = beta_rule("SOL", ratio="1", hedge_with="BTC")
    listed = markets(inverse(BTC))
    book = [exposure("SOL", 1_000, 150)]
    state: RuleState | None = None
    targets = []
    for rho in (before, after, before):
        betas = {("SOL", "BTC"): estimate(1.2, float(rho))}
        states = {} if state is None else {"SOL": state}
        result = rule.evaluate(inputs(book, listed, betas, states=states))
        state = result.state
        targets.append(only(result.targets).target_short_usd)
    full = D(150_000) * D("1.2")
    change = full * (taper_scale(before, FLOOR, TAPER) - taper_scale(after, FLOOR, TAPER))
    assert targets[0] - targets[1] == change
    assert targets[2] == targets[0]
    assert abs(targets[0] - targets[1]) <= full * dip / TAPER


def test_a_long_breakdown_lifts_the_hedge_until_rho_is_back_at_the_floor() -> None:
    step = RhoGateState()
    hour = timedelta(hours=1)
    kwargs = {"floor": FLOOR, "taper": TAPER, "breakdown": timedelta(hours=24)}
    for hours in range(24):
        gate = step_rho_gate(step, D("0.1"), NOW + hours * hour, **kwargs)
        assert gate.scale == 0
        assert not gate.broke
        step = gate.state
    gate = step_rho_gate(step, D("0.1"), NOW + 24 * hour, **kwargs)
    assert gate.broke
    assert gate.state.broken
    # half-way up the taper: a healthy proxy would be half hedged, a broken one stays lifted
    gate = step_rho_gate(gate.state, D("0.3"), NOW + 25 * hour, **kwargs)
    assert gate.scale == 0
    assert gate.state.broken
    gate = step_rho_gate(gate.state, D("0.4"), NOW + 26 * hour, **kwargs)
    assert gate.scale == 1
    assert gate.healed
    assert gate.state == RhoGateState()


def test_the_rule_raises_breakdown_and_restore_events() -> None:
    rule = beta_rule("SOL", ratio="1", hedge_with="BTC")
    listed = markets(inverse(BTC))
    book = [exposure("SOL", 1_000, 150)]
    state = RuleState()
    kinds = []
    for hours, rho in [(0, 0.1), (24, 0.1), (25, 0.3), (26, 0.5)]:
        now = NOW + timedelta(hours=hours)
        betas = {("SOL", "BTC"): estimate(1.2, rho, now=now)}
        result = rule.evaluate(inputs(book, listed, betas, now=now, states={"SOL": state}))
        state = result.state
        kinds.append(([e.kind for e in result.events], only(result.targets).target_short_usd))
    assert kinds == [
        (["low_rho"], 0),
        (["low_rho", "rho_breakdown"], 0),
        (["low_rho"], 0),
        (["rho_restored"], D("180000.0")),
    ]
    assert RuleState.from_json(state.to_json()) == state
