"""Random finite-horizon tabular MDPs (RL², Duan et al. 2017, §3.2)."""

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
class MDPState(EnvState):
    """MDP state: `state` is the current state index s, `time` the steps taken in the episode."""

    state: Array


@struct.dataclass
class MDPParams(EnvParams):
    """A tabular MDP task.

    Attributes:
      reward_mean: μ(s, a), shape [S, A].
      transition: P(s' | s, a), shape [S, A, S]; each row `transition[s, a]` sums to 1.
    """

    reward_mean: Array
    transition: Array


class TabularMDP(Environment[MDPState, MDPParams]):
    """Finite-horizon tabular MDP with Gaussian rewards, drawn from the RL² task distribution.

    Task distribution (RL² §3.2):  μ(s, a) ~ N(1, 1) and P(· | s, a) ~ Dirichlet(1, ..., 1) (flat),
    independently for every (s, a).
    Dynamics: s₀ = 0;  r_t ~ N(μ(s_t, a_t), 1);  s_{t+1} ~ P(· | s_t, a_t); the episode ends after
    `horizon` steps (done at t + 1 = horizon). Observation: one-hot(s_t), float32, length S.

    Actions outside {0, ..., A − 1} are clipped into that range (a traced value cannot raise).
    `default_params` is the mean of the task distribution: μ ≡ 1 and uniform transitions 1/S.

    Args:
      num_states: S, an integer >= 1 (paper: 10).
      num_actions: A, an integer >= 1 (paper: 5).
      horizon: episode length, an integer >= 1 (paper: 10).

    Example:
      >>> env = TabularMDP(num_states=10, num_actions=5, horizon=10)
      >>> task = env.sample_task(jax.random.PRNGKey(0))  # μ: [10, 5], P: [10, 5, 10]
      >>> obs, state = env.reset(jax.random.PRNGKey(1), task)            # obs = one_hot(0, 10)
      >>> obs, state, reward, done, _ = env.step(jax.random.PRNGKey(2), state, 4, task)

    Reference: Duan et al., "RL²: Fast reinforcement learning via slow reinforcement learning",
    arXiv:1611.02779, §3.2 (tabular MDPs).
    """

    def __init__(self, num_states: int = 10, num_actions: int = 5, horizon: int = 10):
        self.num_states = require_int("num_states (S)", num_states, minimum=1)
        self._num_actions = require_int("num_actions (A)", num_actions, minimum=1)
        self.horizon = require_int("horizon", horizon, minimum=1)

    @property
    def default_params(self) -> MDPParams:
        s, a = self.num_states, self._num_actions
        return MDPParams(
            reward_mean=jnp.ones((s, a), jnp.float32),
            transition=jnp.full((s, a, s), 1.0 / s, jnp.float32),
        )

    def sample_task(self, key: PRNGKey) -> MDPParams:
        """Draws μ(s, a) ~ N(1, 1) and each row P(· | s, a) ~ flat Dirichlet, all independent.

        A flat Dirichlet row is drawn as normalised Exp(1) variables, e_i / Σ_j e_j with
        e_i ~ Exp(1) = Gamma(1, 1): exactly Dirichlet(1, ..., 1), and cheaper to compile and run
        than a general Gamma sampler (it matters because a trial wrapper draws a task every step).

        Args:
          key: PRNG key.

        Returns:
          `MDPParams` with `reward_mean` [S, A] and `transition` [S, A, S], float32.
        """
        key_mu, key_p = jax.random.split(key)
        s, a = self.num_states, self._num_actions
        reward_mean = 1.0 + jax.random.normal(key_mu, (s, a), jnp.float32)
        gammas = jax.random.exponential(key_p, (s, a, s), jnp.float32)
        total = jnp.sum(gammas, axis=-1, keepdims=True)
        # all-zero row (each Exp(1) draw is 0 with probability 2⁻²³): fall back to the uniform row
        transition = jnp.where(total > 0, gammas / jnp.where(total > 0, total, 1.0), 1.0 / s)
        return MDPParams(reward_mean=reward_mean, transition=transition)

    def reset_env(self, key: PRNGKey, params: MDPParams) -> tuple[Array, MDPState]:
        del key
        state = MDPState(time=jnp.array(0, jnp.int32), state=jnp.array(0, jnp.int32))
        return self.get_obs(state, params), state

    def step_env(
        self, key: PRNGKey, state: MDPState, action: Array | int, params: MDPParams
    ) -> tuple[Array, MDPState, Array, Array, dict[str, Any]]:
        action = jnp.asarray(action)
        if action.shape != ():
            raise ValueError(f"MDP action must be a scalar action index, got shape {action.shape}")
        a = jnp.clip(action.astype(jnp.int32), 0, self._num_actions - 1)
        s = state.state
        key_r, key_s = jax.random.split(key)
        reward = params.reward_mean[s, a] + jax.random.normal(key_r, (), jnp.float32)
        next_s = jax.random.categorical(key_s, jnp.log(params.transition[s, a])).astype(jnp.int32)
        state = MDPState(time=state.time + 1, state=next_s)
        return self.get_obs(state, params), state, reward, self.is_terminal(state, params), {}

    def get_obs(self, state: MDPState, params: MDPParams) -> Array:
        del params
        return jax.nn.one_hot(state.state, self.num_states, dtype=jnp.float32)

    def is_terminal(self, state: MDPState, params: MDPParams) -> Array:
        del params
        return state.time >= self.horizon

    @property
    def name(self) -> str:
        return "tabular-mdp"

    @property
    def num_actions(self) -> int:
        return self._num_actions

    def action_space(self, params: MDPParams | None = None) -> Discrete:
        return Discrete(self._num_actions)

    def observation_space(self, params: MDPParams | None = None) -> Box:
        return Box(0.0, 1.0, (self.num_states,), jnp.float32)
