"""Roll a policy through a gymnax-API environment for a fixed number of steps, for one stream.

One stream, one `lax.scan` over time; batch streams with `jax.vmap`. At every step t, with
`key, key_policy, key_env = split(key, 3)`:

    h_{t+1}, a_t, log π(a_t|·), V_t = policy_fn(θ, h_t, o_t, key_policy)
    o_{t+1}, s_{t+1}, r_t, d_t, info_t = env.step(key_env, s_t, a_t, env_params)

`env.step` auto-resets (gymnax), so when d_t is true o_{t+1} and s_{t+1} already belong to a fresh
episode. The policy carry h is passed through unchanged unless `reset_policy_carry` is given, in
which case h_{t+1} is replaced by `reset_policy_carry(h_{t+1})` wherever d_t is true (e.g. zero a
recurrent state at a trial boundary). Feed-forward policies pass `policy_carry=None`.

The `Trajectory` stores the observation each action was taken in (o_t, not o_{t+1}); the carry
returned holds o_T, s_T and h_T for the next call or a bootstrap value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from adaptax._checks import require_int
from adaptax.envs.base import tree_select
from adaptax.types import Array, PRNGKey

__all__ = ["PolicyFn", "RolloutCarry", "Trajectory", "rollout"]

# policy_fn(policy_params, policy_carry, obs, key) -> (new_policy_carry, action, log_prob, value)
PolicyFn = Callable[[Any, Any, Array, PRNGKey], tuple[Any, Array, Array, Array]]


class RolloutCarry(NamedTuple):
    """What a rollout carries from one step (and one call) to the next, for one stream.

    Attributes:
      env_state: the environment's state s_t.
      obs: the observation o_t the next action will be taken in.
      policy_carry: the policy's recurrent state h_t (`None` for a feed-forward policy).
      key: PRNG key, split at every step.
    """

    env_state: Any
    obs: Any
    policy_carry: Any
    key: PRNGKey


class Trajectory(NamedTuple):
    """A stream of `T` transitions, time-major (leading axis T; vmap adds a batch axis in front).

    Attributes:
      obs: o_t, the observation each action was taken in, `[T, *obs_shape]`.
      action: a_t, `[T, *action_shape]`.
      reward: r_t, `[T]`.
      done: d_t, `[T]` bool: the episode (for a `Trial`, the trial) ended at step t.
      log_prob: log π(a_t | ·) under the sampling policy, `[T]`.
      value: V_t from the policy, `[T]` (zeros if the policy has no critic).
      info: dict of `[T, ...]` arrays from `env.step` (e.g. `"trial_done"`, `"episode_done"`).
    """

    obs: Any
    action: Array
    reward: Array
    done: Array
    log_prob: Array
    value: Array
    info: dict[str, Array]


def rollout(
    env: Any,
    env_params: Any,
    policy_fn: PolicyFn,
    policy_params: Any,
    carry: RolloutCarry,
    num_steps: int,
    reset_policy_carry: Callable[[Any], Any] | None = None,
) -> tuple[RolloutCarry, Trajectory]:
    """Runs `policy_fn` in `env` for `num_steps` steps of one stream under `lax.scan`.

        for t = 0 … T−1:  (h, a_t, logπ_t, V_t) = π(θ, h, o_t, k¹_t);
                          (o, s, r_t, d_t, info_t) = env.step(k²_t, s, a_t, params);
                          if d_t and reset_policy_carry: h = reset_policy_carry(h)

    Args:
      env: a gymnax-API environment (its `step` auto-resets; 5-tuple
        `(obs, state, reward, done, info)` or gymnax ≥ 1.0's 6-tuple with terminated/truncated).
      env_params: the environment's params (a task), or `None` for its defaults.
      policy_fn: `(policy_params, policy_carry, obs, key) -> (new_carry, action, log_prob, value)`.
      policy_params: parameters passed to `policy_fn` unchanged.
      carry: the `RolloutCarry` to start from (build it after `env.reset`).
      num_steps: T, a static integer >= 1.
      reset_policy_carry: optional `policy_carry -> policy_carry` applied where an episode ends.

    Returns:
      `(final_carry, trajectory)`; every `trajectory` leaf has leading axis T.

    Example:
      >>> from adaptax.envs import BernoulliBandit
      >>> env = BernoulliBandit(num_arms=2)
      >>> task = env.sample_task(jax.random.PRNGKey(0))
      >>> obs, state = env.reset(jax.random.PRNGKey(1), task)
      >>> uniform = lambda p, c, o, k: (c, jax.random.randint(k, (), 0, 2), jnp.log(0.5), 0.0)
      >>> carry = RolloutCarry(state, obs, None, jax.random.PRNGKey(2))
      >>> carry, traj = rollout(env, task, uniform, None, carry, num_steps=10)
      >>> traj.reward.shape, bool(traj.done.all())
      ((10,), True)

    Reference: the collection loop of purejaxrl `ppo_rnn.py`, written with named carries.
    """
    num_steps = require_int("num_steps", num_steps, minimum=1)

    def step(c: RolloutCarry, _: None) -> tuple[RolloutCarry, Trajectory]:
        key, key_policy, key_env = jax.random.split(c.key, 3)
        policy_carry, action, log_prob, value = policy_fn(
            policy_params, c.policy_carry, c.obs, key_policy
        )
        out = env.step(key_env, c.env_state, action, env_params)
        if len(out) == 6:  # gymnax >= 1.0: (obs, state, reward, terminated, truncated, info)
            obs, env_state, reward, terminated, truncated, info = out
            done = jnp.logical_or(terminated, truncated)
        else:
            obs, env_state, reward, done, info = out
        done = jnp.asarray(done).astype(bool)
        if reset_policy_carry is not None and policy_carry is not None:
            policy_carry = tree_select(done, reset_policy_carry(policy_carry), policy_carry)
        transition = Trajectory(
            obs=c.obs,
            action=action,
            reward=jnp.asarray(reward, jnp.float32),
            done=done,
            log_prob=jnp.asarray(log_prob, jnp.float32),
            value=jnp.asarray(value, jnp.float32),
            info=dict(info),
        )
        return RolloutCarry(env_state, obs, policy_carry, key), transition

    return lax.scan(step, carry, None, length=num_steps)
