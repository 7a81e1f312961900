"""Classical agents of RL²'s tabular-MDP table (Duan et al. 2017, Table 2), as the authors ran them.

The setting: S = 10 states, A = 5 actions, episodes of H = 10 steps starting in state 0, rewards
r ~ N(μ(s, a), 1) with μ ~ N(1, 1), rows P(· | s, a) ~ Dirichlet(1); a trial is n episodes on one
MDP and its score the total reward. The agents are Ian Osband's TabulaRL agents with their default
settings, which is what the paper's numbers come from (REFERENCE.md, "How the paper ran its
baselines", Tabular MDPs):

- every agent keeps per (s, a) a Normal posterior on the mean reward (known noise precision τ = 1)
  and a Dirichlet posterior on the transition row, plans once per episode by finite-horizon
  backward induction over the H steps, and acts greedily on q[h, s] with uniform random ties;
- ``psrl``: one posterior sample per episode; ``opsrl(num_samples)``: the element-wise max of the
  q-values of N samples; ``beb(scaling)``: the posterior-mean MDP plus exploration bonuses;
  ``ucrl2(scaling)``: extended value iteration on empirical estimates with confidence slacks;
  ``epsilon_greedy(epsilon)``: the near-flat-prior posterior-mean MDP with ε-random actions;
  ``greedy``: ε = 0; ``random``: uniform actions.

Two modes. ``mode="paper"`` keeps the authors' quirks, on which their numbers depend:
  1. the reward prior of PSRL, OPSRL and BEB is N(0, 1), not the generating N(1, 1);
  2. the last transition of every episode is not counted in the Dirichlet posterior (TabulaRL's
     ``update_obs`` skips it when ``pContinue == 0``); its reward is counted;
  3. UCRL2's extended value iteration edits the estimated rows in place across the backward steps,
     so its optimism compounds (see `planning.extended_value_iteration`);
  4. BEB's transition bonus is β·H·(H - 1 - h)/(1 + Σα): TabulaRL's ``gen_bonus`` gives
     β·H/(1 + Σα) and ``compute_qVals_opt`` multiplies it by the steps still to go after this one,
     H - 1 - h. REFERENCE.md writes β·H_remaining/(1 + Σα); the extra factor H equals scaling × 10,
     i.e. a shift of the 21-point log grid by exactly 5 points, so best-of-grid cells agree unless
     the best scaling sits at the grid's end.
``mode="clean"`` removes them: prior N(1, 1) for the Bayesian agents, every transition counted,
Jaksch et al.'s extended value iteration on a fresh copy of the estimates at every step, BEB's
transition bonus β·(H - 1 - h)/(1 + Σα). UCRL2 and ε-greedy keep their near-flat priors in both
modes (they are part of those algorithms' definitions in TabulaRL).

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

Every agent is vectorised over the N instances and over the grid points of its hyper-parameter: a
Python loop runs over the episodes only (and, for posterior sampling, over the samples j, each
drawn once and shared by every grid point that uses it). Planning and the H steps of an episode
are jitted and vmapped (`planning.py` is written for one MDP; posterior samples go through its
batch-last `backward_induction_batch`).

Example:
  >>> mu, p = mdp_instances(100)
  >>> totals = psrl(mu, p, n=10, seed=0)              # [100] total reward per trial
  >>> grid, table = run_mdp_grid("beb", mu, p, n=10, seed=0)   # table: [21, 100]

Reference: Duan et al., "RL²: Fast reinforcement learning via slow reinforcement learning",
arXiv:1611.02779, §3.2 and Table 2; Osband, Van Roy & Russo, TabulaRL
(github.com/iosband/TabulaRL, ``finite_tabular_agents.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from adaptax.baselines.planning import (
    backward_induction,
    backward_induction_batch,
    extended_value_iteration,
)
from adaptax.envs.base import require_int
from adaptax.types import Array

__all__ = [
    "MDP_AGENTS",
    "MDP_GRIDS",
    "MODES",
    "MDPOutcomes",
    "beb",
    "epsilon_greedy",
    "greedy",
    "mdp_instances",
    "mdp_outcomes",
    "opsrl",
    "optimal_value",
    "psrl",
    "random",
    "run_mdp_agent",
    "run_mdp_grid",
    "ucrl2",
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

_LOG_SCALINGS = tuple(float(x) for x in np.logspace(-4.0, 0.0, 21))
MDP_GRIDS: dict[str, dict[str, tuple[Any, ...]]] = {
    "random": {},
    "greedy": {},
    "psrl": {},
    "epsilon_greedy": {"epsilon": tuple(round(0.1 * k, 1) for k in range(1, 11))},
    "opsrl": {"num_samples": tuple(range(1, 21))},
    "beb": {"scaling": _LOG_SCALINGS},
    "ucrl2": {"scaling": _LOG_SCALINGS},
}
"""The authors' hyper-parameter grids (REFERENCE.md, Tabular MDPs), per agent: {name: values}."""

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


