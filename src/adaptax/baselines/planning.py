"""Finite-horizon planning in tabular MDPs: backward induction and extended value iteration.

Both planners are written for one MDP (states S, actions A, horizon H) as pure JAX functions; batch
them with `jax.vmap`. Step h = 0 is the first step of an episode and h = H - 1 the last, so
`q[h, s, a]` is the value of taking a in s with H - h steps to go (this is TabulaRL's
`qVals[s, h]`, Osband et al. 2016).

`backward_induction_batch` is a batch-last variant of backward induction for thousands of MDPs on a
CPU (the hot path of posterior sampling).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from adaptax._checks import require_int
from adaptax.types import Array

__all__ = ["Plan", "backward_induction", "backward_induction_batch", "extended_value_iteration"]


class Plan(NamedTuple):
    """The output of a finite-horizon planner.

    Attributes:
      q: [H, S, A] action values, q[h, s, a] with H - h steps to go.
      v: [H + 1, S] state values, v[h] = max_a q[h] and v[H] = 0.
    """

    q: Array
    v: Array


def _check_transition(transition: Array) -> tuple[int, int]:
    if transition.ndim != 3 or transition.shape[0] != transition.shape[2]:
        raise ValueError(
            f"transition must have shape [S, A, S] (one MDP; vmap for a batch), got "
            f"{tuple(transition.shape)}"
        )
    num_states, num_actions = transition.shape[:2]
    if num_states < 1 or num_actions < 1:
        raise ValueError(
            f"need at least one state and one action, got S={num_states}, A={num_actions}"
        )
    return num_states, num_actions


def _stepwise_reward(reward: Array, shape: tuple[int, int], horizon: int | None) -> Array:
    """Broadcasts reward [S, A] or [H, S, A] to [H, S, A], checking the shapes."""
    reward = jnp.asarray(reward)
    if reward.ndim == 3:
        if horizon is not None and horizon != reward.shape[0]:
            raise ValueError(f"reward has {reward.shape[0]} steps but horizon={horizon}; pass one")
        horizon = reward.shape[0]
    horizon = require_int("horizon", horizon, minimum=1)
    if reward.shape[-2:] != shape or reward.ndim not in (2, 3):
        raise ValueError(
            f"reward must have shape [S, A] = {list(shape)} or [H, S, A], got {tuple(reward.shape)}"
        )
    return jnp.broadcast_to(reward, (horizon, *shape))


def backward_induction(reward: Array, transition: Array, horizon: int | None = None) -> Plan:
    """Optimal finite-horizon values of a known tabular MDP by backward induction.

    The Bellman recursion, from the last step back to the first:

        v_H(s) = 0,
        q_h(s, a) = r_h(s, a) + Σ_s' P(s' | s, a) v_{h+1}(s'),
        v_h(s) = max_a q_h(s, a),          h = H - 1, ..., 0.

    `r_h` may depend on the step (BEB's bonus grows with the steps to go) or not.

    Args:
      reward: [S, A] mean rewards (then `horizon` is required) or [H, S, A] per-step rewards.
      transition: [S, A, S] rows P(· | s, a), each summing to 1.
      horizon: H, an integer >= 1; optional when `reward` is [H, S, A].

    Returns:
      `Plan(q [H, S, A], v [H + 1, S])`. Acting greedily on q[h, s] is optimal.

    Example:
      >>> r = jnp.array([[1.0, 0.0]])           # one state, two actions
      >>> p = jnp.ones((1, 2, 1))
      >>> backward_induction(r, p, horizon=3).v[0]   # three steps of reward 1
      Array([3.], dtype=float32)

    Reference: Puterman, "Markov Decision Processes" (1994), §4.5; TabulaRL
    `FiniteHorizonTabularAgent.compute_qVals` (Osband et al. 2016).
    """
    transition = jnp.asarray(transition)
    shape = _check_transition(transition)
    rewards = _stepwise_reward(reward, shape, horizon)
    dtype = jnp.result_type(rewards.dtype, transition.dtype)

    def step(v_next: Array, reward_h: Array) -> tuple[Array, Array]:
        q_h = reward_h + transition @ v_next
        return q_h.max(axis=-1), q_h

    v_last = jnp.zeros(shape[0], dtype)
    _, q = jax.lax.scan(step, v_last, rewards.astype(dtype), reverse=True)
    v = jnp.concatenate([q.max(axis=-1), v_last[None]], axis=0)
    return Plan(q=q, v=v)


class _EVICarry(NamedTuple):
    """Backward-step carry of extended value iteration."""

    v_next: Array  # [S] values one step later
    transition: Array  # [S, A, S] the rows the next (earlier) step starts from


def _optimistic_rows(transition: Array, slack: Array, v_next: Array) -> tuple[Array, Array]:
    """Jaksch et al.'s inner loop for every row at once: the most optimistic P in an L1 ball.

    With next states sorted by v_next ascending, s_1 ... s_S (ties: lower index first, as a stable
    sort), the best state s_S gets min(1, p(s_S) + slack/2) and mass is taken from s_1, s_2, ...
    until the row sums to 1. The loop's "remove from the worst first" is written in closed form:
    removed(t) = clip(excess - mass of the states ordered before t, 0, p(t)).

    Returns the optimistic rows [S, A, S] and `saturated` [S, A] (the row became one-hot on s_S).
    """
    num_states = v_next.shape[0]
    index = jnp.arange(num_states)
    # before[t', t]: t' precedes t in the ascending order of v_next (stable on ties)
    before = (v_next[:, None] < v_next[None, :]) | (
        (v_next[:, None] == v_next[None, :]) & (index[:, None] < index[None, :])
    )
    best = (before.sum(axis=0) == num_states - 1).astype(transition.dtype)  # one-hot of s_S
    half = 0.5 * slack
    saturated = transition @ best + half > 1.0
    raised = transition + half[..., None] * best
    excess = raised.sum(axis=-1, keepdims=True) - 1.0
    mass_before = raised @ before.astype(transition.dtype)
    removed = jnp.clip(excess - mass_before, 0.0, raised)
    optimistic = jnp.where(saturated[..., None], best, raised - removed)
    return optimistic, saturated


def extended_value_iteration(
    reward: Array,
    transition: Array,
    transition_slack: Array,
    horizon: int,
    *,
    compound: bool = False,
) -> Plan:
    """Finite-horizon extended value iteration (UCRL2's optimistic planner).

    At each step h (backward from H - 1), for every (s, a) the transition row is the most
    optimistic one within L1 distance `slack(s, a)` of the estimate p̂(· | s, a) (Jaksch et al.
    2010, Fig. 2): move slack/2 of mass to the next state with the highest v_{h+1} (capped at 1)
    and take it from the lowest-valued states first. Then

        q_h(s, a) = r̃(s, a) + Σ_s' p̃_h(s' | s, a) v_{h+1}(s'),   v_h = max_a q_h,   v_H = 0,

    with r̃ the optimistic reward (estimate plus reward slack, added by the caller).

    `compound=False` is the algorithm: every step starts from the estimate p̂. `compound=True`
    reproduces TabulaRL's `compute_qVals_EVI`, which edits the estimated rows in place, so step h
    starts from the rows step h + 1 left behind and the optimism compounds over the horizon; a row
    that hits the one-hot case is not written back there (the code rebinds a fresh array). This is
    the code the RL² paper's UCRL2 numbers come from (REFERENCE.md, "How the paper ran its
    baselines", Tabular MDPs).

    Args:
      reward: [S, A] optimistic mean rewards r̃ = r̂ + reward slack.
      transition: [S, A, S] estimated rows p̂, each summing to 1.
      transition_slack: [S, A] L1 radius of each row's confidence set (>= 0).
      horizon: H, an integer >= 1.
      compound: reproduce the in-place compounding of the authors' code (see above).

    Returns:
      `Plan(q [H, S, A], v [H + 1, S])`.

    Example:
      >>> p = jnp.array([[[0.5, 0.5]], [[0.5, 0.5]]])      # 2 states, 1 action
      >>> r = jnp.array([[0.0], [1.0]])
      >>> plan = extended_value_iteration(r, p, jnp.full((2, 1), 0.4), horizon=2)
      >>> plan.q[0, :, 0]        # 0.7 of the mass goes to state 1 (value 1)
      Array([0.7, 1.7], dtype=float32)

    Reference: Jaksch, Ortner & Auer, "Near-optimal regret bounds for reinforcement learning",
    JMLR 2010, §3.1.2 and Fig. 2; TabulaRL `compute_qVals_EVI` (Osband et al. 2016).
    """
    transition = jnp.asarray(transition)
    shape = _check_transition(transition)
    horizon = require_int("horizon", horizon, minimum=1)
    reward = jnp.asarray(reward)
    transition_slack = jnp.asarray(transition_slack)
    if reward.shape != shape:
        raise ValueError(f"reward must have shape [S, A] = {list(shape)}, got {reward.shape}")
    if transition_slack.shape != shape:
        raise ValueError(
            f"transition_slack must have shape [S, A] = {list(shape)}, got {transition_slack.shape}"
        )
    dtype = jnp.result_type(reward.dtype, transition.dtype, transition_slack.dtype)
    reward, transition, slack = (x.astype(dtype) for x in (reward, transition, transition_slack))

    def step(carry: _EVICarry, _: None) -> tuple[_EVICarry, Array]:
        rows, saturated = _optimistic_rows(carry.transition, slack, carry.v_next)
        q_h = reward + rows @ carry.v_next
        if compound:
            kept = jnp.where(saturated[..., None], carry.transition, rows)
        else:
            kept = carry.transition
        return _EVICarry(v_next=q_h.max(axis=-1), transition=kept), q_h

    v_last = jnp.zeros(shape[0], dtype)
    start = _EVICarry(v_next=v_last, transition=transition)
    _, q = jax.lax.scan(step, start, None, length=horizon, reverse=True)
    v = jnp.concatenate([q.max(axis=-1), v_last[None]], axis=0)
    return Plan(q=q, v=v)


# --------------------------------------------------------------------------- batched kernel

def _next_value(rows: Array, v_next: Array) -> Array:
    """Σ_t rows[:, :, t] v_next[t] over the next-state axis 2, unrolled into multiply-adds.

    rows [S, A, S', c], v_next [S', c] -> [S, A, c].
    """
    total = rows[:, :, 0] * v_next[0]
    for t in range(1, rows.shape[2]):  # trace-time unroll: S fused multiply-adds across the batch
        total = total + rows[:, :, t] * v_next[t]
    return total


def _backward_induction_minor(reward: Array, transition: Array, horizon: int) -> Array:
    """reward [S, A, c] or [H, S, A, c], transition [S, A, S', c] -> q [H, S, A, c]."""

    def step(v_next: Array, reward_h: Array | None) -> tuple[Array, Array]:
        q_h = (reward if reward_h is None else reward_h) + _next_value(transition, v_next)
        return q_h.max(axis=1), q_h

    v_last = jnp.zeros((transition.shape[2], transition.shape[-1]), transition.dtype)
    steps = reward if reward.ndim == 4 else None
    _, q = jax.lax.scan(step, v_last, steps, length=horizon, reverse=True)
    return q


def backward_induction_batch(
    reward: Array, transition: Array, horizon: int | None = None
) -> Array:
    """`backward_induction` for B MDPs laid out batch-last, vectorised across them.

    The same recursion as `backward_induction`, for data laid out with the batch as the last
    (minor) axis: XLA's CPU backend then turns the unrolled sum over next states into
    multiply-adds across MDPs, about 2x faster than `jax.vmap` of the single-MDP function (whose
    `transition @ v` becomes many tiny matrix-vector products). The layout is the instance-major
    one, [B, S, A, S'], with the batch moved last: one 2-d transpose of a [B, S·A·S'] array away
    from rows drawn per instance (for 1000 MDPs, S = 10, A = 5, H = 10 here: 0.6 ms in NumPy;
    the recursion then ≈ 1 ms, against ≈ 5 ms for the S'-first layout it replaced, transpose
    included). This departs from "write for one case, vmap" for the hot path of posterior
    sampling.

    Args:
      reward: [S, A, B] mean rewards (then `horizon` is required) or [H, S, A, B].
      transition: [S, A, S', B]: transition[s, a, s', b] = P_b(s' | s, a).
      horizon: H, an integer >= 1; optional when `reward` is [H, S, A, B].

    Returns:
      q [H, S, A, B], equal to `jax.vmap(backward_induction)`'s q (moved axes) up to rounding.

    Example:
      >>> r = jnp.ones((2, 3, 1000)); p = jnp.full((2, 3, 2, 1000), 0.5)   # S = 2, A = 3
      >>> backward_induction_batch(r, p, horizon=10)[0, 0, 0, :3]      # 10 steps of reward 1
      Array([10., 10., 10.], dtype=float32)

    Reference: as `backward_induction`.
    """
    transition, reward = jnp.asarray(transition), jnp.asarray(reward)
    if transition.ndim != 4 or transition.shape[0] != transition.shape[2]:
        raise ValueError(f"transition must have shape [S, A, S', B], got {tuple(transition.shape)}")
    num_states, num_actions, _, batch = transition.shape
    if min(num_states, num_actions, batch) < 1:
        raise ValueError(f"need S, A and B >= 1, got transition of shape {transition.shape}")
    if reward.ndim == 4:
        if horizon is not None and horizon != reward.shape[0]:
            raise ValueError(f"reward has {reward.shape[0]} steps but horizon={horizon}; pass one")
        horizon = reward.shape[0]
    horizon = require_int("horizon", horizon, minimum=1)
    if reward.ndim not in (3, 4) or reward.shape[-3:] != (num_states, num_actions, batch):
        raise ValueError(
            f"reward must have shape [S, A, B] = {[num_states, num_actions, batch]} "
            f"or [H, S, A, B], got {tuple(reward.shape)}"
        )
    dtype = jnp.result_type(reward.dtype, transition.dtype)
    return _backward_induction_minor(reward.astype(dtype), transition.astype(dtype), horizon)
