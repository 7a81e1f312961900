"""Discounted returns and generalised advantage estimation for one time-major stream.

Both functions are written for a single stream of `T` steps and run a reverse `lax.scan`; batch
them over environments, trials or tasks with `jax.vmap`. Names follow rlax: `r_t` is the reward
received after acting at step `t`, `discount_t = gamma * (1 - done_t)` the discount applied to what
follows it, `v_tm1` the value of the state the action was taken in and `v_t` the value of the state
reached.

A `dones[t]` flag means "the episode (or, for RL², the trial) ended after step t": nothing from
step `t + 1` on is added to step `t`'s return, and the bootstrap value is cut there.

This module imports nothing from the rest of adaptax (DESIGN.md).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from adaptax._checks import require_probability

Array = jax.Array

__all__ = ["GAEOutput", "discounted_returns", "gae"]


class GAEOutput(NamedTuple):
    """What `gae` returns: advantages and the matching value targets (both shape `[T]`)."""

    advantages: Array
    returns: Array


def _check_stream(**arrays: Array) -> int:
    """Check that every array is one-dimensional and of the same length; return that length."""
    lengths = set()
    for name, x in arrays.items():
        if jnp.ndim(x) != 1:
            raise ValueError(
                f"{name} must be one stream of shape [T] (vmap over batches), got shape "
                f"{jnp.shape(x)}."
            )
        lengths.add(jnp.shape(x)[0])
    if len(lengths) != 1:
        shapes = {name: jnp.shape(x) for name, x in arrays.items()}
        raise ValueError(f"all inputs must have the same length T, got shapes {shapes}.")
    (length,) = lengths
    if length == 0:
        raise ValueError("the stream is empty: T must be at least 1.")
    return length


def discounted_returns(
    rewards: Array,
    dones: Array,
    gamma: float | Array,
    last_value: float | Array = 0.0,
) -> Array:
    """Discounted return of every step of one stream, cut at episode ends.

    The recursion, run backwards from the end of the stream:

        G_t = r_t + γ (1 − d_t) G_{t+1},        G_T = last_value,

    so `G_t = Σ_{k≥0} γ^k r_{t+k}` up to and including the first step `t+k` with `d_{t+k} = 1`,
    plus `γ^{T−t} · last_value` when no episode ends between `t` and the end of the stream.

    Args:
      rewards: `r_t`, shape `[T]`.
      dones: `d_t`, shape `[T]`, bool or {0, 1}; true when the episode ended after step `t`.
      gamma: discount `γ` in [0, 1].
      last_value: bootstrap value `G_T` of the state after the last step (0 for a finished
        episode; a value estimate for a truncated stream).

    Returns:
      `G`, shape `[T]`, in the dtype of `rewards` (promoted to floating point).

    Example:
      >>> discounted_returns(jnp.array([1.0, 1.0, 1.0]), jnp.array([False, True, False]), 0.5)
      Array([1.5, 1. , 1. ], dtype=float32)

    Reference: Sutton & Barto, Reinforcement Learning: An Introduction (2nd ed.), eq. 3.9.
    """
    _check_stream(rewards=rewards, dones=dones)
    require_probability("gamma", gamma)
    r_t = jnp.asarray(rewards)
    dtype = jnp.result_type(r_t.dtype, jnp.float32)
    r_t = r_t.astype(dtype)
    discount_t = (gamma * (1.0 - jnp.asarray(dones).astype(dtype))).astype(dtype)

    def backward(g_tp1: Array, step: tuple[Array, Array]) -> tuple[Array, Array]:
        r, discount = step
        g = r + discount * g_tp1
        return g, g

    _, g_t = lax.scan(backward, jnp.asarray(last_value, dtype), (r_t, discount_t), reverse=True)
    return g_t


def gae(
    rewards: Array,
    values: Array,
    dones: Array,
    last_value: float | Array,
    gamma: float | Array,
    lam: float | Array,
) -> GAEOutput:
    """Generalised advantage estimates GAE(γ, λ) and λ-return targets for one stream.

    With `v_tm1 = V(s_t)` (`values`) and `v_t = V(s_{t+1})` (`values` shifted by one, ending
    with `last_value`), the TD error and the backward recursion are

        δ_t = r_t + γ (1 − d_t) v_t − v_tm1,
        A_t = δ_t + γ λ (1 − d_t) A_{t+1},        A_T = 0,

    and the value targets are `R_t = A_t + v_tm1` (the λ-returns). λ = 1 gives the discounted
    return minus the value, λ = 0 the one-step TD error. No gradient is stopped here: call it
    on constants (or wrap the result in `lax.stop_gradient`) when it feeds a loss.

    Args:
      rewards: `r_t`, shape `[T]`.
      values: `V(s_t)`, shape `[T]`, the value of the state each action was taken in.
      dones: `d_t`, shape `[T]`, bool or {0, 1}; true when the episode (RL²: the trial) ended
        after step `t`, which cuts both the bootstrap and the advantage recursion.
      last_value: `V(s_T)`, the value of the state after the last step (ignored when
        `dones[-1]` is true).
      gamma: discount `γ` in [0, 1].
      lam: GAE parameter `λ` in [0, 1].

    Returns:
      `GAEOutput(advantages, returns)`, each shape `[T]`.

    Example:
      >>> out = gae(jnp.array([1.0, 0.0]), jnp.array([0.5, 0.5]), jnp.array([False, True]),
      ...           last_value=0.0, gamma=1.0, lam=1.0)
      >>> out.advantages
      Array([ 0.5, -0.5], dtype=float32)

    Reference: Schulman et al., "High-Dimensional Continuous Control Using Generalized
    Advantage Estimation", ICLR 2016, §3 eq. 16.
    """
    _check_stream(rewards=rewards, values=values, dones=dones)
    require_probability("gamma", gamma)
    require_probability("lam", lam)
    r_t = jnp.asarray(rewards)
    v_tm1 = jnp.asarray(values)
    dtype = jnp.result_type(r_t.dtype, v_tm1.dtype, jnp.float32)
    r_t = r_t.astype(dtype)
    v_tm1 = v_tm1.astype(dtype)
    v_t = jnp.concatenate([v_tm1[1:], jnp.reshape(jnp.asarray(last_value, dtype), (1,))])
    discount_t = (gamma * (1.0 - jnp.asarray(dones).astype(dtype))).astype(dtype)
    delta_t = r_t + discount_t * v_t - v_tm1
    lambda_discount_t = (lam * discount_t).astype(dtype)

    def backward(a_tp1: Array, step: tuple[Array, Array]) -> tuple[Array, Array]:
        delta, lambda_discount = step
        a = delta + lambda_discount * a_tp1
        return a, a

    _, advantages = lax.scan(
        backward, jnp.zeros((), dtype), (delta_t, lambda_discount_t), reverse=True
    )
    return GAEOutput(advantages=advantages, returns=advantages + v_tm1)