class _StepCarry(NamedTuple):
    state: Array
    counts: Counts
    total: Array


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


# --------------------------------------------------------------------------- one run, one episode


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


def _run_episode(
    counts: Counts,
    q: Array,
    epsilon: Array,
    reward_mean: Array,
    transition_cdf: Array,
    noise: _EpisodeNoise,
    *,
    count_last: bool,
) -> tuple[Counts, Array]:
    """Plays one episode of one trial with fixed q-values; returns the new counts and the reward.

    a_h = a uniform random action if flip_h < ε, else argmax_a q[h, s_h, a] with uniform ties;
    r_h = μ(s_h, a_h) + z_h; s_{h+1} by inverse CDF. The transition of the last step is counted
    only when `count_last` (TabulaRL does not count it: REFERENCE.md, Tabular MDPs).
    """
    horizon = q.shape[0]
    num_states = reward_mean.shape[0]

    def step(carry: _StepCarry, h: Array) -> tuple[_StepCarry, None]:
        s = carry.state
        q_s = q[h, s]
        top = q_s.max()
        tied = q_s >= top - (TIE_ATOL + TIE_RTOL * jnp.abs(top))
        greedy_action = jnp.argmax(jnp.where(tied, noise.tie_break[h], -1.0))
        a = jnp.where(noise.explore_flip[h] < epsilon, noise.explore_action[h], greedy_action)
        r = reward_mean[s, a] + noise.reward_noise[h]
        below = transition_cdf[s, a] <= noise.next_state_uniform[h]
        s_next = jnp.minimum(below.sum(), num_states - 1)
        counted = jnp.logical_or(count_last, h < horizon - 1).astype(carry.counts.transitions.dtype)
        new_counts = Counts(
            visits=carry.counts.visits.at[s, a].add(1.0),
            reward_sum=carry.counts.reward_sum.at[s, a].add(r),
            transitions=carry.counts.transitions.at[s, a, s_next].add(counted),
        )
        return _StepCarry(state=s_next, counts=new_counts, total=carry.total + r), None

    start = _StepCarry(
        state=jnp.asarray(START_STATE, jnp.int32), counts=counts, total=jnp.zeros((), jnp.float32)
    )
    end, _ = jax.lax.scan(step, start, jnp.arange(horizon))
    return end.counts, end.total


@partial(jax.jit, static_argnames=("count_last",), donate_argnums=(0,))
def _run_episodes(
    counts: Counts,
    q: Array,
    epsilon: Array,
    reward_mean: Array,
    transition_cdf: Array,
    noise: _EpisodeNoise,
    count_last: bool,
) -> tuple[Counts, Array]:
    """`_run_episode` over a batch [G grid points, N instances]; instances and noise shared by G."""
    one = partial(_run_episode, count_last=count_last)
    per_instance = jax.vmap(one, in_axes=(0, 0, None, 0, 0, 0))
    per_grid = jax.vmap(per_instance, in_axes=(0, 0, 0, None, None, None))
    return per_grid(counts, q, epsilon, reward_mean, transition_cdf, noise)


def _plan_posterior_mean(counts: Counts, prior: _Prior, horizon: int) -> Array:
    """q of the posterior-mean MDP (ε-greedy, greedy: TabulaRL's ``map_mdp``, ``compute_qVals``)."""
    mean, _ = _reward_posterior(counts, prior)
    rows, _ = _transition_mean(counts, prior)
    return backward_induction(mean, rows, horizon).q


def _plan_beb(counts: Counts, scaling: Array, prior: _Prior, horizon: int, paper: bool) -> Array:
    """BEB's q: posterior-mean MDP, reward bonus 1/(τ_post + 1) = 1/(n + 2), transition bonus.

    q_h(s, a) = μ̂ + 1/(n + 2) + b(s, a)·(H - 1 - h) + Σ_s' p̂(s') v_{h+1}(s'), with
    b = β·H/(1 + Σα) in paper mode (TabulaRL) and β/(1 + Σα) in clean mode, β = 2H²·scaling.
    """
    mean, precision = _reward_posterior(counts, prior)
    rows, alpha_sum = _transition_mean(counts, prior)
    beta = 2.0 * horizon**2 * scaling
    per_step = beta * (horizon if paper else 1.0) / (1.0 + alpha_sum)
    steps_after = (horizon - 1 - jnp.arange(horizon, dtype=mean.dtype))[:, None, None]
    reward = mean + 1.0 / (precision + 1.0) + per_step * steps_after
    return backward_induction(reward, rows, horizon).q


