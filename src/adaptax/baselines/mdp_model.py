"""The model side of the tabular-MDP agents: pre-drawn outcomes, priors, counts and posteriors.

Everything here is shared by the agents of `adaptax.baselines.mdp`: the setting's constants, the
conjugate priors (Normal on each mean reward with known noise precision τ, Dirichlet on each
transition row), the counts an agent keeps, their posterior updates, the random streams and the
draws posterior sampling makes, and the instances and the oracle value.

Common random numbers. `mdp_outcomes` pre-draws, per (instance, episode, step), the standard-normal
reward noise z (r = μ(s, a) + z) and a uniform u for the next state (inverse-CDF sampling on the
row: s' = min{k : u < Σ_{j<=k} P(j | s, a)}), from the trial seed alone, so every agent and every
grid point meets the same outcomes for the same choices. The agents' own randomness comes from
separate streams, identical across grid points. Every stream is a NumPy PCG64 generator seeded
with SeedSequence([seed, stream, episode]) (plus the sample index j for posterior samples), drawn
instance-major ([N, ...]):
  0 reward noise z [N, H];  1 next-state uniforms [N, H];  2 tie-breaking uniforms [N, H, A] (the
  tied action with the largest one is taken);  3 ε flips [N, H] (random action when below ε);
  4 random actions [N, H];  5 (j) one uniform per Dirichlet entry [N, S, A, S'];  6 (j) the m
  count uniforms [N, m];  7 (j) reward-sample normals [N, S, A].
So sample j of OPSRL's N samples is the same draw whatever N is, the first n' episodes of a trial
of n see what a trial of n' sees, and the first N' instances of a batch of N what a batch of N'
sees. A posterior row Dirichlet(1 + c) is drawn exactly as Gamma(1 + c_k) = (one Exp(1) from
stream 5) + (c_k more from stream 6, entries taking turns row-major over (s, a, s')), normalised;
Exp(1) = -log(1 - u).

Example:
  >>> out = mdp_outcomes(1000, 10, 10, seed=0)
  >>> mu, p = mdp_instances(1000)
  >>> bool(optimal_value(mu, p).mean() > 10)   # the oracle's episode value beats 10 × E μ
  True

Reference: Duan et al., "RL²: Fast reinforcement learning via slow reinforcement learning",
arXiv:1611.02779, §3.2; Osband, Van Roy & Russo, TabulaRL
(github.com/iosband/TabulaRL, ``finite_tabular_agents.py``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from adaptax._checks import require_int
from adaptax.baselines.planning import backward_induction
from adaptax.types import Array

__all__ = [
    "HORIZON",
    "MODES",
    "NOISE_PRECISION",
    "START_STATE",
    "TIE_ATOL",
    "TIE_RTOL",
    "UCRL2_DELTA",
    "Counts",
    "MDPOutcomes",
    "mdp_instances",
    "mdp_outcomes",
    "optimal_value",
]

MODES = ("paper", "clean")
HORIZON = 10  # RL² §3.2: episodes of 10 steps
START_STATE = 0
NOISE_PRECISION = 1.0  # τ: the reward noise is N(0, 1) and every agent knows it
UCRL2_DELTA = 0.05  # TabulaRL's default δ
# Ties: |q - max q| <= TIE_ATOL + TIE_RTOL·|max q|. Structurally equal actions (e.g. unvisited ones)
# get equal values up to float32 rounding, and TabulaRL breaks such ties uniformly at random.
TIE_ATOL = 1e-6
TIE_RTOL = 4e-6

# Independent random streams: SeedSequence([seed, stream, episode]) (and the sample index j for
# posterior samples); one stream per kind of draw keeps every draw instance-major.
(
    _STREAM_REWARD_NOISE,
    _STREAM_NEXT_STATE,
    _STREAM_TIE,
    _STREAM_EXPLORE_FLIP,
    _STREAM_EXPLORE_ACTION,
    _STREAM_DIRICHLET_PRIOR,
    _STREAM_DIRICHLET_COUNTS,
    _STREAM_REWARD_SAMPLE,
) = range(8)


class _Prior(NamedTuple):
    """Conjugate prior per (s, a): mean reward ~ N(reward_mean, 1/reward_precision), row ~ Dir."""

    reward_mean: float
    reward_precision: float
    dirichlet: float


# TabulaRL defaults (alpha0=1, mu0=0, tau0=1): PSRL, OPSRL and BEB in paper mode.
_TABULA_PRIOR = _Prior(reward_mean=0.0, reward_precision=1.0, dirichlet=1.0)
# The distribution the MDPs are drawn from: clean mode.
_TRUE_PRIOR = _Prior(reward_mean=1.0, reward_precision=1.0, dirichlet=1.0)
# "Prior effect -> 0": TabulaRL's UCRL2 (alpha0=1e-5, tau0=1e-4) and EpsilonGreedy (1e-4, 1e-4).
_UCRL2_PRIOR = _Prior(reward_mean=0.0, reward_precision=1e-4, dirichlet=1e-5)
_EGREEDY_PRIOR = _Prior(reward_mean=0.0, reward_precision=1e-4, dirichlet=1e-4)


class MDPOutcomes(NamedTuple):
    """Pre-drawn environment randomness of a batch of trials (common random numbers).

    Attributes:
      reward_noise: [N, n, H] standard normals z; the reward of step h is μ(s_h, a_h) + z.
      next_state_uniform: [N, n, H] uniforms u in [0, 1); s_{h+1} = min{k : u < CDF_k(s_h, a_h)}.
    """

    reward_noise: np.ndarray
    next_state_uniform: np.ndarray


class Counts(NamedTuple):
    """What one agent has observed in one trial (the sufficient statistics of its posterior).

    Attributes:
      visits: [S, A] rewards observed per (s, a), n(s, a).
      reward_sum: [S, A] their sum.
      transitions: [S, A, S] counted transitions (s, a) -> s'.
    """

    visits: Array
    reward_sum: Array
    transitions: Array


class _EpisodeNoise(NamedTuple):
    """Everything random in one episode of one trial, per step h (leading axis H)."""

    reward_noise: Array  # [H]
    next_state_uniform: Array  # [H]
    tie_break: Array  # [H, A] uniforms; the tied action with the largest one is taken
    explore_flip: Array  # [H] uniforms; act at random when below ε
    explore_action: Array  # [H] uniform random actions


# --------------------------------------------------------------------------- random streams


def _generator(seed: int, stream: int, *index: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, stream, *index])))


def mdp_outcomes(num_instances: int, n: int, horizon: int, seed: int) -> MDPOutcomes:
    """Pre-draws the reward noise and next-state uniforms of N trials of n episodes.

    For episode e the draws come from SeedSequence([seed, 0, e]) (noise) and
    SeedSequence([seed, 1, e]) (uniforms), instance-major, so the outcomes of the first N'
    instances and n' episodes do not depend on N and n.

    Args:
      num_instances: N, an integer >= 1.
      n: episodes per trial, an integer >= 1.
      horizon: H, steps per episode, an integer >= 1.
      seed: an integer >= 0; the same seed gives the same outcomes to every agent.

    Returns:
      `MDPOutcomes` with float64 arrays of shape [N, n, H].

    Example:
      >>> out = mdp_outcomes(1000, 10, 10, seed=0)
      >>> out.reward_noise.shape
      (1000, 10, 10)

    Reference: common random numbers, e.g. Glasserman & Yao, "Some guidelines and guarantees for
    common random numbers", Management Science 1992.
    """
    num_instances = require_int("num_instances", num_instances, minimum=1)
    n = require_int("n (episodes per trial)", n, minimum=1)
    horizon = require_int("horizon", horizon, minimum=1)
    seed = require_int("seed", seed, minimum=0)
    noise = np.empty((num_instances, n, horizon))
    uniform = np.empty((num_instances, n, horizon))
    for episode in range(n):
        noise[:, episode] = _generator(seed, _STREAM_REWARD_NOISE, episode).standard_normal(
            (num_instances, horizon)
        )
        uniform[:, episode] = _generator(seed, _STREAM_NEXT_STATE, episode).random(
            (num_instances, horizon)
        )
    return MDPOutcomes(reward_noise=noise, next_state_uniform=uniform)


def _agent_noise(outcomes: MDPOutcomes, seed: int, episode: int, num_actions: int) -> _EpisodeNoise:
    """Episode `episode`'s noise for all N instances: [N, H, ...] arrays."""
    num_instances, _, horizon = outcomes.reward_noise.shape
    tie = _generator(seed, _STREAM_TIE, episode).random((num_instances, horizon, num_actions))
    flip = _generator(seed, _STREAM_EXPLORE_FLIP, episode).random((num_instances, horizon))
    action = _generator(seed, _STREAM_EXPLORE_ACTION, episode).integers(
        0, num_actions, (num_instances, horizon)
    )
    return _EpisodeNoise(
        reward_noise=jnp.asarray(outcomes.reward_noise[:, episode], jnp.float32),
        next_state_uniform=jnp.asarray(outcomes.next_state_uniform[:, episode], jnp.float32),
        tie_break=jnp.asarray(tie, jnp.float32),
        explore_flip=jnp.asarray(flip, jnp.float32),
        explore_action=jnp.asarray(action, jnp.int32),
    )


