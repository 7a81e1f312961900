"""The shared pieces of the Bernoulli-bandit agents: environment, posterior counts and the loop.

Common random numbers: the reward of pulling arm j at step t in instance i is
    r = 1[U[i, t, j] < p[i, j]],
with one uniform array U [N, n, k] drawn from stream 0 of `seed` (`bandit_uniforms`,
`bandit_outcomes`); each agent draws its own randomness from its stream of the same seed
(`numpy.random.SeedSequence([seed, stream])`). Counts are Beta pseudo-counts (a, b) per arm,
starting from Beta(1, 1). The agents themselves are in `adaptax.baselines.bandits`.

Reference: Duan et al., "RL²", arXiv:1611.02779, §3.1; REFERENCE.md, "How the paper ran its
baselines" (Bandits).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from adaptax._checks import require_int

# Stream numbers under one seed. U (the environment) is stream 0 for every agent.
ENV_STREAM = 0
RANDOM_STREAM = 1
EPSILON_STREAM = 2
THOMPSON_STREAM = 3
OPTIMISTIC_THOMPSON_STREAM = 4


class BetaCounts(NamedTuple):
    """Posterior pseudo-counts of N bandit instances and the reward collected so far.

    Attributes:
      successes: a, int64 [N, k]: 1 + number of successes of each arm.
      failures: b, int64 [N, k]: 1 + number of failures of each arm.
      total: int64 [N]: reward collected so far.
    """

    successes: np.ndarray
    failures: np.ndarray
    total: np.ndarray


# ----------------------------------------------------------------------------- inputs


def _check_probs(probs: Any) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must have shape [N, k] (instances, arms), got shape {p.shape}")
    if p.shape[0] < 1:
        raise ValueError("probs must hold at least one bandit instance (N >= 1)")
    if p.shape[1] < 2:
        raise ValueError(f"a bandit needs k >= 2 arms, got k = {p.shape[1]}")
    if not np.all((p >= 0.0) & (p <= 1.0)):
        raise ValueError("probs must be success probabilities in [0, 1] (no NaN)")
    return p


def _check_outcomes(outcomes: Any) -> np.ndarray:
    out = np.asarray(outcomes)
    if out.ndim != 3:
        raise ValueError(f"outcomes must have shape [N, n, k], got shape {out.shape}")
    if out.dtype != np.bool_:
        raise ValueError(f"outcomes must be boolean (from bandit_outcomes), got dtype {out.dtype}")
    if out.shape[0] < 1 or out.shape[1] < 1:
        raise ValueError(f"outcomes need N >= 1 instances and n >= 1 pulls, got shape {out.shape}")
    if out.shape[2] < 2:
        raise ValueError(f"a bandit needs k >= 2 arms, got k = {out.shape[2]}")
    return out


def _stream(seed: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, stream])))


def bandit_uniforms(num_instances: int, n: int, k: int, seed: int) -> np.ndarray:
    """The common uniforms U [N, n, k] ~ U[0, 1) of the environment under `seed`.

    Drawn instance-major from stream 0 of `seed`, so instance i's block does not depend on N.

    Args:
      num_instances: N >= 1.
      n: pulls per trial, >= 1.
      k: arms, >= 2.
      seed: integer >= 0.

    Returns:
      float64 [N, n, k].

    Example:
      >>> u = bandit_uniforms(3, 10, 5, seed=0)
      >>> bool((bandit_uniforms(1, 10, 5, seed=0) == u[:1]).all())   # prefix property
      True

    Reference: common random numbers, REFERENCE.md "How the paper ran its baselines".
    """
    num_instances = require_int("num_instances", num_instances, minimum=1)
    n = require_int("n (pulls per trial)", n, minimum=1)
    if require_int("k", k, minimum=0) < 2:
        raise ValueError(f"a bandit needs k >= 2 arms, got k = {k!r}")
    return _stream(require_int("seed", seed, minimum=0), ENV_STREAM).random((num_instances, n, k))


def bandit_outcomes(probs: Any, n: int, seed: int, chunk: int = 256) -> np.ndarray:
    """Every arm's reward at every step: r[i, t, j] = 1[U[i, t, j] < p[i, j]].

    U is `bandit_uniforms(N, n, k, seed)`, generated `chunk` instances at a time to bound memory
    (the values are the same as in one draw).

    Args:
      probs: [N, k] success probabilities (e.g. the stacked `BanditParams.probs` of N tasks).
      n: pulls per trial, >= 1.
      seed: integer >= 0; the same seed gives every agent the same rewards.
      chunk: instances per block of uniforms.

    Returns:
      bool [N, n, k].

    Example:
      >>> r = bandit_outcomes(np.array([[0.0, 1.0]]), n=4, seed=0)
      >>> r[0].tolist()   # arm 0 never pays, arm 1 always does
      [[False, True], [False, True], [False, True], [False, True]]

    Reference: RL² §3.1 (Bernoulli arms).
    """
    p = _check_probs(probs)
    n = require_int("n (pulls per trial)", n, minimum=1)
    rng = _stream(require_int("seed", seed, minimum=0), ENV_STREAM)
    num, k = p.shape
    out = np.empty((num, n, k), np.bool_)
    for start in range(0, num, chunk):
        stop = min(start + chunk, num)
        out[start:stop] = rng.random((stop - start, n, k)) < p[start:stop, None, :]
    return out


# ----------------------------------------------------------------------------- the loop


def _initial_counts(num: int, k: int) -> BetaCounts:
    return BetaCounts(
        successes=np.ones((num, k), np.int64),
        failures=np.ones((num, k), np.int64),
        total=np.zeros(num, np.int64),
    )


def _observe(state: BetaCounts, action: np.ndarray, reward: np.ndarray) -> BetaCounts:
    """Bayes update of the pulled arm: a += r, b += 1 − r; total += r."""
    pulled = np.arange(state.successes.shape[1])[None, :] == action[:, None]
    r = reward[:, None]
    return BetaCounts(
        successes=state.successes + (pulled & r),
        failures=state.failures + (pulled & ~r),
        total=state.total + reward,
    )


def _play(outcomes: np.ndarray, choose: Callable[[int, BetaCounts], np.ndarray]) -> np.ndarray:
    """Runs a policy `choose(t, state) -> arms [N]` for n steps; returns totals [N]."""
    num, n, k = outcomes.shape
    state = _initial_counts(num, k)
    for t in range(n):
        action = choose(t, state)
        reward = np.take_along_axis(outcomes[:, t, :], action[:, None], axis=1)[:, 0]
        state = _observe(state, action, reward)
    return state.total


def _posterior_mean(state: BetaCounts) -> np.ndarray:
    return state.successes / (state.successes + state.failures)


# ----------------------------------------------------------------------------- posterior draws


def _gamma_pair(
    rng: np.random.Generator, a: np.ndarray, b: np.ndarray, size: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Gamma draws G_a ~ Gamma(a), G_b ~ Gamma(b) (all G_a first); Beta(a, b) = G_a/(G_a+G_b)."""
    # Float shapes: numpy's standard_gamma is about twice as slow with integer shape arrays.
    g_a = rng.standard_gamma(a.astype(np.float64), size=size)
    g_b = rng.standard_gamma(b.astype(np.float64), size=size)
    return g_a, g_b