def _plan_ucrl2(counts: Counts, scaling: Array, episode: Array, horizon: int, paper: bool) -> Array:
    """UCRL2's q by finite-horizon extended value iteration (TabulaRL ``UCRL2.update_policy``).

    Reward slack scaling·sqrt(4 ln(2SA(t + 1)/δ) / max(n, 1)), transition slack
    scaling·sqrt(4S ln(2SA(t + 1)/δ) / max(n_P, 1)), t = episode index (0-based).
    """
    prior = _UCRL2_PRIOR
    num_states, num_actions = counts.visits.shape
    mean, _ = _reward_posterior(counts, prior)
    rows, alpha_sum = _transition_mean(counts, prior)
    log_term = jnp.log(2.0 * num_states * num_actions * (episode + 1.0) / UCRL2_DELTA)
    n_reward = jnp.maximum(counts.visits, 1.0)
    if paper:  # TabulaRL: max(P_prior.sum() - alpha0, 1), i.e. n_P + (S - 1)·alpha0
        n_trans = jnp.maximum(alpha_sum - prior.dirichlet, 1.0)
    else:
        n_trans = jnp.maximum(counts.transitions.sum(axis=-1), 1.0)
    reward_slack = scaling * jnp.sqrt(4.0 * log_term / n_reward)
    trans_slack = scaling * jnp.sqrt(4.0 * num_states * log_term / n_trans)
    return extended_value_iteration(
        mean + reward_slack, rows, trans_slack, horizon, compound=paper
    ).q


_CHUNK = 256  # runs planned together: their [S, A, S] rows stay in cache over the H steps


def _map_runs(fn: Callable[..., Array], counts: Counts, *per_grid: Array) -> Array:
    """fn(counts of one run, *one grid point's values) over a [G, N] batch, in chunks of runs.

    vmapping the whole batch at once streams every [B, S, A, S] intermediate through memory at each
    of the H steps; `lax.map(..., batch_size)` keeps a chunk's rows in cache instead.
    """
    grid, num_instances = counts.visits.shape[:2]
    runs = grid * num_instances
    flat = jax.tree.map(lambda x: x.reshape(runs, *x.shape[2:]), counts)
    values = tuple(jnp.repeat(v, num_instances, axis=0) for v in per_grid)
    out = jax.lax.map(lambda xs: fn(*xs), (flat, *values), batch_size=min(_CHUNK, runs))
    return out.reshape(grid, num_instances, *out.shape[1:])


@partial(jax.jit, static_argnames=("prior", "horizon"))
def _plan_mean_batch(counts: Counts, prior: _Prior, horizon: int) -> Array:
    return _map_runs(partial(_plan_posterior_mean, prior=prior, horizon=horizon), counts)


@partial(jax.jit, static_argnames=("prior", "horizon", "paper"))
def _plan_beb_batch(
    counts: Counts, scaling: Array, prior: _Prior, horizon: int, paper: bool
) -> Array:
    return _map_runs(partial(_plan_beb, prior=prior, horizon=horizon, paper=paper), counts, scaling)


@partial(jax.jit, static_argnames=("horizon", "paper"))
def _plan_ucrl2_batch(
    counts: Counts, scaling: Array, episode: Array, horizon: int, paper: bool
) -> Array:
    def one(run_counts: Counts, run_scaling: Array) -> Array:
        return _plan_ucrl2(run_counts, run_scaling, episode, horizon, paper)

    return _map_runs(one, counts, scaling)


@partial(jax.jit, static_argnames=("horizon",))
def _plan_sample(
    mean: Array,
    scale: Array,
    noise: Array,
    prior_exp: Array,
    count_exp: Array,
    q_max: Array,
    horizon: int,
) -> Array:
    """max(q_max, q of one posterior sample per instance) for a batch of N instances.

    The sample: rewards mean + scale·noise ([N, S, A]), rows the Gamma draws prior_exp +
    count_exp ([N, S, A, S']) normalised over s'. q_max and the result are batch-last
    [H, S, A, N], the layout `backward_induction_batch` vectorises.
    """
    gammas = prior_exp + count_exp
    # normalise before moving s' to the front: XLA's CPU reductions over a major axis are slow
    rows = jnp.transpose(gammas / gammas.sum(axis=-1, keepdims=True), (3, 1, 2, 0))  # [S',S,A,N]
    reward = jnp.transpose(mean + scale * noise, (1, 2, 0))
    return jnp.maximum(q_max, backward_induction_batch(reward, rows, horizon))


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
    totals = counts.sum(axis=-1)
    if (totals != totals.flat[0]).any():  # every trial counts the same number of transitions
        raise RuntimeError(f"trials counted different numbers of transitions: {set(totals.flat)}")
    counted = int(totals.flat[0])
    end = np.cumsum(counts, axis=-1, dtype=np.intp)
    end += (np.arange(num, dtype=np.intp) * (counted + 1))[:, None]
    return _CountSegments(end=end, num_counted=counted)


class _SharedDraws(NamedTuple):
    """Sample j's draws in episode e, shared by every grid point (instance-major)."""

    prior_exp: Array  # [N, S, A, S'] float32 Exp(1): the prior's unit of each entry
    count_running: np.ndarray  # [N·(m + 1)] float64 running sums of -Exp(1), 0 at each start
    reward_noise: Array  # [N, S, A] float32 standard normals


