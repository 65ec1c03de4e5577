"""OLS moments from exact integer sums of quantised log returns.

Each log return ``r`` is rounded to a multiple of ``QUANTUM`` (``q = rint(r / QUANTUM)``, an
int64), and a window's OLS statistics come from six exact integers: ``n``, ``Σa``, ``Σb``,
``Σab``, ``Σaa``, ``Σbb`` (``a``/``b``: the asset's/hedge's quantised returns). Integer sums do
not depend on the order or grouping of the additions, so an estimate depends only on its
window's returns: the daemon (which sums one window here) and the backtest (which takes the
difference of two prefix sums over the whole history, ``bot.backtest.ols_windows``) get the
same floats, bit for bit. From the sums, with Python ints (exact):

    β = (nΣab − ΣaΣb) / (nΣbb − Σb²),   ρ = (nΣab − ΣaΣb) / sqrt((nΣaa − Σa²)(nΣbb − Σb²)),
    var = (nΣxx − Σx²) / (n(n − 1)) · QUANTUM²   (sample variance, ddof 1),

β and the variances each one correctly rounded int/int division.

Why ``QUANTUM = 2**-36`` (1.5e-11 in log-return units):

- a power of two: ``r / QUANTUM`` is an exact float (only the rounding to an integer changes
  ``r``), and rescaling the variances by ``QUANTUM²`` is exact;
- fine: the rounding error (at most 7.3e-12 a return) is 3.6e-9 of a quiet hour's move
  (0.2 %) and averages out over a window: from the float two-pass formula, β moves by at most
  2.3e-10 relative over the 720-hour windows of five real pairs (ρ and the deviations less;
  ``tests/stats/test_ols_exact.py``), far below the 6 decimals a rule keeps of it;
- the products need more than 64 bits (|q| is about 7e8 for a 1 % move), so each ``q`` is
  split in two limbs, ``q = h·2**16 + l`` with ``0 <= l < 2**16``, and the sums of the limb
  products (``LIMB_TERMS`` columns) are taken in int64, then recombined with Python ints.
  Those int64 sums are exact for a window of at most ``MAX_WINDOW`` (2**18) returns whose every
  ``|q| < MAX_STEP`` (2**38, i.e. |r| < 4: a move beyond ×55 or ÷55 in one bar): each column's
  terms are then at most 2**44 in size, so n of them stay within 2**62. A window outside those
  bounds (``fits_int64``) is summed with Python ints instead: slower, equally exact. The
  daemon's path and the backtest's decide this by the same test on the same window, and
  either way the integers are the exact sums.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

QUANTUM_BITS = 36
QUANTUM = 2.0**-QUANTUM_BITS  # log-return units per integer step
_SCALE = 2.0**QUANTUM_BITS
_VARIANCE_SCALE = QUANTUM * QUANTUM  # 2**-72: exact
LIMB_BITS = 16
_LOW_MASK = (1 << LIMB_BITS) - 1
MAX_STEP = 2**38  # |q| below this (|r| < 4) for the int64 sums (module docstring)
MAX_WINDOW = 2**18  # and windows of at most this many returns
# No log return of two positive floats is this large (|ln(x/y)| < 1500 for any): larger values
# (or non-finite ones) are not quantised, they have no meaningful moments. 2**20 · 2**36 = 2**56
# keeps every q within int64.
MAX_RETURN = 2.0**20
LIMB_TERMS = 11  # columns of ``limb_terms``

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
# (Σa, Σb, Σab, Σaa, Σbb) of a window's quantised returns, exact
Sums = tuple[int, int, int, int, int]


def quantisable(values: FloatArray) -> bool:
    """Whether every value is finite and below ``MAX_RETURN`` in size (see ``quantise``)."""
    if not values.size:
        return True
    return bool(np.isfinite(values).all()) and float(np.abs(values).max()) < MAX_RETURN


def quantise(values: FloatArray) -> IntArray:
    """Log returns as integer multiples of ``QUANTUM`` (the nearest, ties to even); the values
    must be ``quantisable``."""
    steps: IntArray = np.rint(values * _SCALE).astype(np.int64)
    return steps


def beyond_int64(asset: IntArray, hedge: IntArray) -> BoolArray:
    """Per return: whether either quantised value is too large for the int64 sums."""
    flags: BoolArray = (np.abs(asset) >= MAX_STEP) | (np.abs(hedge) >= MAX_STEP)
    return flags


def fits_int64(asset: IntArray, hedge: IntArray, window: int) -> bool:
    """Whether the int64 limb sums of these quantised returns (at most ``window`` of them) are
    exact: ``window <= MAX_WINDOW`` and every ``|q| < MAX_STEP`` (module docstring)."""
    return window <= MAX_WINDOW and not bool(beyond_int64(asset, hedge).any())


def limb_terms(asset: IntArray, hedge: IntArray) -> IntArray:
    """Per return, the ``LIMB_TERMS`` int64 terms whose column sums ``combine`` recombines:
    ``a``, ``b``, then for each of ``ab``, ``aa``, ``bb`` (``x = hx·2**16 + lx``): ``hx·hy``,
    ``hx·ly + lx·hy``, ``lx·ly``. Exact for ``|q| < MAX_STEP``; beyond, they wrap (modulo
    2**64) and must not be summed in int64."""
    ha, la = asset >> LIMB_BITS, asset & _LOW_MASK
    hb, lb = hedge >> LIMB_BITS, hedge & _LOW_MASK
    terms: IntArray = np.column_stack(
        (
            asset,
            hedge,
            ha * hb,
            ha * lb + la * hb,
            la * lb,
            ha * ha,
            2 * ha * la,
            la * la,
            hb * hb,
            2 * hb * lb,
            lb * lb,
        )
    )
    return terms


def combine(totals: Sequence[int]) -> Sums:
    """(Σa, Σb, Σab, Σaa, Σbb) from the column sums of ``limb_terms`` (Python ints)."""
    high = 2 * LIMB_BITS
    return (
        totals[0],
        totals[1],
        (totals[2] << high) + (totals[3] << LIMB_BITS) + totals[4],
        (totals[5] << high) + (totals[6] << LIMB_BITS) + totals[7],
        (totals[8] << high) + (totals[9] << LIMB_BITS) + totals[10],
    )


def window_sums(asset: IntArray, hedge: IntArray, window: int) -> Sums:
    """Exact (Σa, Σb, Σab, Σaa, Σbb) of a window's quantised returns (at most ``window``): the
    int64 limb sums when ``fits_int64``, else Python ints. Both give the same integers."""
    if fits_int64(asset, hedge, window):
        if not asset.size:
            return (0, 0, 0, 0, 0)
        totals: list[int] = np.add.reduce(limb_terms(asset, hedge), axis=0).tolist()
        return combine(totals)
    a, b = asset.tolist(), hedge.tolist()
    return (
        sum(a),
        sum(b),
        sum(x * y for x, y in zip(a, b, strict=True)),
        sum(x * x for x in a),
        sum(y * y for y in b),
    )


def ols_from_sums(n: int, sums: Sums) -> tuple[float, float, float, float] | None:
    """(β, ρ, var_asset, var_hedge) of ``n`` returns with these exact sums; None when ``n < 2``
    or a series has no variance (all its quantised returns equal).

    β (hedge per asset) and ρ are dimensionless; the variances are per bar at the returns'
    horizon, in squared log-return units, sample (ddof 1). Every difference is an exact int;
    β and the variances are correctly rounded int/int divisions; ρ rounds the product of the
    two centred sums of squares once before its square root.
    """
    if n < 2:
        return None
    sa, sb, sab, saa, sbb = sums
    sxx = n * saa - sa * sa  # n² · the biased variance of a, in QUANTUM² units: exact
    syy = n * sbb - sb * sb
    if sxx <= 0 or syy <= 0:
        return None
    sxy = n * sab - sa * sb
    rho = max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))
    pairs = n * (n - 1)
    return sxy / syy, rho, sxx / pairs * _VARIANCE_SCALE, syy / pairs * _VARIANCE_SCALE
