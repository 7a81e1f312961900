"""Exact Bayes-optimal play of a k-armed Bernoulli bandit with Beta(1, 1) priors, for small n.

With independent uniform priors the Bayes-optimal expected total reward over n pulls solves
    V(x) = 0                                                     if Σ_j (a_j + b_j − 2) = n,
    V(x) = max_j μ_j (1 + V(x with a_j + 1)) + (1 − μ_j) V(x with b_j + 1),  μ_j = a_j/(a_j+b_j),
over posterior states x = ((a_1, b_1), …, (a_k, b_k)). The arms are exchangeable (same prior), so V
depends only on the multiset of posteriors; arms never pulled are all Beta(1, 1) and are left out
of the key. The multiset is kept as a sorted tuple of the pulled arms' (a, b).

Tractability (states visited, one core): k = 3, n = 25: 126,141 (under a second); k = 5, n = 10:
3,519; k = 10 or any k >= 10 at n = 10: 4,435 (no more than n arms are ever pulled, so k > n adds
nothing); k = 5, n = 15: 44,730; k = 3, n = 30: 331,182 (a few seconds). n = 100 is out of reach.

Reference: D. Berry and B. Fristedt, "Bandit Problems: Sequential Allocation of Experiments"
(1985) — 0.6821 per pull for k = 3, n = 25; REFERENCE.md, "How the paper ran its baselines".
"""

from __future__ import annotations

from bisect import insort
from typing import NamedTuple

import numpy as np

from adaptax._checks import require_int

__all__ = [
    "BayesOptimalPolicy",
    "bayes_optimal",
    "bayes_optimal_policy",
    "bayes_optimal_value",
]

ArmState = tuple[int, int]
State = tuple[ArmState, ...]

DEFAULT_MAX_STATES = 2_000_000


def _successor(state: State, arm: ArmState, success: bool) -> State:
    a, b = arm
    rest = list(state)
    if arm != (1, 1):
        rest.remove(arm)
    insort(rest, (a + 1, b) if success else (a, b + 1))
    return tuple(rest)


def _candidates(state: State, k: int) -> list[ArmState]:
    """The distinct posteriors one can pull, in ascending (a, b) order."""
    cands = set(state)
    if len(state) < k:
        cands.add((1, 1))
    return sorted(cands)


def _solve(k: int, n: int, max_states: int) -> tuple[dict[State, float], dict[State, ArmState]]:
    value: dict[State, float] = {}
    choice: dict[State, ArmState] = {}

    def v(state: State, pulls: int) -> float:
        known = value.get(state)
        if known is not None:
            return known
        if pulls == n:
            value[state] = 0.0
            return 0.0
        if len(value) >= max_states:
            raise ValueError(
                f"Bayes-optimal DP for k={k}, n={n} needs more than max_states={max_states} "
                f"states; use a smaller n or raise max_states"
            )
        best, best_arm = -1.0, (1, 1)
        for arm in _candidates(state, k):
            a, b = arm
            mu = a / (a + b)
            q = mu * (1.0 + v(_successor(state, arm, True), pulls + 1)) + (1.0 - mu) * v(
                _successor(state, arm, False), pulls + 1
            )
            if q > best:  # ties: the first posterior in (a, b) order
                best, best_arm = q, arm
        value[state] = best
        choice[state] = best_arm
        return best

    v((), 0)
    return value, choice


def bayes_optimal_value(k: int, n: int, max_states: int = DEFAULT_MAX_STATES) -> float:
    """Exact Bayes-optimal expected total reward of n pulls of k Beta(1, 1) Bernoulli arms.

    Args:
      k: arms, >= 2.
      n: pulls, >= 1.
      max_states: refuse (ValueError) when the DP would visit more states.

    Returns:
      V(prior) = E[total reward] under the Bayes-optimal policy.

    Example:
      >>> round(bayes_optimal_value(3, 25) / 25, 4)   # Berry & Fristedt (1985)
      0.6821

    Reference: Berry & Fristedt (1985).
    """
    k = require_int("k (arms)", k, 2)
    n = require_int("n (pulls)", n, 1)
    value, _ = _solve(k, n, require_int("max_states", max_states, 1))
    return value[()]


class BayesOptimalPolicy(NamedTuple):
    """The Bayes-optimal policy on the states it can reach from the prior, as lookup arrays.

    State 0 is the prior. In state s pull an arm whose posterior is Beta(arm_a[s], arm_b[s]) (the
    lowest such arm), then move to `next_success[s]` or `next_failure[s]` (−1 after the last pull).

    Attributes:
      arm_a, arm_b: int64 [S], the posterior to pull.
      next_success, next_failure: int64 [S].
      value: float, the expected total reward from the prior.
      num_arms, num_pulls: the k and n it was solved for.
    """

    arm_a: np.ndarray
    arm_b: np.ndarray
    next_success: np.ndarray
    next_failure: np.ndarray
    value: float
    num_arms: int
    num_pulls: int


