"""The RL² trial: n episodes of any gymnax-API environment on one sampled task (Duan et al. §2.2).

A trial fixes one task (an `EnvParams` value) and plays `episodes` consecutive episodes of the inner
environment on it. The agent sees, at every step, the policy input of RL² §2.3 as a structured
`PolicyInput`,

    x_t = (o_t, prev_action_t, r_{t−1}, d_{t−1})

where o_t is the inner observation as it is (a vector, an image, any pytree), prev_action is
one-hot for a discrete action space (the previous action vector for a Box), r the previous reward
and d = 1 when the previous step ended an inner episode. A network encodes it as it needs:
`flatten_input` gives the vector [flatten(o_t), prev_action_t, r_{t−1}, d_{t−1}] for an MLP; an
image network convolves o_t and concatenates the rest (`adaptax.nets.encoders`). The recurrent state
is kept across episode boundaries and reset only when the trial ends (the task changes), which the
wrapper signals with `info["trial_done"]` (equal to the returned `done`).

Reference: Duan et al., "RL²: Fast reinforcement learning via slow reinforcement learning",
arXiv:1611.02779, §2.2 (trials) and §2.3 (policy input).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from adaptax._checks import require_int
from adaptax.envs.base import Environment, EnvParams, EnvState
from adaptax.envs.spaces import Box, Structured
from adaptax.types import Array, PRNGKey


@struct.dataclass
class TrialParams(EnvParams):
    """A trial's parameters: none. The task is sampled per trial and kept in `TrialState.task`."""


@struct.dataclass
class TrialState(EnvState):
    """State of an RL² trial.

    Attributes:
      time: steps taken in the trial so far.
      env_state: the inner environment's state.
      task: the inner environment's `EnvParams` for this trial (fixed until the trial ends).
      inner_obs: the inner environment's current observation (any pytree).
      prev_action: the encoded previous action (one-hot [n], or the action vector clipped to the
        action space), zeros at the start of a trial.
      prev_reward: the previous reward (float32 scalar), 0 at the start of a trial.
      prev_done: 1.0 if the previous step ended an inner episode, else 0.0 (0 at a trial's start).
      episode: index of the current inner episode within the trial, 0 ... episodes − 1.
    """

    env_state: Any
    task: Any
    inner_obs: Any
    prev_action: Array
    prev_reward: Array
    prev_done: Array
    episode: Array


class PolicyInput(NamedTuple):
    """The RL² policy input of one step (RL² §2.3), fields in the order `flatten_input` reads.

    Attributes:
      time: optional t/T of the step within the trial, shape [1] (`None` unless the learner
        adds it; the paper has no time feature).
      obs: the inner environment's observation o_t (any pytree: a vector, an image).
      prev_action: the encoded previous action (one-hot, or the clipped action vector).
      prev_reward: r_{t−1}, a float32 scalar.
      prev_done: d_{t−1}, 1.0 if the previous step ended an inner episode.
    """

    time: Any
    obs: Any
    prev_action: Array
    prev_reward: Array
    prev_done: Array


def flatten_input(x: PolicyInput) -> Array:
    """The vector [time?, flatten(o), prev_action, prev_reward, prev_done] (float32, one step).

    Example:
      >>> x = PolicyInput(None, jnp.ones((2, 2)), jnp.array([0.0, 1.0]), jnp.array(0.5),
      ...                 jnp.array(0.0))
      >>> flatten_input(x).tolist()
      [1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.5, 0.0]
    """
    return jnp.concatenate([jnp.ravel(leaf).astype(jnp.float32) for leaf in jax.tree.leaves(x)])


class _Layout(NamedTuple):
    """Static sizes of the policy-input parts of a wrapped environment."""

    obs_size: int
    action_size: int
    discrete: bool


def _layout(env: Any) -> tuple[_Layout, Any]:
    """Sizes of the policy-input parts of `env`, and its action space."""
    params = env.default_params
    obs_shape = jax.eval_shape(lambda key: env.reset(key, params)[0], jax.random.PRNGKey(0))
    obs_size = sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(obs_shape))
    space = env.action_space(params)
    if hasattr(space, "n"):
        return _Layout(obs_size, int(space.n), True), space
    if hasattr(space, "shape") and hasattr(space, "low") and hasattr(space, "high"):
        return _Layout(obs_size, math.prod(space.shape), False), space
    raise ValueError(
        f"Trial supports Discrete (with .n) or Box (with .low/.high/.shape) action spaces, "
        f"got {type(space).__name__}"
    )


def policy_input_size(env: Any) -> int:
    """Length of the flattened RL² policy input for `env` (an inner environment or a `Trial`).

        size = |flatten(obs)| + (n for a Discrete action space, else the action dimension) + 2

    the last two entries being the previous reward and the episode-done flag.

    Args:
      env: any gymnax-API environment, or a `Trial` (its inner environment is used).

    Returns:
      The length of `flatten_input` of the `PolicyInput` a `Trial` over `env` returns.

    Example:
      >>> from adaptax.envs import TabularMDP
      >>> policy_input_size(TabularMDP(num_states=10, num_actions=5))   # 10 + 5 + 2
      17

    Reference: Duan et al. (2017), §2.3.
    """
    if isinstance(env, Trial):
        env = env.env
    layout, _ = _layout(env)
    return layout.obs_size + layout.action_size + 2


