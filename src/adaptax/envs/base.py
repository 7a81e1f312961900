"""The gymnax-API base class for adaptax environments, with tasks as `EnvParams` values.

An environment is a stateless object with pure functions over explicit state:

    obs, state = env.reset(key, params)
    obs, state, reward, done, info = env.step(key, state, action, params)

`params` (an `EnvParams` dataclass) is everything that defines the task, so a *task* is simply an
`EnvParams` value and `env.sample_task(key)` draws one from the task distribution. Subclasses
implement `reset_env`, `step_env`, `get_obs` and `is_terminal`; `step` adds the auto-reset exactly
as gymnax (0.0.x) does: when an episode ends, the returned observation and state are those of a
fresh episode on the same `params`, while `reward` and `done` belong to the step that ended it.

Reference: gymnax `gymnax/environments/environment.py` (same API, written here so `src/` does not
depend on gymnax).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import jax
import jax.numpy as jnp
from flax import struct

from adaptax._checks import require_int  # noqa: F401  (re-exported)
from adaptax.types import Array, PRNGKey

if TYPE_CHECKING:
    from adaptax.envs.spaces import Space


@struct.dataclass
class EnvState:
    """Base environment state; `time` counts the steps taken in the current episode."""

    time: Array


@struct.dataclass
class EnvParams:
    """Base environment parameters. A task is a value of a subclass of this dataclass."""


TEnvState = TypeVar("TEnvState", bound=EnvState)
TEnvParams = TypeVar("TEnvParams", bound=EnvParams)


def tree_select(pred: Array, on_true: Any, on_false: Any) -> Any:
    """Leaf-wise `pred ? on_true : on_false` over two pytrees of the same structure.

    Each `on_true` leaf is cast to the dtype of the matching `on_false` leaf first, so a state built
    by a reset (which may hold Python scalars) can replace a stepped state without changing types.

    Args:
      pred: boolean scalar.
      on_true: pytree selected where `pred` is true.
      on_false: pytree selected where `pred` is false; fixes the output dtypes.

    Returns:
      A pytree with the structure and dtypes of `on_false`.

    Example:
      >>> tree_select(jnp.array(True), {"a": 1}, {"a": jnp.array(0)})
      {'a': Array(1, dtype=int32)}
    """

    def select(t: Any, f: Any) -> Array:
        f = jnp.asarray(f)
        return jax.lax.select(pred, jnp.asarray(t, f.dtype), f)

    return jax.tree.map(select, on_true, on_false)


class Environment(Generic[TEnvState, TEnvParams]):
    """Abstract gymnax-API environment whose tasks are `EnvParams` values.

    `step(key, state, action, params)` does, with `key_step, key_reset = split(key)`:

        obs', state', r, done, info = step_env(key_step, state, action, params)
        obs₀, state₀ = reset_env(key_reset, params)
        return (done ? obs₀ : obs', done ? state₀ : state', r, done, info)

    so an episode that ends is replaced at once by a new one on the same task (gymnax's auto-reset).

    Subclasses define `default_params`, `reset_env`, `step_env`, `get_obs`, `is_terminal`,
    `observation_space`, `action_space`, `num_actions`, and usually `sample_task`.

    Example:
      >>> from adaptax.envs import BernoulliBandit
      >>> env = BernoulliBandit(num_arms=3)
      >>> task = env.sample_task(jax.random.PRNGKey(0))
      >>> obs, state = env.reset(jax.random.PRNGKey(1), task)
      >>> obs, state, reward, done, info = env.step(jax.random.PRNGKey(2), state, 0, task)

    Reference: gymnax `gymnax/environments/environment.py`.
    """

    @property
    def default_params(self) -> TEnvParams:
        """The parameters used when none are given."""
        raise NotImplementedError

    def sample_task(self, key: PRNGKey) -> TEnvParams:
        """Draws a task (an `EnvParams` value); the default returns `default_params`.

        Args:
          key: PRNG key.

        Returns:
          An `EnvParams` value.
        """
        del key
        return self.default_params

    @partial(jax.jit, static_argnames=("self",))
    def step(
        self,
        key: PRNGKey,
        state: TEnvState,
        action: Array | int | float,
        params: TEnvParams | None = None,
    ) -> tuple[Array, TEnvState, Array, Array, dict[str, Any]]:
        """Takes one step and auto-resets (on the same `params`) when the episode ends.

        Args:
          key: PRNG key.
          state: the current state.
          action: the action.
          params: the task; `default_params` if None.

        Returns:
          `(obs, state, reward, done, info)`; after a terminal step `obs` and `state` are those of a
          fresh episode, `reward` and `done` those of the terminal step.
        """
        if params is None:
            params = self.default_params
        key_step, key_reset = jax.random.split(key)
        obs_st, state_st, reward, done, info = self.step_env(key_step, state, action, params)
        obs_re, state_re = self.reset_env(key_reset, params)
        state = tree_select(done, state_re, state_st)
        obs = tree_select(done, obs_re, obs_st)
        return obs, state, reward, done, info

    @partial(jax.jit, static_argnames=("self",))
    def reset(self, key: PRNGKey, params: TEnvParams | None = None) -> tuple[Array, TEnvState]:
        """Starts an episode.

        Args:
          key: PRNG key.
          params: the task; `default_params` if None.

        Returns:
          `(obs, state)` of the first time step.
        """
        if params is None:
            params = self.default_params
        return self.reset_env(key, params)

    def step_env(
        self, key: PRNGKey, state: TEnvState, action: Array | int | float, params: TEnvParams
    ) -> tuple[Array, TEnvState, Array, Array, dict[str, Any]]:
        """Environment-specific transition without auto-reset."""
        raise NotImplementedError

    def reset_env(self, key: PRNGKey, params: TEnvParams) -> tuple[Array, TEnvState]:
        """Environment-specific reset."""
        raise NotImplementedError

    def get_obs(self, state: TEnvState, params: TEnvParams) -> Array:
        """The observation of a state."""
        raise NotImplementedError

    def is_terminal(self, state: TEnvState, params: TEnvParams) -> Array:
        """Whether the episode has ended in `state` (boolean scalar)."""
        raise NotImplementedError

    @property
    def name(self) -> str:
        """Environment name."""
        return type(self).__name__

    @property
    def num_actions(self) -> int:
        """Number of discrete actions, or the dimension of a continuous action."""
        raise NotImplementedError

    def action_space(self, params: TEnvParams | None = None) -> Space:
        """Action space."""
        raise NotImplementedError

    def observation_space(self, params: TEnvParams | None = None) -> Space:
        """Observation space."""
        raise NotImplementedError