def bayes_optimal_policy(
    k: int, n: int, max_states: int = DEFAULT_MAX_STATES
) -> BayesOptimalPolicy:
    """Solves the DP and tabulates the optimal policy on the states it reaches (at most 2^n).

    Args:
      k: arms, >= 2.
      n: pulls, >= 1.
      max_states: refuse (ValueError) when the DP would visit more states.

    Returns:
      A `BayesOptimalPolicy`.

    Example:
      >>> pol = bayes_optimal_policy(3, 5)
      >>> int(pol.arm_a[0]), int(pol.arm_b[0])    # first pull: an untried arm
      (1, 1)

    Reference: Berry & Fristedt (1985).
    """
    k = require_int("k (arms)", k, 2)
    n = require_int("n (pulls)", n, 1)
    value, choice = _solve(k, n, require_int("max_states", max_states, 1))
    ids: dict[State, int] = {(): 0}
    order: list[State] = [()]
    arm_a, arm_b, nxt_s, nxt_f = [], [], [], []
    for state in order:  # grows while iterating: breadth-first over reachable states
        arm = choice.get(state)
        if arm is None:  # all n pulls made
            arm_a.append(0)
            arm_b.append(0)
            nxt_s.append(-1)
            nxt_f.append(-1)
            continue
        arm_a.append(arm[0])
        arm_b.append(arm[1])
        for success, out in ((True, nxt_s), (False, nxt_f)):
            nxt = _successor(state, arm, success)
            if nxt not in ids:
                ids[nxt] = len(order)
                order.append(nxt)
            out.append(ids[nxt])
    return BayesOptimalPolicy(
        arm_a=np.array(arm_a, np.int64),
        arm_b=np.array(arm_b, np.int64),
        next_success=np.array(nxt_s, np.int64),
        next_failure=np.array(nxt_f, np.int64),
        value=value[()],
        num_arms=k,
        num_pulls=n,
    )


def bayes_optimal(outcomes: np.ndarray, policy: BayesOptimalPolicy | None = None) -> np.ndarray:
    """Plays the Bayes-optimal policy on N instances; total reward per instance.

    Each step, every instance looks up the posterior to pull in its policy state, pulls the lowest
    arm with that posterior (all arms sharing a posterior are equivalent), and moves on. Vectorised
    over instances and arms; a loop over the n steps.

    Args:
      outcomes: bool [N, n, k] from `bandits.bandit_outcomes`.
      policy: from `bayes_optimal_policy(k, n)`; computed when omitted.

    Returns:
      int64 [N] total rewards.

    Example:
      >>> from adaptax.baselines.bandits import bandit_outcomes
      >>> r = bandit_outcomes(np.random.default_rng(0).uniform(size=(500, 5)), n=10, seed=0)
      >>> bool(abs(bayes_optimal(r).mean() - bayes_optimal_value(5, 10)) < 0.3)
      True

    Reference: Berry & Fristedt (1985).
    """
    out = np.asarray(outcomes)
    if out.ndim != 3 or out.dtype != np.bool_ or out.shape[2] < 2 or min(out.shape) < 1:
        raise ValueError(f"outcomes must be boolean [N, n, k] with k >= 2, got {out.dtype} "
                         f"{out.shape}")
    num, n, k = out.shape
    if policy is None:
        policy = bayes_optimal_policy(k, n)
    elif (policy.num_arms, policy.num_pulls) != (k, n):
        raise ValueError(f"policy was solved for k={policy.num_arms}, n={policy.num_pulls}; "
                         f"outcomes have k={k}, n={n}")
    rows = np.arange(num)
    a = np.ones((num, k), np.int64)
    b = np.ones((num, k), np.int64)
    state = np.zeros(num, np.int64)
    total = np.zeros(num, np.int64)
    for t in range(n):
        want = (a == policy.arm_a[state][:, None]) & (b == policy.arm_b[state][:, None])
        action = np.argmax(want, axis=1)  # the lowest arm with the wanted posterior
        if not want[rows, action].all():  # cannot happen: states track each instance's posteriors
            raise RuntimeError("bayes_optimal: an instance left the policy's states")
        reward = out[rows, t, action]
        a[rows, action] += reward
        b[rows, action] += ~reward
        total += reward
        state = np.where(reward, policy.next_success[state], policy.next_failure[state])
    return total