class Trial(Environment[TrialState, TrialParams]):
    """RL² trial wrapper: `episodes` episodes of `env` on one task, itself a gymnax-API env.

    Start of a trial (`reset`, or the auto-reset after a trial ends): a task is drawn with
    `sample_task(key_task)` (`reset_to_task(key, task)` takes a given task instead), the inner
    environment is reset on it, and the policy input is `PolicyInput(None, o₀, 0, 0, 0)` (zero
    previous action, reward and done flag).

    Every step plays `action` in the inner environment on the trial's task and returns the inner
    reward r_t. The returned observation is `PolicyInput(None, o_{t+1}, enc(a_t), r_t, d_t)` with
    d_t = 1 if the inner episode ended at this step.

    Episode boundary (d_t = 1, trial not over): the inner environment has been reset on the SAME
    task (by its own auto-reset), so o_{t+1} is the first observation of the next episode; the
    episode counter advances; a_t, r_t and d_t = 1 still appear in the policy input, so the agent
    sees the last transition of the finished episode next to the first observation of the new one.

    Trial boundary (the `episodes`-th episode ends): `done` is True, `reward` is still r_t of the
    old task, and the returned observation and state belong to a NEW trial: a new task, a fresh
    inner episode and zero previous action/reward/done. This is where a recurrent state must be
    reset.

    `info` holds `"episode_done"` (d_t, bool), `"trial_done"` (equal to `done`: the task changes
    after this step) and `"episode"` (int32, index within the trial of the episode this step
    belonged to). The trial's own `params` carry nothing (`TrialParams()`), and passing the inner
    environment's params raises a ValueError: the task is sampled per trial.

    Cost: as with any gymnax auto-reset, `step` evaluates the reset branch (a task draw and an
    inner reset) at every step and selects it only at a trial boundary; under `vmap` both branches
    always run. For the 10 × 5 tabular MDP the task draw (550 random numbers) dominates the step.

    Args:
      env: any gymnax-API environment (adaptax's or gymnax's own, whose `step` returns either
        `(obs, state, reward, done, info)` or `(obs, state, reward, terminated, truncated, info)`;
        for the latter an episode ends on terminated or truncated).
      episodes: n, the number of episodes per trial, an integer >= 1.
      sample_task: `key -> EnvParams`; default `env.sample_task` if the environment has one, else
        a constant `env.default_params` (how gymnax's environments, which have no task sampler, plug
        in).

    Example:
      >>> from adaptax.envs import BernoulliBandit
      >>> trial = Trial(BernoulliBandit(num_arms=5), episodes=10)      # RL² bandits: n = 10 pulls
      >>> obs, state = trial.reset(jax.random.PRNGKey(0))             # obs: [1 + 5 + 2] zeros
      >>> obs, state, reward, done, info = trial.step(jax.random.PRNGKey(1), state, 2)
      >>> [float(v) for v in obs[1:6]], int(info["episode"]), bool(info["trial_done"])
      ([0.0, 0.0, 1.0, 0.0, 0.0], 0, False)

    Reference: Duan et al., "RL²: Fast reinforcement learning via slow reinforcement learning",
    arXiv:1611.02779, §2.2–2.3.
    """

    def __init__(
        self,
        env: Any,
        episodes: int,
        sample_task: Callable[[PRNGKey], Any] | None = None,
    ):
        for method in ("reset", "step", "action_space", "observation_space"):
            if not callable(getattr(env, method, None)):
                raise ValueError(f"Trial needs a gymnax-API environment; {env!r} has no .{method}")
        if not hasattr(env, "default_params"):
            raise ValueError(f"Trial needs a gymnax-API environment; {env!r} has no default_params")
        self.env = env
        self.episodes = require_int("episodes", episodes, minimum=1)
        if sample_task is None:
            sample_task = getattr(env, "sample_task", None)
            if sample_task is None:
                fixed_task = env.default_params
                sample_task = lambda key: fixed_task
        elif not callable(sample_task):
            raise ValueError(f"sample_task must be a function key -> EnvParams: {sample_task!r}")
        self.sample_inner_task = sample_task
        self._layout, space = _layout(env)
        if not self._layout.discrete:
            shape = (self._layout.action_size,)
            self._action_low = np.broadcast_to(np.asarray(space.low, np.float32), space.shape)
            self._action_low = self._action_low.reshape(shape)
            self._action_high = np.broadcast_to(np.asarray(space.high, np.float32), space.shape)
            self._action_high = self._action_high.reshape(shape)

    @property
    def default_params(self) -> TrialParams:
        return TrialParams()

    @staticmethod
    def _check_params(params: Any) -> None:
        if not isinstance(params, TrialParams):
            raise ValueError(
                "Trial samples its own task per trial: pass params=None (or TrialParams()), or "
                "start on a given task with reset_to_task(key, task)"
            )

    @partial(jax.jit, static_argnames=("self",))
    def reset_to_task(self, key: PRNGKey, task: Any) -> tuple[Array, TrialState]:
        """Starts a trial on the given task (for evaluation on fixed instances).

        Args:
          key: PRNG key for the inner environment's reset.
          task: the inner environment's `EnvParams` for the whole trial.

        Returns:
          `(obs, state)`; `obs` = `PolicyInput(None, o₀, zeros(action part), 0, 0)`.
        """
        task = jax.tree.map(jnp.asarray, task)
        inner_obs, env_state = self.env.reset(key, task)
        state = TrialState(
            time=jnp.array(0, jnp.int32),
            env_state=env_state,
            task=task,
            inner_obs=inner_obs,
            prev_action=jnp.zeros((self._layout.action_size,), jnp.float32),
            prev_reward=jnp.array(0.0, jnp.float32),
            prev_done=jnp.array(0.0, jnp.float32),
            episode=jnp.array(0, jnp.int32),
        )
        return self.get_obs(state), state

    def reset_env(self, key: PRNGKey, params: TrialParams) -> tuple[Array, TrialState]:
        self._check_params(params)
        key_task, key_reset = jax.random.split(key)
        return self.reset_to_task(key_reset, self.sample_inner_task(key_task))

    def step_env(
        self, key: PRNGKey, state: TrialState, action: Array | int | float, params: TrialParams
    ) -> tuple[Array, TrialState, Array, Array, dict[str, Any]]:
        self._check_params(params)
        out = self.env.step(key, state.env_state, action, state.task)
        if len(out) == 6:  # gymnax >= 1.0: (obs, state, reward, terminated, truncated, info)
            inner_obs, env_state, reward, terminated, truncated, _ = out
            episode_done = jnp.logical_or(terminated, truncated)
        else:  # (obs, state, reward, done, info)
            inner_obs, env_state, reward, episode_done, _ = out
        episode_done = jnp.asarray(episode_done).astype(bool)
        reward = jnp.asarray(reward, jnp.float32)
        episode = state.episode + episode_done.astype(jnp.int32)
        new_state = TrialState(
            time=state.time + 1,
            env_state=env_state,
            task=state.task,
            inner_obs=inner_obs,
            prev_action=self._encode_action(action),
            prev_reward=reward,
            prev_done=episode_done.astype(jnp.float32),
            episode=episode,
        )
        trial_done = self.is_terminal(new_state, params)
        info = {"episode_done": episode_done, "trial_done": trial_done, "episode": state.episode}
        return self.get_obs(new_state), new_state, reward, trial_done, info

    def _encode_action(self, action: Array | int | float) -> Array:
        """One-hot of the (clipped) index, or the action vector clipped to the Box."""
        action = jnp.asarray(action)
        if self._layout.discrete:
            if action.shape != ():
                raise ValueError(f"discrete action must be a scalar, got shape {action.shape}")
            index = jnp.clip(action.astype(jnp.int32), 0, self._layout.action_size - 1)
            return jax.nn.one_hot(index, self._layout.action_size, dtype=jnp.float32)
        if action.size != self._layout.action_size:
            raise ValueError(
                f"action must have {self._layout.action_size} entries, got shape {action.shape}"
            )
        vector = action.reshape(-1).astype(jnp.float32)
        return jnp.clip(vector, self._action_low, self._action_high)

    def get_obs(self, state: TrialState, params: TrialParams | None = None) -> PolicyInput:
        """The policy input (o, prev_action, prev_reward, prev_done) as a `PolicyInput`."""
        del params
        return PolicyInput(None, state.inner_obs, state.prev_action, state.prev_reward,
                           state.prev_done)

    def is_terminal(self, state: TrialState, params: TrialParams) -> Array:
        """The trial ends once `episodes` inner episodes have ended."""
        del params
        return state.episode >= self.episodes

    @property
    def name(self) -> str:
        return f"trial({self.env.name}, episodes={self.episodes})"

    @property
    def num_actions(self) -> int:
        return self.env.num_actions

    def action_space(self, params: TrialParams | None = None) -> Any:
        """The inner environment's action space (for its `default_params`)."""
        return self.env.action_space(self.env.default_params)

    def observation_space(self, params: TrialParams | None = None) -> Structured:
        """The `PolicyInput`'s space: the inner observation space, the action part ([0, 1] one-hot
        or the action Box), an unbounded previous reward and a done flag in [0, 1]."""
        layout = self._layout
        inner = self.env.observation_space(self.env.default_params)
        if layout.discrete:
            action = Box(0.0, 1.0, (layout.action_size,), jnp.float32)
        else:
            action = Box(self._action_low, self._action_high, (layout.action_size,), jnp.float32)
        return Structured(PolicyInput(None, inner, action, Box(-jnp.inf, jnp.inf, ()),
                                      Box(0.0, 1.0, ())))