def _shared_draws(
    seed: int, episode: int, sample: int, shape: tuple[int, int, int], counted: int
) -> _SharedDraws:
    num, num_states, num_actions = shape
    prior = _generator(seed, _STREAM_DIRICHLET_PRIOR, episode, sample).random(
        (num, num_states, num_actions, num_states)
    )
    count = _generator(seed, _STREAM_DIRICHLET_COUNTS, episode, sample).random((num, counted))
    noise = _generator(seed, _STREAM_REWARD_SAMPLE, episode, sample).standard_normal(
        (num, num_states, num_actions)
    )
    np.subtract(1.0, count, out=count)
    np.log(count, out=count)  # log(1 - u) = -Exp(1)
    running = np.zeros((num, counted + 1))
    np.cumsum(count, axis=1, out=running[:, 1:])
    np.subtract(1.0, prior, out=prior)
    np.log(prior, out=prior)
    return _SharedDraws(
        prior_exp=jnp.asarray(np.negative(prior, dtype=np.float32)),
        count_running=running.reshape(-1),
        reward_noise=jnp.asarray(noise, jnp.float32),
    )


def _count_exp(draws: _SharedDraws, segments: _CountSegments, g: int) -> np.ndarray:
    """Σ of each entry's c more Exp(1) for grid point g: [N, S·A·S'] float32 (0 when c = 0).

    Entry k's segment runs from the end of entry k - 1 (the instance's start, where the running
    sum is 0, for k = 0) to its own end: the sum is running[end_{k-1}] - running[end_k].
    """
    at_end = draws.count_running.take(segments.end[g])
    out = np.empty(at_end.shape, np.float32)
    np.negative(at_end[:, :1], out=out[:, :1], casting="same_kind")
    np.subtract(at_end[:, :-1], at_end[:, 1:], out=out[:, 1:], casting="same_kind")
    return out


# --------------------------------------------------------------------------- the trial loop


class _Instances(NamedTuple):
    reward_mean: Array  # [N, S, A] float32
    transition_cdf: Array  # [N, S, A, S] float32 running sums of the rows


Planner = Callable[[Counts, int], Array]  # (counts [G, N, ...], episode) -> q [G, N, H, S, A]


def _run_trials(
    instances: _Instances,
    outcomes: MDPOutcomes,
    seed: int,
    epsilon: np.ndarray,
    planner: Planner | None,
    *,
    count_last: bool,
) -> np.ndarray:
    """Runs G × N trials (G = len(epsilon) grid points) and returns the totals [G, N]."""
    num_instances, num_states, num_actions = instances.reward_mean.shape
    _, n, horizon = outcomes.reward_noise.shape
    grid = len(epsilon)
    shape = (grid, num_instances, num_states, num_actions)
    counts = Counts(
        visits=jnp.zeros(shape, jnp.float32),
        reward_sum=jnp.zeros(shape, jnp.float32),
        transitions=jnp.zeros((*shape, num_states), jnp.float32),
    )
    flat_q = jnp.zeros((grid, num_instances, horizon, num_states, num_actions), jnp.float32)
    epsilon = jnp.asarray(epsilon, jnp.float32)
    rewards = []
    for episode in range(n):
        q = flat_q if planner is None else planner(counts, episode)
        noise = _agent_noise(outcomes, seed, episode, num_actions)
        counts, reward = _run_episodes(
            counts,
            q,
            epsilon,
            instances.reward_mean,
            instances.transition_cdf,
            noise,
            count_last=count_last,
        )
        rewards.append(reward)
    return np.sum([np.asarray(r, np.float64) for r in rewards], axis=0)


def _posterior_sampling_planner(
    num_samples: Sequence[int], prior: _Prior, seed: int, horizon: int
) -> Planner:
    """PSRL / optimistic PSRL for G grid points: max over num_samples[g] posterior samples.

    Sample j of an episode uses the same draws at every grid point (common random numbers), so
    the draws are made once per j and shared; each grid point cuts its own Gamma sums out of them.
    """
    if prior.dirichlet != 1.0:  # the Exp-sum sampler needs integer Dirichlet parameters 1 + c
        raise ValueError(f"posterior sampling needs a Dirichlet(1) prior, got {prior.dirichlet}")

    def plan(counts: Counts, episode: int) -> Array:
        grid, num, num_states, num_actions = counts.visits.shape
        mean, precision = _reward_posterior(counts, prior)
        scale = 1.0 / jnp.sqrt(precision)
        per_grid = [(mean[g], scale[g]) for g in range(grid)]
        segments = _count_segments(np.asarray(counts.transitions))
        rows_shape = counts.transitions.shape[1:]
        q_max = [jnp.full((horizon, num_states, num_actions, num), -jnp.inf)] * grid
        for j in range(max(num_samples)):
            draws = _shared_draws(
                seed, episode, j, (num, num_states, num_actions), segments.num_counted
            )
            for g, (mean_g, scale_g) in enumerate(per_grid):
                if j < num_samples[g]:
                    count_exp = _count_exp(draws, segments, g).reshape(rows_shape)
                    q_max[g] = _plan_sample(
                        mean_g,
                        scale_g,
                        draws.reward_noise,
                        draws.prior_exp,
                        count_exp,
                        q_max[g],
                        horizon,
                    )
        return jnp.transpose(jnp.stack(q_max), (0, 4, 1, 2, 3))  # [G, N, H, S, A]

    return plan


