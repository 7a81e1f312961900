"""Tests of adaptax.baselines.gittins: known values, slow references, bounds, caching."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from adaptax.baselines import gittins as G


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ADAPTAX_CACHE", str(tmp_path / "cache"))


# ----------------------------------------------------------------------------- approximate index


def test_approx_index_known_values():
    # γ = 1 (c = 0): ν = μ + μ(1−μ)/(sqrt(m μ(1−μ)) + μ − ½)
    # (1, 1): 0.5 + 0.25/(sqrt(0.5) + 0) = 0.5 + 0.353553 = 0.853553
    assert G.approx_gittins_index(1, 1) == pytest.approx(0.8535533906, abs=1e-10)
    # (2, 1): m = 3, μ = 2/3, μ(1−μ) = 2/9: 2/3 + (2/9)/(sqrt(2/3) + 1/6) = 0.666667 + 0.226028
    assert G.approx_gittins_index(2, 1) == pytest.approx(0.8926944629, abs=1e-10)
    # γ = 0.9: c = ln(1/0.9) = 0.105361; 2·sqrt((2c + 1/2)·0.25) = 0.843044; 0.5 + 0.25/0.843044
    assert G.approx_gittins_index(1, 1, 0.9) == pytest.approx(0.7965448766, abs=1e-10)


def test_approx_index_is_vectorised_and_optimistic():
    a, b = np.meshgrid(np.arange(1, 30), np.arange(1, 30), indexing="ij")
    nu = G.approx_gittins_index(a, b)
    assert nu.shape == a.shape
    assert np.all(nu > a / (a + b))  # an index exceeds the posterior mean
    assert np.all(np.diff(nu, axis=0) > 0) and np.all(np.diff(nu, axis=1) < 0)


# ----------------------------------------------------------------------------- calibration


def slow_calibration_table(gamma: float, big_m: int, grid: int) -> dict:
    """The calibration recursion state by state and rate by rate, with Python floats."""
    r = [float(x) for x in np.linspace(0.0, 1.0, grid)]  # λ_j = j/(G−1), as numpy rounds them
    values: dict = {}
    nu: dict = {}
    for a in range(1, big_m):
        b = big_m - a
        values[a, b] = [(1.0 / (1.0 - gamma)) * max(rj, a / big_m) for rj in r]
        nu[a, b] = a / big_m
    for m in range(big_m - 1, 1, -1):
        for a in range(1, m):
            b = m - a
            first = None
            row = []
            for j, rj in enumerate(r):
                safe = rj / (1.0 - gamma)
                cont = (a / m) * (1.0 + gamma * values[a + 1, b][j]) + (b / m * gamma) * values[
                    a, b + 1
                ][j]
                row.append(max(safe, cont))
                if first is None and safe >= cont:
                    first = j
            values[a, b] = row
            nu[a, b] = 0.5 * (r[first] + r[first - 1])
    return nu


def test_calibration_table_matches_slow_recursion():
    nu = G.calibration_table(0.9, max_pulls=14, grid_size=61)
    slow = slow_calibration_table(0.9, 14, 61)
    for (a, b), value in slow.items():
        assert nu[a, b] == value, (a, b)
    assert np.isnan(nu[0, 5]) and np.isnan(nu[10, 10])  # outside a, b >= 1, a + b <= M


def test_known_values_of_the_discounted_index():
    """ν_0.9(1, 1) = 0.7029 and ν_0.99(1, 1) = 0.8699 (Gittins, Glazebrook & Weber 2011, Table 8.4).

    Truncation: replacing the future by "posterior frozen" at a + b = M changes V by at most
    γ^(M−2)/(1−γ) at (1, 1), i.e. the index by about γ^(M−2): 0.9^298 ≈ 2e-14 and
    0.99^998 ≈ 4e-5 (and in practice far less: see the next test). tol = 1e-7 ≪ 5e-5, the
    rounding of the published 4 digits.
    """
    assert abs(G.calibration_index(1, 1, 0.9, max_pulls=300) - 0.7029) < 5e-5
    assert abs(G.calibration_index(1, 1, 0.99, max_pulls=1000) - 0.8699) < 5e-5


def test_truncation_at_1000_is_converged_for_gamma_099():
    near = G.calibration_index(1, 1, 0.99, max_pulls=1000, tol=1e-9)
    far = G.calibration_index(1, 1, 0.99, max_pulls=1500, tol=1e-9)
    assert abs(near - far) < 1e-6


def test_table_within_half_a_grid_step_of_refined_index():
    grid = 2001
    nu = G.calibration_table(0.9, max_pulls=150, grid_size=grid)
    half_step = 0.5 / (grid - 1)
    for a, b in [(1, 1), (2, 1), (1, 2), (5, 3), (3, 9), (10, 10)]:
        exact = G.calibration_index(a, b, 0.9, max_pulls=300)
        assert abs(nu[a, b] - exact) <= half_step + 1e-7, (a, b)
    assert abs(nu[1, 1] - 0.7029) < 5e-4


def test_table_is_an_index():
    nu = G.calibration_table(0.9, max_pulls=60, grid_size=401)
    a, b = np.meshgrid(np.arange(1, 30), np.arange(1, 30), indexing="ij")
    vals = nu[a, b]
    assert np.all(vals >= a / (a + b) - 1e-3)  # >= posterior mean (up to the grid step)
    assert np.all(np.diff(vals, axis=0) >= 0) and np.all(np.diff(vals, axis=1) <= 0)


def test_gittins_table_is_cached(monkeypatch):
    calls = []
    real = G.calibration_table

    def counting(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(G, "calibration_table", counting)
    first = G.gittins_table(0.9, 40, 101)
    second = G.gittins_table(0.9, 40, 101)
    assert len(calls) == 1
    np.testing.assert_array_equal(first, second)
    G.gittins_table(0.95, 40, 101)
    assert len(calls) == 2


# ----------------------------------------------------------------------------- finite horizon


def slow_finite_horizon_index(a: int, b: int, h: int, tol: float = 1e-11) -> float:
    """Bisection on λ of λh = μ(1 + W_{h−1}(a+1, b)) + (1−μ) W_{h−1}(a, b+1), W by recursion."""

    def continuation(lam: float) -> float:
        @cache
        def w(a: int, b: int, h: int) -> float:
            if h == 0:
                return 0.0
            mu = a / (a + b)
            return max(lam * h, mu * (1 + w(a + 1, b, h - 1)) + (1 - mu) * w(a, b + 1, h - 1))

        mu = a / (a + b)
        return mu * (1 + w(a + 1, b, h - 1)) + (1 - mu) * w(a, b + 1, h - 1)

    lo, hi = 0.0, 1.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if mid * h >= continuation(mid):
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def test_finite_horizon_index_against_bisection():
    """Every state of H = 8: the table is a lower bound within 1e-3, exact for most states.

    The root of the concave piecewise-linear gap(λ) is taken as the larger of the two end tangents'
    roots in its grid bracket: exact when the bracket holds at most one kink, below otherwise.
    """
    horizon = 8
    table = G.finite_horizon_table(horizon, grid_size=33)
    errors = []
    for h in range(1, horizon + 1):
        for s in range(horizon - h + 1):
            for i in range(s + 1):
                a, b = i + 1, s - i + 1
                got = float(G.finite_horizon_index(table, h, np.array(a), np.array(b)))
                exact = slow_finite_horizon_index(a, b, h)
                errors.append(exact - got)
                if h == 1:  # ν_1 = μ
                    assert got == pytest.approx(a / (a + b), abs=1e-7)
    errors = np.array(errors)
    assert errors.min() > -1e-6  # a lower bound (float32 storage aside)
    assert errors.max() < 1e-3
    assert np.mean(errors < 1e-6) > 0.85


def test_finite_horizon_index_grows_with_the_horizon():
    table = G.finite_horizon_table(30)
    for a, b in [(1, 1), (3, 2), (2, 5)]:
        nus = [float(G.finite_horizon_index(table, h, np.array(a), np.array(b)))
               for h in range(1, 30 - (a + b - 2) + 1)]
        assert nus[0] == pytest.approx(a / (a + b), abs=1e-7)
        assert np.all(np.diff(nus) > -1e-3)
        assert nus[-1] > nus[0] + 0.05


def test_finite_horizon_table_is_cached(monkeypatch):
    calls = []
    real = G.finite_horizon_table

    def counting(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(G, "finite_horizon_table", counting)
    first = G.cached_finite_horizon_table(12)
    second = G.cached_finite_horizon_table(12)
    assert len(calls) == 1
    np.testing.assert_array_equal(first.values, second.values)
    assert second.horizon == 12


# ----------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: G.calibration_table(1.0, 10, 10), "gamma"),
        (lambda: G.calibration_table(0.0, 10, 10), "gamma"),
        (lambda: G.calibration_table(0.9, 2, 10), "max_pulls"),
        (lambda: G.calibration_table(0.9, 10, 2), "grid_size"),
        (lambda: G.calibration_index(0, 1, 0.9), "a must be"),
        (lambda: G.calibration_index(1, 1, 0.9, max_pulls=2), "max_pulls"),
        (lambda: G.approx_gittins_index(0, 1), "pseudo-counts"),
        (lambda: G.approx_gittins_index(1, 1, 1.5), "gamma"),
        (lambda: G.finite_horizon_table(0), "horizon"),
        (lambda: G.finite_horizon_index(G.finite_horizon_table(3), 4, 1, 1), "pulls left"),
        (lambda: G.finite_horizon_index(G.finite_horizon_table(3), 3, 2, 1), "states must have"),
    ],
)
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message) as info:
        call()
    assert "\n" not in str(info.value)
