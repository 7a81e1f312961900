"""Gittins indices of a Bernoulli arm with a Beta(a, b) posterior.

Three indices, all for one arm whose posterior on its success probability is Beta(a, b)
(a − 1 successes and b − 1 failures on top of the Beta(1, 1) prior), posterior mean μ = a/(a+b):

* `approx_gittins_index` — the closed-form approximation RL²'s authors used (their "approximate
  Gittins", run with γ = 1):  ν ≈ μ + μ(1−μ) / (m·sqrt((2c + 1/m)·μ(1−μ)) + μ − ½), m = a + b,
  c = ln(1/γ).
* `calibration_table` — the discounted Gittins index by the calibration (retirement) method
  (Gittins, Glazebrook & Weber 2011, §8.4): for a retirement reward λ per step, the value of the
  arm-or-retire problem satisfies
      V(a, b; λ) = max( λ/(1−γ),  μ·(1 + γ·V(a+1, b; λ)) + (1−μ)·γ·V(a, b+1; λ) ),
  and ν_γ(a, b) is the smallest λ at which retiring now is optimal. It is solved by backward
  induction over the anti-diagonals a + b = m, from a truncation m = M (where the posterior is
  treated as fixed: V = max(λ, μ)/(1−γ)) down to m = 2, vectorised over each anti-diagonal and over
  a grid of G retirement rates λ ∈ linspace(0, 1, G). ν is the midpoint between the first grid λ at
  which retiring is optimal and the grid point before it, as in the RL² authors' table code
  (M = 1000, G = 5000 there). `calibration_index` refines one state to any tolerance.
* `finite_horizon_table` — the finite-horizon (undiscounted) Gittins index ν_h(a, b), which depends
  on the number h of pulls left (Niño-Mora 2011): with h pulls left and a known arm paying λ,
      W_h(a, b; λ) = max( λ·h,  μ·(1 + W_{h−1}(a+1, b; λ)) + (1−μ)·W_{h−1}(a, b+1; λ) ),  W_0 = 0,
  and ν_h(a, b) is the λ at which both branches are equal. ν_1 = μ; ν_h grows with h.

Tables are computed once and cached on disk (`adaptax.storage.cache`).

Reference: J. Gittins, K. Glazebrook, R. Weber, "Multi-armed Bandit Allocation Indices", 2nd ed.
(2011), §8.4 and Table 8.4; J. Niño-Mora, "Computing a classic index for finite-horizon bandits",
INFORMS J. Computing 23(2), 2011; RL² (arXiv:1611.02779) §3.1 and REFERENCE.md "How the paper ran
its baselines".
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from adaptax._checks import require_int
from adaptax.storage.cache import cached_arrays

__all__ = [
    "FiniteHorizonTable",
    "approx_gittins_index",
    "calibration_index",
    "calibration_table",
    "finite_horizon_index",
    "finite_horizon_table",
    "gittins_table",
]

# Bump when an algorithm below changes, so that cached tables from older code are not reused.
_TABLE_VERSION = 1


def _check_gamma(gamma: float, *, allow_one: bool = False) -> float:
    gamma = float(gamma)
    upper_ok = gamma <= 1.0 if allow_one else gamma < 1.0
    if not (0.0 < gamma and upper_ok):
        bound = "(0, 1]" if allow_one else "(0, 1)"
        raise ValueError(f"discount gamma must lie in {bound}, got {gamma}")
    return gamma


def approx_gittins_index(a: np.ndarray, b: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """Closed-form approximate Gittins index of Beta(a, b) arms (the RL² authors' formula).

    ν ≈ μ + μ(1−μ) / (m·sqrt((2c + 1/m)·μ(1−μ)) + μ − ½),  m = a + b,  μ = a/m,  c = ln(1/γ).
    With γ = 1 (c = 0, as the paper ran it) this is μ + μ(1−μ)/(sqrt(m·μ(1−μ)) + μ − ½). For
    a, b >= 1 the denominator is at least sqrt(1/2) − 1/2 > 0.

    Args:
      a: success pseudo-counts (>= 1), any shape.
      b: failure pseudo-counts (>= 1), broadcastable with `a`.
      gamma: discount in (0, 1].

    Returns:
      The index, float64, with the broadcast shape of `a` and `b`.

    Example:
      >>> round(float(approx_gittins_index(1, 1)), 4)   # 0.5 + 0.25/(sqrt(0.5) + 0)
      0.8536

    Reference: REFERENCE.md, "How the paper ran its baselines", Bandits, Gittins (a).
    """
    gamma = _check_gamma(gamma, allow_one=True)
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if np.any(a < 1) or np.any(b < 1):
        raise ValueError("approx_gittins_index needs Beta pseudo-counts a, b >= 1")
    m = a + b
    mu = a / m
    c = np.log(1.0 / gamma)
    # Same association of operations as the authors' code, so that ties break the same way.
    return mu + (mu * (1 - mu)) / (m * ((2 * c + 1.0 / m) * mu * (1 - mu)) ** 0.5 + mu - 0.5)


def calibration_table(gamma: float, max_pulls: int = 1000, grid_size: int = 5000) -> np.ndarray:
    """Discounted Gittins indices ν_γ(a, b) for a + b <= M by calibration on a retirement grid.

    Backward induction over the anti-diagonals m = a + b, vectorised over each diagonal and over the
    grid λ_j = j/(G−1), j = 0..G−1 (retirement reward per step):
      m = M:      V(a, b; λ) = max(λ, a/M)/(1−γ),                ν(a, b) = a/M;
      m < M:      C(a, b; λ) = (a/m)(1 + γ V(a+1, b; λ)) + (b/m)·γ·V(a, b+1; λ),
                  V(a, b; λ) = max(λ/(1−γ), C(a, b; λ)),
                  ν(a, b) = (λ_{j*−1} + λ_{j*})/2,  j* = first j with λ_j/(1−γ) >= C(a, b; λ_j).
    This is the RL² authors' table algorithm (truncation and midpoint conventions included); its
    resolution is 1/(2(G−1)) and its truncation error shrinks like γ^(M − a − b).

    Args:
      gamma: discount in (0, 1).
      max_pulls: the truncation M = largest a + b (>= 3).
      grid_size: G, the number of retirement rates (>= 3).

    Returns:
      `nu`, float64 [M+1, M+1]: `nu[a, b]` is the index of Beta(a, b) for a, b >= 1, a + b <= M;
      other entries are NaN.

    Example:
      >>> nu = calibration_table(0.9, max_pulls=150, grid_size=2001)
      >>> bool(abs(nu[1, 1] - 0.7029) < 5e-4)   # Gittins et al. (2011) Table 8.4
      True

    Reference: Gittins, Glazebrook & Weber (2011) §8.4; REFERENCE.md, Bandits, Gittins (b).
    """
    gamma = _check_gamma(gamma)
    big_m = require_int("max_pulls (M)", max_pulls, 3)
    grid = require_int("grid_size (G)", grid_size, 3)
    r = np.linspace(0.0, 1.0, grid)
    safe = r / (1.0 - gamma)  # value of retiring for ever
    nu = np.full((big_m + 1, big_m + 1), np.nan)

    a = np.arange(1, big_m, dtype=np.float64)
    value = (1.0 / (1.0 - gamma)) * np.maximum(r[None, :], (a / big_m)[:, None])  # rows: a = 1..M−1
    nu[a.astype(int), big_m - a.astype(int)] = a / big_m
    for m in range(big_m - 1, 1, -1):
        a_int = np.arange(1, m)
        a = a_int.astype(np.float64)
        # `value` holds the diagonal m + 1 with row r ↔ a' = r + 1: success a → a + 1 (row a),
        # failure a → a (row a − 1).
        success, failure = value[1:m], value[: m - 1]
        cont = (a / m)[:, None] * (1.0 + gamma * success) + ((m - a) / m * gamma)[:, None] * failure
        retire = safe[None, :] >= cont
        value = np.maximum(safe[None, :], cont)
        first = np.argmax(retire, axis=1)
        first = np.where(retire[np.arange(m - 1), first], first, grid - 1)
        first = np.maximum(first, 1)  # λ = 0 never retires (C > 0); keeps j* − 1 on the grid
        nu[a_int, m - a_int] = 0.5 * (r[first] + r[first - 1])
    return nu


def gittins_table(gamma: float, max_pulls: int = 1000, grid_size: int = 5000) -> np.ndarray:
    """`calibration_table` computed once and then read from the disk cache.

    Args:
      gamma: discount in (0, 1).
      max_pulls: truncation M.
      grid_size: number of retirement rates G.

    Returns:
      `nu`, float64 [M+1, M+1], as `calibration_table`.

    Example:
      >>> nu = gittins_table(0.9, max_pulls=150, grid_size=2001)   # computed, then cached
      >>> nu.shape
      (151, 151)

    Reference: see `calibration_table`.
    """
    gamma = _check_gamma(gamma)
    params = {"gamma": gamma, "max_pulls": int(max_pulls), "grid_size": int(grid_size),
              "version": _TABLE_VERSION}
    arrays = cached_arrays(
        "gittins-calibration", params,
        lambda: {"nu": calibration_table(gamma, max_pulls, grid_size)},
    )
    return arrays["nu"]


def calibration_index(
    a: int, b: int, gamma: float, max_pulls: int = 2000, tol: float = 1e-7
) -> float:
    """One discounted Gittins index ν_γ(a, b), by calibration refined to `tol`.

    Same recursion as `calibration_table` restricted to the states reachable from (a, b)
    (a + j, b + l with a + b + j + l <= M), solved for 17 retirement rates at a time; the bracket
    [λ_lo, λ_hi] around the index shrinks 16-fold per round until it is narrower than `tol`.

    Args:
      a, b: Beta pseudo-counts, integers >= 1 with a + b < M.
      gamma: discount in (0, 1).
      max_pulls: truncation M; the truncation error is of order γ^(M − a − b).
      tol: width of the final bracket.

    Returns:
      The midpoint of the final bracket.

    Example:
      >>> round(calibration_index(1, 1, 0.9, max_pulls=300), 4)   # Gittins et al. Table 8.4
      0.7029

    Reference: Gittins, Glazebrook & Weber (2011) §8.4.
    """
    gamma = _check_gamma(gamma)
    a = require_int("a", a, 1)
    b = require_int("b", b, 1)
    big_m = require_int("max_pulls (M)", max_pulls, a + b + 1)
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    m0 = a + b
    lo, hi = 0.0, 1.0
    while hi - lo > tol:
        lam = np.linspace(lo, hi, 17)
        safe = lam / (1.0 - gamma)
        j = np.arange(big_m - m0 + 1)  # successes so far on the diagonal m0 + d: j = 0..d
        value = np.maximum(lam[None, :], ((a + j) / big_m)[:, None]) / (1.0 - gamma)
        for d in range(big_m - m0 - 1, -1, -1):
            m = m0 + d
            j = np.arange(d + 1)
            mu = (a + j) / m
            success, failure = value[1 : d + 2], value[: d + 1]
            cont = mu[:, None] * (1.0 + gamma * success) + (1.0 - mu)[:, None] * (gamma * failure)
            value = np.maximum(safe[None, :], cont)
        retire = safe >= cont[0]
        first = int(np.argmax(retire))
        lo, hi = float(lam[first - 1]), float(lam[first])
    return 0.5 * (lo + hi)


class FiniteHorizonTable(NamedTuple):
    """Finite-horizon Gittins indices ν_h(a, b) for h = 1..H and a + b − 2 <= H − h, packed.

    Attributes:
      values: float32 [Σ_h T(H−h+1)], T(S) = S(S+1)/2; level h holds the states s = a + b − 2 in
        0..H−h and i = a − 1 in 0..s at position `offsets[h] + s(s+1)/2 + i`.
      offsets: int64 [H+2]; `offsets[h]` is where level h starts (`offsets[0]` is unused).
    """

    values: np.ndarray
    offsets: np.ndarray

    @property
    def horizon(self) -> int:
        return len(self.offsets) - 2


def finite_horizon_index(
    table: FiniteHorizonTable, h: int, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Looks up ν_h(a, b) (vectorised over `a`, `b`) in a `FiniteHorizonTable`.

    Args:
      table: from `finite_horizon_table`.
      h: pulls left, 1..H (the current pull included).
      a, b: integer pseudo-counts (>= 1) with a + b − 2 <= H − h.

    Returns:
      float32 indices with the shape of `a`.

    Example:
      >>> t = finite_horizon_table(3)
      >>> round(float(finite_horizon_index(t, 1, np.array(2), np.array(1))), 4)   # ν_1 = μ = 2/3
      0.6667

    Reference: Niño-Mora (2011).
    """
    if not 1 <= h <= table.horizon:
        raise ValueError(f"pulls left h must lie in 1..{table.horizon}, got {h}")
    s = np.asarray(a) + np.asarray(b) - 2
    i = np.asarray(a) - 1
    if np.any(i < 0) or np.any(s < i) or np.any(s > table.horizon - h):
        raise ValueError(f"states must have a, b >= 1 and a + b - 2 <= {table.horizon - h}")
    return table.values[table.offsets[h] + s * (s + 1) // 2 + i]


def _level_offsets(horizon: int) -> np.ndarray:
    sizes = [0] + [(horizon - h + 1) * (horizon - h + 2) // 2 for h in range(1, horizon + 1)]
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def finite_horizon_table(
    horizon: int, grid_size: int = 33, chunk: int = 8
) -> FiniteHorizonTable:
    """Finite-horizon Gittins indices ν_h(a, b) for every h <= H and a + b − 2 <= H − h.

    For each retirement rate λ on a grid, one backward pass over h = 1..H gives, for all states
    (s = a+b−2, i = a−1) at once, the calibration values and their slopes in λ:
      C_h(s, i; λ) = μ(1 + W_{h−1}(s+1, i+1; λ)) + (1−μ) W_{h−1}(s+1, i; λ),   μ = (i+1)/(s+2),
      W_h = max(λh, C_h),    gap_h(λ) = λh − C_h(λ),
      ∂W_h/∂λ = h if gap_h >= 0 else ∂C_h/∂λ  (the expected number of retired pulls).
    gap_h is increasing (slope >= 1), concave and piecewise linear in λ, with kinks only at the
    indices of descendant states; it is negative at λ = 0 and >= 0 at λ = 1, so ν_h is its unique
    root. The root is bracketed on the grid, then taken as the larger of the roots of the two
    tangent lines at the bracket's ends: exact when at most one kink lies in the bracket, a lower
    bound within the bracket otherwise. ν_1 = μ exactly. The interior grid points are shifted off
    the simple fractions j/(G−1) so that they do not coincide with indices (kinks) such as μ = 1/2.
    Cost O(G·H³/3) time, O(chunk·H²) memory.

    Args:
      horizon: H, the largest number of pulls left (>= 1).
      grid_size: G (>= 3) retirement rates.
      chunk: retirement rates solved together (memory/speed trade-off).

    Returns:
      A `FiniteHorizonTable`.

    Example:
      >>> t = finite_horizon_table(10)
      >>> bool(finite_horizon_index(t, 10, np.array(1), np.array(1)) > 0.5)   # exploring pays
      True

    Reference: Niño-Mora (2011); Gittins, Glazebrook & Weber (2011) §8.4 (calibration).
    """
    horizon = require_int("horizon (H)", horizon, 1)
    grid = require_int("grid_size (G)", grid_size, 3)
    chunk = require_int("chunk", chunk, 1)
    lam_grid = np.linspace(0.0, 1.0, grid)
    lam_grid[1:-1] += (np.sqrt(2.0) - 1.0) * 1e-3 / (grid - 1)  # off simple fractions
    offsets = _level_offsets(horizon)
    values = np.full(offsets[-1], np.nan, np.float64)
    size = horizon + 1
    s_col = np.arange(size, dtype=np.float64)[:, None]
    i_row = np.arange(size, dtype=np.float64)[None, :]
    mu_all = np.minimum((i_row + 1) / (s_col + 2), 1.0)  # entries with i > s are never read
    tri = [np.tril_indices(horizon - h + 1) for h in range(horizon + 1)]

    # Chunks of grid points; consecutive chunks share one point so that every bracket
    # [λ_j, λ_{j+1}] lies inside one chunk.
    for start in range(0, grid - 1, chunk):
        lam = lam_grid[start : min(start + chunk, grid - 1) + 1][:, None, None]
        w_prev = np.zeros((len(lam), size + 1, size + 1))
        dw_prev = np.zeros_like(w_prev)
        for h in range(1, horizon + 1):
            s_len = horizon - h + 1
            mu = mu_all[:s_len, :s_len]
            succ = (slice(None), slice(1, s_len + 1), slice(1, s_len + 1))  # (s+1, i+1)
            fail = (slice(None), slice(1, s_len + 1), slice(0, s_len))  # (s+1, i)
            cont = mu * (1.0 + w_prev[succ]) + (1.0 - mu) * w_prev[fail]
            dcont = mu * dw_prev[succ] + (1.0 - mu) * dw_prev[fail]
            gap = lam * h - cont
            retire = gap >= 0.0
            w_prev = np.where(retire, lam * h, cont)
            dw_prev = np.where(retire, float(h), dcont)
            g = gap[:, tri[h][0], tri[h][1]]  # [chunk+1, T]: the valid states of level h
            below = g < 0.0
            cross = below[:-1] & ~below[1:]  # the root lies in (λ_j, λ_{j+1}]
            found = np.nonzero(cross.any(axis=0))[0]
            if found.size == 0:
                continue
            j = np.argmax(cross[:, found], axis=0)
            slope = h - dcont[:, tri[h][0][found], tri[h][1][found]]  # d gap / dλ, >= 1
            rows = np.arange(found.size)
            l0, l1 = lam[j, 0, 0], lam[j + 1, 0, 0]
            root0 = l0 - g[j, found] / slope[j, rows]
            root1 = l1 - g[j + 1, found] / slope[j + 1, rows]
            values[offsets[h] + found] = np.clip(np.maximum(root0, root1), l0, l1)
    if np.isnan(values).any():  # cannot happen: gap(0) < 0 <= gap(1) for every state
        raise RuntimeError("finite_horizon_table: a state's index was not bracketed")
    return FiniteHorizonTable(values=values.astype(np.float32), offsets=offsets)


def cached_finite_horizon_table(horizon: int, grid_size: int = 33) -> FiniteHorizonTable:
    """`finite_horizon_table` computed once and then read from the disk cache.

    Args:
      horizon: H.
      grid_size: G.

    Returns:
      A `FiniteHorizonTable`.

    Example:
      >>> cached_finite_horizon_table(5).horizon
      5

    Reference: see `finite_horizon_table`.
    """
    params = {"horizon": int(horizon), "grid_size": int(grid_size), "version": _TABLE_VERSION}
    arrays = cached_arrays(
        "gittins-finite-horizon", params,
        lambda: finite_horizon_table(horizon, grid_size)._asdict(),
    )
    return FiniteHorizonTable(values=arrays["values"], offsets=arrays["offsets"])