# --------------------------------------------------------------------------- validation


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be 'paper' or 'clean', got {mode!r}")
    return mode


def _prepare(
    reward_mean: Any, transition: Any, n: int, seed: int, horizon: int, mode: str
) -> tuple[_Instances, MDPOutcomes, int]:
    """Validates the user-facing inputs and builds the instance arrays and the outcomes."""
    _check_mode(mode)
    n = require_int("n (episodes per trial)", n, minimum=1)
    seed = require_int("seed", seed, minimum=0)
    horizon = require_int("horizon", horizon, minimum=1)
    reward_mean = np.asarray(reward_mean, np.float64)
    transition = np.asarray(transition, np.float64)
    if reward_mean.ndim != 3:
        raise ValueError(f"reward_mean must have shape [N, S, A], got {reward_mean.shape}")
    num_instances, num_states, num_actions = reward_mean.shape
    if num_instances < 1 or num_states < 1 or num_actions < 1:
        raise ValueError(f"need N, S and A >= 1, got reward_mean of shape {reward_mean.shape}")
    if transition.shape != (num_instances, num_states, num_actions, num_states):
        raise ValueError(
            f"transition must have shape [N, S, A, S] = "
            f"{[num_instances, num_states, num_actions, num_states]}, got {transition.shape}"
        )
    if not (np.isfinite(reward_mean).all() and np.isfinite(transition).all()):
        raise ValueError("reward_mean and transition must be finite")
    if (transition < 0).any() or np.abs(transition.sum(-1) - 1.0).max() > 1e-4:
        raise ValueError("every transition row must be non-negative and sum to 1")
    instances = _Instances(
        reward_mean=jnp.asarray(reward_mean, jnp.float32),
        transition_cdf=jnp.asarray(np.cumsum(transition, axis=-1), jnp.float32),
    )
    return instances, mdp_outcomes(num_instances, n, horizon, seed), seed


def _as_grid(name: str, value: Any, low: float, high: float) -> tuple[np.ndarray, bool]:
    """A hyper-parameter as a 1-D float array and whether it was a scalar; checks the range."""
    values = np.asarray(value, np.float64)
    scalar = values.ndim == 0
    values = values.reshape(-1)
    if values.size == 0:
        raise ValueError(f"{name} grid is empty; give at least one value")
    if (
        values.ndim != 1
        or not np.isfinite(values).all()
        or (values < low).any()
        or (values > high).any()
    ):
        raise ValueError(f"{name} must lie in [{low}, {high}], got {value!r}")
    return values, scalar


def _finish(totals: np.ndarray, scalar: bool) -> np.ndarray:
    return totals[0] if scalar else totals


# --------------------------------------------------------------------------- the agents


def random(
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    *,
    mode: str = "paper",
    horizon: int = HORIZON,
) -> np.ndarray:
    """Uniformly random actions: the floor of the table (about H·E[μ] = 10 per episode).

    a_h ~ Uniform{0, ..., A - 1}, from the same exploration stream ε-greedy uses, so
    ``random`` equals ``epsilon_greedy(epsilon=1)`` exactly.

    Args:
      reward_mean: [N, S, A] mean rewards μ of the N instances.
      transition: [N, S, A, S] transition rows.
      n: episodes per trial, an integer >= 1.
      seed: an integer >= 0 (common random numbers: see the module docstring).
      mode: "paper" or "clean" (no difference for this agent).
      horizon: H, steps per episode.

    Returns:
      [N] total reward of each trial (float64).

    Example:
      >>> mu, p = mdp_instances(300)
      >>> random(mu, p, n=10, seed=0).mean()        # about 100

    Reference: Duan et al. 2017, Table 2 ("Random").
    """
    instances, outcomes, seed = _prepare(reward_mean, transition, n, seed, horizon, mode)
    return _run_trials(instances, outcomes, seed, np.ones(1), None, count_last=True)[0]


