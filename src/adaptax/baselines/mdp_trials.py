"""Episodes, planners and the trial loop of the tabular-MDP agents of `adaptax.baselines.mdp`.

Every agent is vectorised over the N instances and over the grid points of its hyper-parameter: a
Python loop runs over the episodes only (and, for posterior sampling, over the samples j, each
drawn once and shared by every grid point that uses it). Planning and the H steps of an episode
are jitted and vmapped (`planning.py` is written for one MDP; posterior samples are planned batch
last, as its `backward_induction_batch` does, in one fused kernel per sample and grid point).

Example:
  >>> import numpy as np
  >>> from adaptax.baselines.mdp_model import mdp_instances
  >>> mu, p = mdp_instances(10)
  >>> instances, outcomes, seed, episodes = _prepare(mu, p, 10, seed=0, horizon=10, mode="paper")
  >>> _run_trials(instances, outcomes, seed, np.ones(1), None, count_last=True,
  ...             episodes=episodes).shape  # random
  (1, 10)
  >>> _run_trials(instances, outcomes, seed, np.ones(1), None, count_last=True,
  ...             episodes=(5, 10)).shape   # the totals after 5 and after 10 episodes
  (2, 1, 10)

Reference: Duan et al., "RL²: Fast reinforcement learning via slow reinforcement learning",
arXiv:1611.02779, §3.2 and Table 2; Osband, Van Roy & Russo, TabulaRL
(github.com/iosband/TabulaRL, ``finite_tabular_agents.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from adaptax._checks import require_choice, require_int
from adaptax.baselines.mdp_model import (
    _UCRL2_PRIOR,
    MODES,
    START_STATE,
    TIE_ATOL,
    TIE_RTOL,
    UCRL2_DELTA,
    Counts,
    MDPOutcomes,
    _agent_noise,
    _count_running,
    _EpisodeNoise,
    _Prior,
    _reward_posterior,
    _shared_draws,
    _transition_mean,
    mdp_outcomes,
)
from adaptax.baselines.planning import (
    _next_value,
    backward_induction,
    extended_value_iteration,
)
from adaptax.types import Array


class _StepCarry(NamedTuple):
    state: Array
    counts: Counts
    total: Array


# --------------------------------------------------------------------------- one run, one episode


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
    q_max: Array | None,
    horizon: int,
) -> Array:
    """max(q_max, q of one posterior sample per instance) for a batch of N instances.

    Everything is batch last, the layout `backward_induction_batch` vectorises: the sample's
    rewards mean + scale·noise ([S, A, N]), its rows the Gamma draws prior_exp + count_exp
    ([S·A·S', N]) normalised over s'; q_max (None for the first sample: q alone, a second
    compilation) and the result [H, S, A, N]. The same arithmetic as `backward_induction_batch`
    on those rows, with the max taken inside the backward loop (no extra pass over q).
    """
    num_states, num_actions, num = mean.shape
    gammas = (prior_exp + count_exp).reshape(num_states, num_actions, num_states, num)
    rows = gammas / gammas.sum(axis=2, keepdims=True)
    reward = mean + scale * noise

    def step(v_next: Array, q_max_h: Array | None) -> tuple[Array, Array]:
        q_h = reward + _next_value(rows, v_next)
        return q_h.max(axis=1), q_h if q_max_h is None else jnp.maximum(q_max_h, q_h)

    v_last = jnp.zeros((num_states, num), rows.dtype)
    _, q = jax.lax.scan(step, v_last, q_max, length=horizon, reverse=True)
    return q


def _aligned_empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised array on a 64-byte boundary: `jax.device_put` then aliases it (no copy)."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.empty(size + 64, np.uint8)
    start = -raw.ctypes.data % 64
    return raw[start : start + size].view(dtype).reshape(shape)


def _segment_ends_batch_last(transitions: np.ndarray) -> tuple[np.ndarray, int]:
    """Where each entry's count segment ends in `_count_running`'s sums: ([G, S·A·S', N], m).

    The segments are `mdp_model._count_segments`'s; only the layout differs. Entry k of instance
    i ends after its Σ_{k' <= k} c_k' count units, flat position (Σ_{k' <= k} c_k')·N + i of the
    position-major [m + 1, N] running sums. Cumulated down the entry axis with the instances
    last, the sum vectorises across instances, and each grid point's ends are in the batch-last
    order the planner reads.
    """
    grid, num = transitions.shape[:2]
    end = np.empty((grid, transitions[0, 0].size, num), np.intp)
    end[...] = transitions.reshape(grid, num, -1).transpose(0, 2, 1)  # exact: small integers
    np.cumsum(end, axis=1, out=end)
    totals = end[:, -1]
    if (totals != totals.flat[0]).any():  # every trial counts the same number of transitions
        raise RuntimeError(f"trials counted different numbers of transitions: {set(totals.flat)}")
    counted = int(totals.flat[0])
    end *= num
    end += np.arange(num, dtype=np.intp)
    return end, counted


def _count_exp_batch_last(running: np.ndarray, end: np.ndarray, at_end: np.ndarray) -> Array:
    """`mdp_model._count_exp` for one grid point: the same float32 values [S·A·S', N], as a
    device array, from `_count_running`'s sums and `_segment_ends_batch_last`'s ends [S·A·S', N].
    `at_end` is a float64 [S·A·S', N] scratch buffer.

    The gather writes batch last and the differences run along contiguous rows; the result is
    written to a fresh 64-byte-aligned buffer that the device array aliases.
    """
    running.reshape(-1).take(end, out=at_end, mode="clip")  # in range; "raise" buffers `out`
    out = _aligned_empty(at_end.shape, np.float32)
    np.negative(at_end[0], out=out[0], casting="same_kind")
    np.subtract(at_end[:-1], at_end[1:], out=out[1:], casting="same_kind")
    return jax.device_put(out)


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
    episodes: int | tuple[int, ...],
) -> np.ndarray:
    """Runs G × N trials (G = len(epsilon) grid points) and returns the totals [G, N].

    `episodes`: the trial length, or a tuple of L lengths for totals [L, G, N] from one run of the
    longest (`outcomes` holds its episodes): the first n' episodes of a trial are the trial of n'
    (no agent here looks at n, and the random streams are drawn per episode).
    """
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
    running = np.cumsum([np.asarray(r, np.float64) for r in rewards], axis=0)
    return running[np.asarray(episodes) - 1]  # [G, N] for one length, [L, G, N] for a tuple


def _posterior_sampling_planner(
    num_samples: Sequence[int], prior: _Prior, seed: int, horizon: int
) -> Planner:
    """PSRL / optimistic PSRL for G grid points: max over num_samples[g] posterior samples.

    Sample j of an episode uses the same draws at every grid point (common random numbers), so
    the draws are made once per j and shared; each grid point cuts its own Gamma sums out of them.
    Per sample the count block's running sums are laid out position-major, and per (grid point,
    sample) the host gathers them at the segment ends batch last and takes their differences
    along contiguous rows into an aligned buffer the device array aliases; the jitted kernel adds
    the prior's units, normalises, plans and keeps the running max. The values are those of
    `mdp_model._count_exp` and `backward_induction_batch`, bit for bit (tested).
    """
    if prior.dirichlet != 1.0:  # the Exp-sum sampler needs integer Dirichlet parameters 1 + c
        raise ValueError(f"posterior sampling needs a Dirichlet(1) prior, got {prior.dirichlet}")

    # the grid points still drawing at sample j: the first drawing[j] of `order`
    order = np.argsort([-v for v in num_samples], kind="stable")
    drawing = [int(np.sum(np.asarray(num_samples) > j)) for j in range(max(num_samples))]

    def plan(counts: Counts, episode: int) -> Array:
        grid, num, num_states, num_actions = counts.visits.shape
        host = Counts(*(np.asarray(c) for c in counts))
        mean, precision = _reward_posterior(host, prior)
        # per grid point [S, A, N] device arrays (slicing a device array per sample would cost a
        # dispatch each)
        mean = [jax.device_put(m) for m in np.moveaxis(mean.astype(np.float32), 1, -1).copy()]
        scale = [
            jax.device_put(s)
            for s in np.moveaxis((1.0 / np.sqrt(precision)).astype(np.float32), 1, -1).copy()
        ]
        end, counted = _segment_ends_batch_last(host.transitions)
        at_end = np.empty(end.shape[1:])
        running = np.empty((counted + 1, num))
        q_max: list[Array | None] = [None] * grid
        for j, active in enumerate(drawing):
            # the prior's units and the reward normals; the count block (counted=0 there) is
            # drawn from its own stream by _count_running
            draws = _shared_draws(seed, episode, j, (num, num_states, num_actions), 0)
            _count_running(seed, episode, j, num, counted, running)
            for g in order[:active]:
                q_max[g] = _plan_sample(
                    mean[g],
                    scale[g],
                    draws.reward_noise,
                    draws.prior_exp,
                    _count_exp_batch_last(running, end[g], at_end),
                    q_max[g],
                    horizon,
                )
        return jnp.transpose(jnp.stack(q_max), (0, 4, 1, 2, 3))  # [G, N, H, S, A]

    return plan


# --------------------------------------------------------------------------- validation


def _episode_counts(n: Any) -> int | tuple[int, ...]:
    """n as an int, or as a tuple of ints when it is a sequence (one trial run, several totals)."""
    if isinstance(n, str) or not isinstance(n, Sequence | np.ndarray) or np.ndim(n) == 0:
        return require_int("n (episodes per trial)", n, minimum=1)
    if len(n) == 0:
        raise ValueError("n is an empty sequence; give at least one number of episodes")
    return tuple(require_int("n (episodes per trial)", v, minimum=1) for v in np.ravel(n))


def _prepare(
    reward_mean: Any, transition: Any, n: Any, seed: int, horizon: int, mode: str
) -> tuple[_Instances, MDPOutcomes, int, int | tuple[int, ...]]:
    """Validates the user-facing inputs; builds the instance arrays, the outcomes (for the longest
    trial) and the episode counts (`_episode_counts`)."""
    require_choice("mode", mode, MODES)
    episodes = _episode_counts(n)
    n = episodes if isinstance(episodes, int) else max(episodes)
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
    return instances, mdp_outcomes(num_instances, n, horizon, seed), seed, episodes


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
    """Drops the grid axis (second to last) of [..., G, N] totals for a scalar hyper-parameter."""
    return totals[..., 0, :] if scalar else totals