# --------------------------------------------------------------------------- posteriors


def _reward_posterior(counts: Counts, prior: _Prior) -> tuple[Array, Array]:
    """Normal posterior on the mean reward: precision τ0 + nτ, mean (μ0τ0 + τΣr)/(τ0 + nτ)."""
    precision = prior.reward_precision + NOISE_PRECISION * counts.visits
    mean = prior.reward_mean * prior.reward_precision + NOISE_PRECISION * counts.reward_sum
    return mean / precision, precision


def _transition_mean(counts: Counts, prior: _Prior) -> tuple[Array, Array]:
    """Dirichlet posterior mean α/Σα of every row, and Σα."""
    alpha = prior.dirichlet + counts.transitions
    total = alpha.sum(axis=-1)
    return alpha / total[..., None], total


# --------------------------------------------------------------------------- posterior sampling


class _CountSegments(NamedTuple):
    """Where each entry's count part takes its Exp(1) variables from in the shared count block.

    Posterior rows are Dirichlet(1 + c): entry (s, a, s') gets one Exp(1) of its own (the prior's
    1) and c(s, a, s') more from a block of m = Σc uniforms per instance, the entries taking
    their turns in row-major order over (s, a, s'). m is the number of counted transitions, the
    same for every trial, so one block serves every grid point; only the cut points differ.
    """

    end: np.ndarray  # [G, N, S·A·S'] flat position (in the [N, m + 1] running sums) of each end
    num_counted: int  # m