def epsilon_greedy(
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    epsilon: float | Sequence[float],
    *,
    mode: str = "paper",
    horizon: int = HORIZON,
) -> np.ndarray:
    """ε-greedy: optimal for the posterior-mean MDP under a near-flat prior, ε-random actions.

    Each episode: μ̂ = Σr/(10⁻⁴ + n), p̂ = (10⁻⁴ + c)/Σ(10⁻⁴ + c) (TabulaRL's EpsilonGreedy,
    alpha0 = tau0 = 1e-4, mu0 = 0: empirical means, uniform rows when unvisited), then
    backward induction; at each step a uniform random action with probability ε, else the greedy
    action (uniform among ties). Paper mode does not count the last transition of an episode;
    clean mode counts it.

    Args:
      reward_mean: [N, S, A] mean rewards μ.
      transition: [N, S, A, S] transition rows.
      n: episodes per trial.
      seed: an integer >= 0.
      epsilon: ε in [0, 1], or a sequence of them (run together as one batch).
      mode: "paper" or "clean".
      horizon: H.

    Returns:
      [N] totals for a scalar ε, [G, N] for a sequence of G values.

    Example:
      >>> epsilon_greedy(mu, p, n=10, seed=0, epsilon=[0.1, 0.2]).mean(axis=1)

    Reference: TabulaRL ``EpsilonGreedy``; Duan et al. 2017, Table 2 (grid ε ∈ {0.1, ..., 1}).
    """
    instances, outcomes, seed = _prepare(reward_mean, transition, n, seed, horizon, mode)
    eps, scalar = _as_grid("epsilon", epsilon, 0.0, 1.0)

    def planner(counts: Counts, episode: int) -> Array:
        return _plan_mean_batch(counts, _EGREEDY_PRIOR, horizon)

    totals = _run_trials(instances, outcomes, seed, eps, planner, count_last=mode == "clean")
    return _finish(totals, scalar)


def greedy(
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    *,
    mode: str = "paper",
    horizon: int = HORIZON,
) -> np.ndarray:
    """Greedy: `epsilon_greedy` with ε = 0 (always the posterior-mean MDP's optimal action).

    Args:
      reward_mean: [N, S, A]; transition: [N, S, A, S]; n: episodes per trial; seed: >= 0;
      mode: "paper" or "clean"; horizon: H.

    Returns:
      [N] totals.

    Example:
      >>> greedy(mu, p, n=10, seed=0).mean()         # about 135 in paper mode

    Reference: Duan et al. 2017, Table 2 ("Greedy").
    """
    return epsilon_greedy(reward_mean, transition, n, seed, 0.0, mode=mode, horizon=horizon)


def opsrl(
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    num_samples: int | Sequence[int],
    *,
    mode: str = "paper",
    horizon: int = HORIZON,
) -> np.ndarray:
    """Optimistic PSRL: act on the element-wise max of the q-values of N posterior samples.

    Posterior per (s, a): mean reward ~ N(m, 1/τ_post) with τ_post = τ0 + n, m = (μ0τ0 + Σr)/τ_post,
    and row ~ Dirichlet(1 + c). Each episode draws N MDPs, plans each by backward induction and
    acts greedily on max_j q_j[h, s, a] (TabulaRL ``OptimisticPSRL``). Paper mode: prior N(0, 1),
    last transition not counted. Clean mode: prior N(1, 1) (the generating one), all counted.

    Args:
      reward_mean: [N, S, A]; transition: [N, S, A, S]; n: episodes per trial; seed: >= 0.
      num_samples: N >= 1, or a sequence of them (run together; sample j's draws are shared).
      mode: "paper" or "clean".
      horizon: H.

    Returns:
      [N] totals for a scalar num_samples, [G, N] for a sequence of G values.

    Example:
      >>> opsrl(mu, p, n=10, seed=0, num_samples=5).mean()

    Reference: Osband & Van Roy, "Why is posterior sampling better than optimism for reinforcement
    learning?", ICML 2017 (optimistic PSRL); TabulaRL ``OptimisticPSRL``.
    """
    instances, outcomes, seed = _prepare(reward_mean, transition, n, seed, horizon, mode)
    values, scalar = _as_grid("num_samples", num_samples, 1, math.inf)
    if not np.all(values == np.round(values)):
        raise ValueError(f"num_samples must be integers >= 1, got {num_samples!r}")
    prior = _TABULA_PRIOR if mode == "paper" else _TRUE_PRIOR
    planner = _posterior_sampling_planner(tuple(int(v) for v in values), prior, seed, horizon)
    totals = _run_trials(
        instances, outcomes, seed, np.zeros(len(values)), planner, count_last=mode == "clean"
    )
    return _finish(totals, scalar)


