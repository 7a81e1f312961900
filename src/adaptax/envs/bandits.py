"""Bernoulli multi-armed bandits as one-step episodes (RL², Duan et al. 2017, §3.1)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from adaptax._checks import require_int
from adaptax.envs.base import Environment, EnvParams, EnvState
from adaptax.envs.spaces import Box, Discrete
from adaptax.types import Array, PRNGKey


@struct.dataclass
class BanditState(EnvState):
    """Bandit state: only the step counter `time` (0 before the pull, 1 after it)."""


@struct.dataclass
class BanditParams(EnvParams):
    """A bandit task: `probs[i]` is the success probability of arm i (shape [k])."""

    probs: Array


class BernoulliBandit(Environment[BanditState, BanditParams]):
    """k-armed Bernoulli bandit; one pull is one episode.

    Task distribution (RL² §3.1):  p_i ~ U[0, 1] i.i.d. for i = 1..k.
    A pull of arm a gives r ~ Bernoulli(p_a) (as float32) and ends the episode (done is always
    True), so the trial wrapper turns n episodes into the paper's n pulls. The observation carries
    no information: it is the constant zeros((1,)).

    Actions outside {0, ..., k − 1} are clipped into that range (a traced value cannot raise).
    `default_params` is the mean of the task distribution: every p_i = 0.5.

    Args:
      num_arms: k, an integer >= 2.

    Example:
      >>> env = BernoulliBandit(num_arms=5)
      >>> task = env.sample_task(jax.random.PRNGKey(0))            # task.probs: shape (5,)
      >>> obs, state = env.reset(jax.random.PRNGKey(1), task)
      >>> obs, state, reward, done, _ = env.step(jax.random.PRNGKey(2), state, 3, task)
      >>> bool(done)
      True

    Reference: Duan et al., "RL²: Fast reinforcement learning via slow reinforcement learning",
    arXiv:1611.02779, §3.1 (multi-armed bandits).
    """

    def __init__(self, num_arms: int = 5):
        self.num_arms = require_int("num_arms (k)", num_arms, minimum=2)

    @property
    def default_params(self) -> BanditParams:
        return BanditParams(probs=jnp.full((self.num_arms,), 0.5, jnp.float32))

    def sample_task(self, key: PRNGKey) -> BanditParams:
        """Draws p_i ~ U[0, 1] i.i.d. for the k arms.

        Args:
          key: PRNG key.

        Returns:
          `BanditParams` with `probs` of shape [k], float32.
        """
        return BanditParams(probs=jax.random.uniform(key, (self.num_arms,), jnp.float32))

    def reset_env(self, key: PRNGKey, params: BanditParams) -> tuple[Array, BanditState]:
        del key
        state = BanditState(time=jnp.array(0, jnp.int32))
        return self.get_obs(state, params), state

    def step_env(
        self, key: PRNGKey, state: BanditState, action: Array | int, params: BanditParams
    ) -> tuple[Array, BanditState, Array, Array, dict[str, Any]]:
        action = jnp.asarray(action)
        if action.shape != ():
            raise ValueError(f"bandit action must be a scalar arm index, got shape {action.shape}")
        arm = jnp.clip(action.astype(jnp.int32), 0, self.num_arms - 1)
        reward = jax.random.bernoulli(key, params.probs[arm]).astype(jnp.float32)
        state = BanditState(time=state.time + 1)
        return self.get_obs(state, params), state, reward, self.is_terminal(state, params), {}

    def get_obs(self, state: BanditState, params: BanditParams) -> Array:
        del state, params
        return jnp.zeros((1,), jnp.float32)

    def is_terminal(self, state: BanditState, params: BanditParams) -> Array:
        del state, params
        return jnp.array(True)

    @property
    def name(self) -> str:
        return "bernoulli-bandit"

    @property
    def num_actions(self) -> int:
        return self.num_arms

    def action_space(self, params: BanditParams | None = None) -> Discrete:
        return Discrete(self.num_arms)

    def observation_space(self, params: BanditParams | None = None) -> Box:
        return Box(0.0, 0.0, (1,), jnp.float32)