def _count_segments(transitions: np.ndarray) -> _CountSegments:
    """Segments for integer transition counts [G, N, S, A, S'] (float or int)."""
    grid, num = transitions.shape[:2]
    counts = transitions.astype(np.int32).reshape(grid, num, -1)  # exact: small integer floats
    end = np.cumsum(counts, axis=-1, dtype=np.intp)  # intp: numpy's take copies other indices
    totals = end[..., -1]
    if (totals != totals.flat[0]).any():  # every trial counts the same number of transitions
        raise RuntimeError(f"trials counted different numbers of transitions: {set(totals.flat)}")
    counted = int(totals.flat[0])
    end += (np.arange(num, dtype=np.intp) * (counted + 1))[:, None]
    return _CountSegments(end=end, num_counted=counted)


class _SharedDraws(NamedTuple):
    """Sample j's draws in episode e, shared by every grid point (drawn instance-major as the
    stream contract says; the arrays the planner reads are stored batch last)."""

    prior_exp: Array  # [S·A·S', N] float32 Exp(1), batch last: the prior's unit of each entry
    count_running: np.ndarray  # [N·(m + 1)] float64 running sums of -Exp(1), 0 at each start
    reward_noise: Array  # [S, A, N] float32 standard normals, batch last


def _shared_draws(
    seed: int, episode: int, sample: int, shape: tuple[int, int, int], counted: int
) -> _SharedDraws:
    num, num_states, num_actions = shape
    prior = _generator(seed, _STREAM_DIRICHLET_PRIOR, episode, sample).random(
        (num, num_states, num_actions, num_states)
    )
    running = _count_running(seed, episode, sample, num, counted).T  # [N, m + 1]
    noise = _generator(seed, _STREAM_REWARD_SAMPLE, episode, sample).standard_normal(
        (num, num_states, num_actions)
    )
    np.subtract(1.0, prior, out=prior)
    np.log(prior, out=prior)
    prior_exp = np.negative(prior, dtype=np.float32).reshape(num, -1)
    return _SharedDraws(  # drawn instance-major (the stream contract), stored batch last
        prior_exp=jax.device_put(np.ascontiguousarray(prior_exp.T)),
        count_running=running.reshape(-1),
        reward_noise=jax.device_put(np.moveaxis(noise.astype(np.float32), 0, -1).copy()),
    )