def psrl(
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    *,
    mode: str = "paper",
    horizon: int = HORIZON,
) -> np.ndarray:
    """Posterior sampling for RL: one posterior sample per episode, then act optimally for it.

    Exactly `opsrl` with num_samples = 1 (TabulaRL's OptimisticPSRL with nSamp = 1 is PSRL).

    Args:
      reward_mean: [N, S, A]; transition: [N, S, A, S]; n: episodes per trial; seed: >= 0;
      mode: "paper" (prior N(0, 1), paper: 138.1 at n = 10) or "clean" (prior N(1, 1));
      horizon: H.

    Returns:
      [N] totals.

    Example:
      >>> psrl(mu, p, n=10, seed=0).mean()             # about 138 in paper mode

    Reference: Osband, Russo & Van Roy, "(More) efficient reinforcement learning via posterior
    sampling", NeurIPS 2013; TabulaRL ``PSRL``.
    """
    return opsrl(reward_mean, transition, n, seed, 1, mode=mode, horizon=horizon)


def beb(
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    scaling: float | Sequence[float],
    *,
    mode: str = "paper",
    horizon: int = HORIZON,
) -> np.ndarray:
    """Bayesian exploration bonus: plan on the posterior-mean MDP plus bonuses.

        q_h(s, a) = m(s, a) + 1/(n(s, a) + 2) + b(s, a)·(H - 1 - h) + Σ_s' p̄(s' | s, a) v_{h+1}(s'),

    m the posterior mean reward (prior N(0, 1) in paper mode, N(1, 1) in clean), p̄ = α/Σα with
    α = 1 + counts, β = 2H²·scaling, and b = β·H/(1 + Σα) in paper mode (TabulaRL ``BEB``; see the
    module docstring, quirk 4) or β/(1 + Σα) in clean mode.

    Args:
      reward_mean: [N, S, A]; transition: [N, S, A, S]; n: episodes per trial; seed: >= 0.
      scaling: >= 0, or a sequence of them (run together as one batch).
      mode: "paper" or "clean".
      horizon: H.

    Returns:
      [N] totals for a scalar scaling, [G, N] for a sequence of G values.

    Example:
      >>> beb(mu, p, n=10, seed=0, scaling=MDP_GRIDS["beb"]["scaling"]).mean(axis=1)

    Reference: Kolter & Ng, "Near-Bayesian exploration in polynomial time", ICML 2009;
    TabulaRL ``BEB``.
    """
    instances, outcomes, seed = _prepare(reward_mean, transition, n, seed, horizon, mode)
    scalings, scalar = _as_grid("scaling", scaling, 0.0, math.inf)
    prior = _TABULA_PRIOR if mode == "paper" else _TRUE_PRIOR
    scale = jnp.asarray(scalings, jnp.float32)

    def planner(counts: Counts, episode: int) -> Array:
        return _plan_beb_batch(counts, scale, prior, horizon, mode == "paper")

    totals = _run_trials(
        instances, outcomes, seed, np.zeros(len(scalings)), planner, count_last=mode == "clean"
    )
    return _finish(totals, scalar)


def ucrl2(
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    scaling: float | Sequence[float],
    *,
    mode: str = "paper",
    horizon: int = HORIZON,
) -> np.ndarray:
    """UCRL2 with finite-horizon extended value iteration (TabulaRL ``UCRL2``).

    Estimates with near-flat priors (alpha0 = 1e-5, tau0 = 1e-4: empirical means, uniform rows
    when unvisited); at episode t (0-based) the reward slack is scaling·sqrt(4 ln(2SA(t+1)/δ) /
    max(n, 1)) and the transition slack scaling·sqrt(4S ln(2SA(t+1)/δ) / max(n_P, 1)), δ = 0.05;
    extended value iteration moves slack/2 of each row's mass to the best next state. Paper mode
    compounds the row edits across the backward steps as the authors' code did and does not count
    the last transition of an episode; clean mode runs Jaksch et al.'s inner loop on a fresh copy
    at every step and counts every transition.

    Args:
      reward_mean: [N, S, A]; transition: [N, S, A, S]; n: episodes per trial; seed: >= 0.
      scaling: >= 0, or a sequence of them (run together as one batch).
      mode: "paper" or "clean".
      horizon: H.

    Returns:
      [N] totals for a scalar scaling, [G, N] for a sequence of G values.

    Example:
      >>> ucrl2(mu, p, n=10, seed=0, scaling=0.05).mean()

    Reference: Jaksch, Ortner & Auer, JMLR 2010; TabulaRL ``UCRL2`` and ``compute_qVals_EVI``.
    """
    instances, outcomes, seed = _prepare(reward_mean, transition, n, seed, horizon, mode)
    scalings, scalar = _as_grid("scaling", scaling, 0.0, math.inf)
    scale = jnp.asarray(scalings, jnp.float32)

    def planner(counts: Counts, episode: int) -> Array:
        return _plan_ucrl2_batch(counts, scale, jnp.float32(episode), horizon, mode == "paper")

    totals = _run_trials(
        instances, outcomes, seed, np.zeros(len(scalings)), planner, count_last=mode == "clean"
    )
    return _finish(totals, scalar)


