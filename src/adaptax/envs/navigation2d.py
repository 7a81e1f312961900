"""2D point navigation to a random goal (MAML, Finn et al. 2017, §5.3), as in the authors' code."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from adaptax._checks import require_int
from adaptax.envs.base import Environment, EnvParams, EnvState
from adaptax.envs.spaces import Box
from adaptax.types import Array, PRNGKey

GOAL_LOW, GOAL_HIGH = -0.5, 0.5  # goal ~ U[-0.5, 0.5]² (cbfinn/maml_rl point_env_randgoal.py)
MAX_SPEED = 0.1  # velocity bound of the authors' point env
GOAL_TOLERANCE = 0.01  # done when |dx| < 0.01 and |dy| < 0.01


@struct.dataclass
class NavigationState(EnvState):
    """Navigation state: `pos` is the point's position [2], `time` the steps taken."""

    pos: Array


@struct.dataclass
class NavigationParams(EnvParams):
    """A navigation task: the goal position `goal` [2]."""

    goal: Array


class Navigation2D(Environment[NavigationState, NavigationParams]):
    """A point in the plane moves towards a task-specific goal; reward is minus the distance.

    Task distribution: goal ~ U[−0.5, 0.5]². The point starts at the origin.
    The policy acts in [−1, 1]²; the authors' action-normalising wrapper (rllab `normalize`) maps an
    action to the velocity v = clip(0.1·a, −0.1, 0.1), so an action outside [−1, 1]² is clipped
    coordinate-wise. Then

        pos_{t+1} = pos_t + v_t,   (dx, dy) = pos_{t+1} − goal,   r_t = −sqrt(dx² + dy²),

    and the episode ends when |dx| < 0.01 and |dy| < 0.01 (a box, not a disc, as in the code) or
    after `horizon` steps. The paper's text says "negative squared distance"; the code (followed
    here) uses the distance. Observation: pos (oracle: concatenation of pos and goal, the oracle
    baseline of MAML §5.3). `default_params` is the mean of the task distribution: goal = (0, 0).

    Args:
      oracle: whether the observation includes the goal.
      horizon: episode length, an integer >= 1 (paper: 100).

    Example:
      >>> env = Navigation2D()
      >>> task = env.sample_task(jax.random.PRNGKey(0))                  # task.goal: shape (2,)
      >>> obs, state = env.reset(jax.random.PRNGKey(1), task)            # obs = (0, 0)
      >>> obs, state, reward, done, _ = env.step(
      ...     jax.random.PRNGKey(2), state, jnp.array([1.0, -0.5]), task)  # obs = (0.1, -0.05)

    Reference: Finn et al., "Model-Agnostic Meta-Learning for Fast Adaptation of Deep Networks",
    arXiv:1703.03400, §5.3; code cbfinn/maml_rl `maml_examples/point_env_randgoal.py` and
    `point_env_randgoal_oracle.py`.
    """

    def __init__(self, oracle: bool = False, horizon: int = 100):
        if not isinstance(oracle, bool):
            raise ValueError(f"oracle must be True or False, got {oracle!r}")
        self.oracle = oracle
        self.horizon = require_int("horizon", horizon, minimum=1)

    @property
    def default_params(self) -> NavigationParams:
        return NavigationParams(goal=jnp.zeros((2,), jnp.float32))

    def sample_task(self, key: PRNGKey) -> NavigationParams:
        """Draws goal ~ U[−0.5, 0.5]².

        Args:
          key: PRNG key.

        Returns:
          `NavigationParams` with `goal` of shape [2], float32.
        """
        goal = jax.random.uniform(key, (2,), jnp.float32, GOAL_LOW, GOAL_HIGH)
        return NavigationParams(goal=goal)

    def reset_env(self, key: PRNGKey, params: NavigationParams) -> tuple[Array, NavigationState]:
        del key
        state = NavigationState(time=jnp.array(0, jnp.int32), pos=jnp.zeros((2,), jnp.float32))
        return self.get_obs(state, params), state

    def step_env(
        self, key: PRNGKey, state: NavigationState, action: Array, params: NavigationParams
    ) -> tuple[Array, NavigationState, Array, Array, dict[str, Any]]:
        del key
        action = jnp.asarray(action, jnp.float32)
        if action.shape != (2,):
            raise ValueError(f"navigation action must have shape (2,), got {action.shape}")
        velocity = jnp.clip(MAX_SPEED * action, -MAX_SPEED, MAX_SPEED)
        pos = state.pos + velocity
        delta = pos - params.goal
        reward = -jnp.sqrt(jnp.sum(delta**2))
        state = NavigationState(time=state.time + 1, pos=pos)
        return self.get_obs(state, params), state, reward, self.is_terminal(state, params), {}

    def get_obs(self, state: NavigationState, params: NavigationParams) -> Array:
        if self.oracle:
            return jnp.concatenate([state.pos, params.goal]).astype(jnp.float32)
        return state.pos

    def is_terminal(self, state: NavigationState, params: NavigationParams) -> Array:
        """Whether the goal box is reached or the horizon is hit."""
        reached = jnp.all(jnp.abs(state.pos - params.goal) < GOAL_TOLERANCE)
        return jnp.logical_or(reached, state.time >= self.horizon)

    @property
    def name(self) -> str:
        return "navigation2d-oracle" if self.oracle else "navigation2d"

    @property
    def num_actions(self) -> int:
        return 2

    def action_space(self, params: NavigationParams | None = None) -> Box:
        """Box [−1, 1]²; actions outside it are clipped (velocity = clip(0.1·a, −0.1, 0.1))."""
        return Box(-1.0, 1.0, (2,), jnp.float32)

    def observation_space(self, params: NavigationParams | None = None) -> Box:
        return Box(-jnp.inf, jnp.inf, (4 if self.oracle else 2,), jnp.float32)