def _count_running(
    seed: int, episode: int, sample: int, num: int, counted: int, out: np.ndarray | None = None
) -> np.ndarray:
    """Sample j's count block as running sums of -Exp(1), position-major: [m + 1, N] (into `out`).

    Row 0 is 0; column i holds instance i's m draws summed in stream order (float64), so the
    layout, not the values, differs from an instance-major [N, m + 1]. A gather at one entry's
    segment ends across the instances then stays within a few rows.
    """
    uniform = _generator(seed, _STREAM_DIRICHLET_COUNTS, episode, sample).random((num, counted))
    np.subtract(1.0, uniform, out=uniform)
    np.log(uniform, out=uniform)  # log(1 - u) = -Exp(1)
    out = np.empty((counted + 1, num)) if out is None else out
    out[0] = 0.0
    np.cumsum(uniform.T, axis=0, out=out[1:])
    return out


def _count_exp(draws: _SharedDraws, segments: _CountSegments, g: int) -> np.ndarray:
    """Σ of each entry's c more Exp(1) for grid point g: [S·A·S', N] float32, batch last (0 when
    c = 0).

    Entry k's segment runs from the end of entry k - 1 (the instance's start, where the running
    sum is 0, for k = 0) to its own end: the sum is running[end_{k-1}] - running[end_k]. The
    differences are written straight into the batch-last array (4x faster here than a copy of
    the transpose afterwards).
    """
    at_end = draws.count_running.take(segments.end[g])  # [N, S·A·S']
    batch_last = np.empty(at_end.shape[::-1], np.float32)
    out = batch_last.T
    np.negative(at_end[:, :1], out=out[:, :1], casting="same_kind")
    np.subtract(at_end[:, :-1], at_end[:, 1:], out=out[:, 1:], casting="same_kind")
    return batch_last


# --------------------------------------------------------------------------- instances and oracle


def mdp_instances(
    num_instances: int, *, num_states: int = 10, num_actions: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """The project's MDP instances: instance i is ``TabularMDP().sample_task(PRNGKey(i))``.

    Args:
      num_instances: N, an integer >= 1 (instances 0, ..., N - 1).
      num_states: S (paper: 10).
      num_actions: A (paper: 5).

    Returns:
      (reward_mean [N, S, A], transition [N, S, A, S]) as float32 NumPy arrays.

    Example:
      >>> mu, p = mdp_instances(1000)
      >>> mu.shape, p.shape
      ((1000, 10, 5), (1000, 10, 5, 10))

    Reference: Duan et al. 2017, §3.2.
    """
    from adaptax.envs.tabular_mdp import TabularMDP  # envs import JAX-heavy modules lazily

    num_instances = require_int("num_instances", num_instances, minimum=1)
    env = TabularMDP(num_states=num_states, num_actions=num_actions)
    keys = jax.vmap(jax.random.PRNGKey)(jnp.arange(num_instances))
    task = jax.jit(jax.vmap(env.sample_task))(keys)
    return np.asarray(task.reward_mean), np.asarray(task.transition)


def optimal_value(reward_mean: Any, transition: Any, horizon: int = HORIZON) -> np.ndarray:
    """Expected return of one episode from state 0 under the optimal policy of the true MDP.

    v*_0(s_0) by backward induction on the known μ and P; n·v*_0(s_0) is the expected total of an
    oracle that knows the MDP, an upper bound on every agent's expected score.

    Args:
      reward_mean: [N, S, A]; transition: [N, S, A, S]; horizon: H.

    Returns:
      [N] float64 values.

    Example:
      >>> mu, p = mdp_instances(100)
      >>> optimal_value(mu, p).shape               # an upper bound per episode, per instance
      (100,)

    Reference: Puterman 1994, §4.5.
    """
    horizon = require_int("horizon", horizon, minimum=1)
    reward_mean = np.asarray(reward_mean, np.float64)
    transition = np.asarray(transition, np.float64)
    if reward_mean.ndim != 3 or transition.shape != (*reward_mean.shape, reward_mean.shape[1]):
        raise ValueError(
            f"need reward_mean [N, S, A] and transition [N, S, A, S], got "
            f"{reward_mean.shape} and {transition.shape}"
        )
    if min(reward_mean.shape) < 1:
        raise ValueError(f"need N, S and A >= 1, got reward_mean of shape {reward_mean.shape}")
    values = jax.vmap(lambda r, p: backward_induction(r, p, horizon).v[0, START_STATE])(
        jnp.asarray(reward_mean, jnp.float32), jnp.asarray(transition, jnp.float32)
    )
    return np.asarray(values, np.float64)