MDP_AGENTS: dict[str, Callable[..., np.ndarray]] = {
    "random": random,
    "greedy": greedy,
    "epsilon_greedy": epsilon_greedy,
    "psrl": psrl,
    "opsrl": opsrl,
    "beb": beb,
    "ucrl2": ucrl2,
}
"""Agent name -> function(reward_mean, transition, n, seed, [hyper-parameter], mode=...)."""


def _check_name(name: str) -> None:
    if name not in MDP_AGENTS:
        raise ValueError(f"unknown MDP agent {name!r}; choose one of {sorted(MDP_AGENTS)}")


def run_mdp_agent(
    name: str,
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    mode: str = "paper",
    **hparams: Any,
) -> np.ndarray:
    """Runs one agent of the MDP table by name.

    Args:
      name: one of `MDP_AGENTS` ("random", "greedy", "epsilon_greedy", "psrl", "opsrl", "beb",
        "ucrl2").
      reward_mean: [N, S, A] mean rewards of the N instances.
      transition: [N, S, A, S] transition rows.
      n: episodes per trial.
      seed: an integer >= 0 shared by every agent (common random numbers).
      mode: "paper" (the authors' quirks) or "clean".
      **hparams: the agent's hyper-parameter (`epsilon`, `num_samples` or `scaling`), a value or a
        sequence of values; `horizon` may be given too.

    Returns:
      [N] totals, or [G, N] when the hyper-parameter is a sequence of G values.

    Example:
      >>> run_mdp_agent("opsrl", mu, p, 10, 0, num_samples=3).mean()

    Reference: Duan et al. 2017, Table 2.
    """
    _check_name(name)
    _check_mode(mode)
    expected = set(MDP_GRIDS[name]) | {"horizon"}
    unknown = set(hparams) - expected
    missing = set(MDP_GRIDS[name]) - set(hparams)
    if unknown or missing:
        raise ValueError(
            f"{name} takes hyper-parameters {sorted(MDP_GRIDS[name])}; got {sorted(hparams)}"
        )
    return MDP_AGENTS[name](reward_mean, transition, n, seed, mode=mode, **hparams)


def run_mdp_grid(
    name: str,
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    mode: str = "paper",
    *,
    grid: Sequence[Any] | None = None,
    horizon: int = HORIZON,
    workers: int = 1,
) -> tuple[tuple[Any, ...], np.ndarray]:
    """Runs an agent over its whole hyper-parameter grid (the authors' by default).

    The grid points run as one batch, or as `workers` batches on as many threads (NumPy and XLA
    release the GIL). The agents' random streams do not depend on which grid points share a batch,
    so the totals are the same for any `workers`. Agents without a hyper-parameter give a grid of
    one point, ().

    Args:
      name: an agent of `MDP_AGENTS`.
      reward_mean: [N, S, A]; transition: [N, S, A, S]; n: episodes per trial; seed: >= 0.
      mode: "paper" or "clean".
      grid: the values of the agent's hyper-parameter (default: `MDP_GRIDS[name]`).
      horizon: H.
      workers: threads, an integer >= 1 (at most the number of free cores).

    Returns:
      (values, totals): the grid values and the totals [G, N], row g for values[g].

    Example:
      >>> values, totals = run_mdp_grid("ucrl2", mu, p, n=10, seed=0, workers=2)
      >>> values[int(totals.mean(axis=1).argmax())]       # the best scaling on these instances

    Reference: REFERENCE.md, "How the paper ran its baselines" (best mean per setting).
    """
    _check_name(name)
    _check_mode(mode)
    workers = require_int("workers", workers, minimum=1)
    agent = MDP_AGENTS[name]
    if not MDP_GRIDS[name]:
        if grid is not None and len(grid) != 0:
            raise ValueError(f"{name} has no hyper-parameter; leave grid unset")
        return ((),), agent(reward_mean, transition, n, seed, mode=mode, horizon=horizon)[None]
    (param,) = MDP_GRIDS[name]
    values = tuple(MDP_GRIDS[name][param] if grid is None else grid)
    if len(values) == 0:
        raise ValueError(f"the {param} grid of {name} is empty; give at least one value")
    # deal the grid points round-robin, costliest first (OPSRL's cost grows with num_samples)
    order = sorted(range(len(values)), key=lambda g: -float(values[g]) if name == "opsrl" else g)
    groups = [order[w::workers] for w in range(min(workers, len(values)))]

    def run(group: list[int]) -> np.ndarray:
        return agent(
            reward_mean, transition, n, seed, [values[g] for g in group], mode=mode, horizon=horizon
        )

    if len(groups) == 1:
        parts = [run(groups[0])]
    else:
        with ThreadPoolExecutor(max_workers=len(groups)) as pool:
            parts = list(pool.map(run, groups))
    totals = np.empty((len(values), parts[0].shape[-1]))
    for group, part in zip(groups, parts, strict=True):
        totals[group] = part
    return values, totals


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
      >>> optimal_value(mu, p).mean()              # an upper bound per episode

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
