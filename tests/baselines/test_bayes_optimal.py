"""Tests of adaptax.baselines.bayes_optimal: published value, brute force, policy runs."""

from __future__ import annotations

import numpy as np
import pytest

from adaptax.baselines import bayes_optimal as BO
from adaptax.baselines.bandits import bandit_outcomes, greedy


def brute_force_value(k: int, n: int) -> float:
    """Expectimax over ordered arm states (no symmetry, no memo): max over arms, mean over r."""

    def v(arms: tuple, left: int) -> float:
        if left == 0:
            return 0.0
        best = -1.0
        for j, (a, b) in enumerate(arms):
            mu = a / (a + b)
            win = arms[:j] + ((a + 1, b),) + arms[j + 1 :]
            lose = arms[:j] + ((a, b + 1),) + arms[j + 1 :]
            best = max(best, mu * (1 + v(win, left - 1)) + (1 - mu) * v(lose, left - 1))
        return best

    return v(((1, 1),) * k, n)


def test_published_value_k3_n25():
    # Berry & Fristedt (1985): 0.6821 per pull for k = 3, n = 25.
    assert round(BO.bayes_optimal_value(3, 25) / 25, 4) == 0.6821


def test_hand_computed_values():
    # n = 1: μ = 1/2.
    assert BO.bayes_optimal_value(2, 1) == pytest.approx(0.5, abs=1e-15)
    # n = 2: pull an arm (1/2); on success it is Beta(2,1), mean 2/3 -> pull it again;
    # on failure Beta(1,2) has 1/3 < 1/2 -> pull the other. 1/2 + (1/2)(2/3) + (1/2)(1/2) = 13/12.
    assert BO.bayes_optimal_value(2, 2) == pytest.approx(13 / 12, abs=1e-15)
    assert BO.bayes_optimal_value(5, 2) == pytest.approx(13 / 12, abs=1e-15)


@pytest.mark.parametrize("k, n", [(2, 3), (2, 5), (3, 3), (3, 4), (4, 3)])
def test_equals_brute_force_expectimax(k, n):
    assert BO.bayes_optimal_value(k, n) == pytest.approx(brute_force_value(k, n), abs=1e-12)


def test_more_arms_than_pulls_adds_nothing():
    # at most n arms are ever pulled, so k = n and k = 50 give the same value
    assert BO.bayes_optimal_value(50, 6) == BO.bayes_optimal_value(6, 6)


def slow_bayes_policy_run(probs_row: np.ndarray, rewards: np.ndarray, n: int) -> int:
    """One instance: recompute Q_j for every arm from the value function, pull the best.

    Ties between different posteriors go to the one first in (a, b) order, then to the lowest arm
    (the rule of `bayes_optimal_policy`).
    """
    k = probs_row.shape[0]
    value, _ = BO._solve(k, n, BO.DEFAULT_MAX_STATES)

    def key(arms):
        return tuple(sorted(arm for arm in arms if arm != (1, 1)))

    arms = [(1, 1)] * k
    total = 0
    for t in range(n):
        best_q, best_post = -1.0, None
        for a, b in sorted(set(arms)):
            mu = a / (a + b)
            j = arms.index((a, b))
            win = arms[:j] + [(a + 1, b)] + arms[j + 1 :]
            lose = arms[:j] + [(a, b + 1)] + arms[j + 1 :]
            q = mu * (1 + value[key(win)]) + (1 - mu) * value[key(lose)]
            if q > best_q:
                best_q, best_post = q, (a, b)
        j = arms.index(best_post)
        r = bool(rewards[t, j])
        a, b = arms[j]
        arms[j] = (a + 1, b) if r else (a, b + 1)
        total += r
    return total


def test_policy_run_matches_slow_per_instance_play():
    k, n, num = 3, 7, 40
    probs = np.random.default_rng(0).uniform(size=(num, k))
    out = bandit_outcomes(probs, n, seed=3)
    fast = BO.bayes_optimal(out)
    slow = [slow_bayes_policy_run(probs[i], out[i], n) for i in range(num)]
    np.testing.assert_array_equal(fast, slow)


def test_policy_value_matches_dp_value():
    pol = BO.bayes_optimal_policy(4, 6)
    assert pol.value == BO.bayes_optimal_value(4, 6)

    # the tabulated policy's own expected reward, by exact enumeration over its reachable tree
    def expected(state_id: int) -> float:
        if pol.next_success[state_id] < 0:
            return 0.0
        a, b = int(pol.arm_a[state_id]), int(pol.arm_b[state_id])
        mu = a / (a + b)
        win, lose = int(pol.next_success[state_id]), int(pol.next_failure[state_id])
        return mu * (1 + expected(win)) + (1 - mu) * expected(lose)

    assert expected(0) == pytest.approx(pol.value, abs=1e-12)


def test_policy_run_is_bayes_optimal_on_average():
    """4000 prior draws (k = 3, n = 6): the mean total is V within 4 standard errors, and at least
    greedy's on the same rewards (greedy's expected total is lower)."""
    k, n, num = 3, 6, 4000
    probs = np.random.default_rng(1).uniform(size=(num, k))
    out = bandit_outcomes(probs, n, seed=1)
    totals = BO.bayes_optimal(out)
    se = totals.std(ddof=1) / np.sqrt(num)
    assert abs(totals.mean() - BO.bayes_optimal_value(k, n)) < 4 * se
    diff = totals - greedy(out)
    assert diff.mean() > -3 * diff.std(ddof=1) / np.sqrt(num)


def test_intractable_sizes_are_refused():
    with pytest.raises(ValueError, match="max_states") as info:
        BO.bayes_optimal_value(3, 40, max_states=1000)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: BO.bayes_optimal_value(1, 5), "k"),
        (lambda: BO.bayes_optimal_value(3, 0), "n"),
        (lambda: BO.bayes_optimal(np.zeros((2, 3, 1), bool)), "k >= 2"),
        (lambda: BO.bayes_optimal(np.zeros((2, 3, 2), float)), "boolean"),
        (lambda: BO.bayes_optimal(np.zeros((2, 3, 2), bool), BO.bayes_optimal_policy(3, 3)),
         "solved for"),
    ],
)
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_all_tractable_sizes_of_the_paper_run_fast():
    # n = 10 is tractable for every k of RL²'s table (k = 5, 10, 50): a few thousand states.
    # Values per trial: k = 5: 6.660; k >= 10: 6.714 (k > n adds nothing).
    values = {k: BO.bayes_optimal_policy(k, 10).value for k in (5, 10, 50)}
    assert values[5] == pytest.approx(6.65999, abs=1e-5)
    assert values[10] == pytest.approx(6.71395, abs=1e-5)
    assert values[50] == values[10]
