"""Tests of adaptax.baselines.stats: known values, a slow Welch test, the bolding rule, tuning."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from adaptax.baselines.stats import mean_se, not_worse_than_best, tune, welch_one_sided


def slow_welch_less(x, y) -> float:
    """Welch's t-test written out: t, Welch–Satterthwaite df, p = P(T_df <= t)."""
    nx, ny = len(x), len(y)
    mx, my = sum(x) / nx, sum(y) / ny
    vx = sum((v - mx) ** 2 for v in x) / (nx - 1)
    vy = sum((v - my) ** 2 for v in y) / (ny - 1)
    se2 = vx / nx + vy / ny
    t = (mx - my) / math.sqrt(se2)
    df = se2**2 / ((vx / nx) ** 2 / (nx - 1) + (vy / ny) ** 2 / (ny - 1))
    return float(scipy.stats.t.cdf(t, df))


def test_mean_se_known_values():
    # mean 2.5; s² = (2.25 + 0.25 + 0.25 + 2.25)/3 = 5/3; se = sqrt(5/3)/2 = 0.645497...
    mean, se = mean_se([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert se == pytest.approx(math.sqrt(5 / 3) / 2, rel=1e-15)


def test_mean_se_equals_authors_formula():
    x = np.random.default_rng(0).normal(size=1000)
    _, se = mean_se(x)
    assert se == pytest.approx(np.std(x) / np.sqrt(len(x) - 1), rel=1e-12)  # their scripts


def test_welch_known_value():
    # x̄ − ȳ = −3, s² = 1 for both, se² = 1/3 + 1/3, t = −3/sqrt(2/3) = −3.674 (t² = 13.5);
    # df = (2/3)² / ((1/3)²/2 · 2) = 4; for 4 df, P(T <= t) = 1/2 + t(t² + 6)/(2(t² + 4)^1.5)
    # = 1/2 − 3.674·19.5/(2·17.5^1.5) = 1/2 − 71.648/146.416 = 0.010656
    p = welch_one_sided([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert p == pytest.approx(0.010656, abs=2e-6)
    assert welch_one_sided([4.0, 5.0, 6.0], [1.0, 2.0, 3.0]) == pytest.approx(1 - p)


def test_welch_agrees_with_slow_implementation():
    rng = np.random.default_rng(1)
    for trial in range(5):
        x = rng.normal(0.0, 1.0 + trial, size=30 + 7 * trial).tolist()
        y = rng.normal(0.3, 2.0, size=50).tolist()
        assert welch_one_sided(x, y) == pytest.approx(slow_welch_less(x, y), rel=1e-9)


def test_welch_degenerate_constant_samples():
    assert welch_one_sided([1.0, 1.0], [2.0, 2.0]) == 0.0
    assert welch_one_sided([2.0, 2.0], [2.0, 2.0]) == 1.0
    assert welch_one_sided([3.0, 3.0], [2.0, 2.0]) == 1.0


def test_welch_false_positive_rate_is_alpha():
    """Same distribution: p-values are uniform, so P(p < 0.05) = 0.05.

    400 replications (fixed seed): the rate's sd is sqrt(.05·.95/400) = 0.011; allow 3.2 sd.
    """
    rng = np.random.default_rng(2)
    ps = np.array([welch_one_sided(rng.normal(size=40), rng.normal(size=60)) for _ in range(400)])
    assert abs(np.mean(ps < 0.05) - 0.05) < 0.035


def test_bolding_rule():
    rng = np.random.default_rng(3)
    base = rng.normal(10.0, 1.0, size=1000)
    cols = {
        "best": base + 0.5,
        "close": base + 0.5 - 0.01 + rng.normal(0, 0.1, 1000),  # within noise of the best
        "worse": base,  # 0.5 lower with se ≈ 0.045: t ≈ −11
    }
    bold = not_worse_than_best(cols)
    assert bold == {"best": True, "close": True, "worse": False}
    # the rule itself: bold iff best or p >= alpha
    p_close = welch_one_sided(cols["close"], cols["best"])
    assert p_close >= 0.05
    assert not_worse_than_best(cols, alpha=min(0.99, p_close + 1e-9))["close"] is False


def test_bolding_ties_pick_first_best():
    cols = {"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0]}
    assert not_worse_than_best(cols) == {"a": True, "b": True}


def test_tune_picks_first_best_mean():
    calls = []

    def run(c):
        calls.append(c)
        # means: c=0 → 1, c=1 → 3, c=2 → 3 (tie: keep the first), c=3 → 2
        return np.array({0: [1.0, 1.0], 1: [2.0, 4.0], 2: [3.0, 3.0], 3: [2.0, 2.0]}[c])

    res = tune(run, [0, 1, 2, 3])
    best_totals, best_hparam, means = res  # unpacks as the brief's triple
    assert calls == [0, 1, 2, 3]
    assert best_hparam == 1 and means == [1.0, 3.0, 3.0, 2.0]
    np.testing.assert_array_equal(best_totals, [2.0, 4.0])
    assert res.best_mean == 3.0


def test_tune_on_threads_gives_the_same_choice():
    from adaptax.baselines.bandits import bandit_outcomes, optimistic_thompson

    probs = np.random.default_rng(3).uniform(size=(40, 4))
    out = bandit_outcomes(probs, n=20, seed=1)
    run = lambda s: optimistic_thompson(out, seed=1, num_samples=s)  # noqa: E731
    serial = tune(run, [1, 2, 3, 5])
    threaded = tune(run, [1, 2, 3, 5], workers=3)
    assert threaded.best_hparam == serial.best_hparam
    assert threaded.per_grid_means == serial.per_grid_means
    np.testing.assert_array_equal(threaded.best_totals, serial.best_totals)
    with pytest.raises(ValueError, match="workers"):
        tune(run, [1], workers=0)


def test_tune_with_dict_grid():
    res = tune(lambda hp: np.full(3, -abs(hp["c"] - 0.2)), [{"c": 0.0}, {"c": 0.2}, {"c": 0.4}])
    assert res.best_hparam == {"c": 0.2}


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: tune(lambda h: np.ones(3), []), "non-empty grid"),
        (lambda: tune(lambda h: np.ones((2, 2)), [1]), "1-D"),
        (lambda: mean_se([1.0]), "at least 2"),
        (lambda: mean_se([1.0, float("nan")]), "finite"),
        (lambda: welch_one_sided([1.0, 2.0], [[1.0]]), "1-D"),
        (lambda: not_worse_than_best({}), "at least one"),
        (lambda: not_worse_than_best({"a": [1.0, 2.0]}, alpha=0.0), "alpha"),
    ],
)
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message) as info:
        call()
    assert "\n" not in str(info.value)
