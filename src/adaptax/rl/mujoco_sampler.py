"""Native MuJoCo on the CPU as a MAML-RL sampler: every environment stepped in lockstep.

For B tasks × K trajectories the sampler keeps N = B·K MuJoCo states. At each of the T steps

    a, log π(a|s) = policy(θ_task, s)        one jitted call on the whole [B, K, obs] batch
    physics step of the N environments       `mujoco.rollout`'s threads (half-cheetah), or a
                                              pool of Python threads, each stepping its share
                                              (MuJoCo releases the GIL while it steps)
    rewards, episode ends, observations       vectorised NumPy

An environment whose episode ended is no longer stepped: it repeats its last observation with
reward 0 (the learner masks those steps). The Gaussian policy's noise for task i at step t
comes from ``fold_in(keys[i], t)`` and the resets' noise from a NumPy generator seeded by all
the keys, so a call is a pure function of its arguments (up to the thread count, which changes
nothing: every environment is stepped by exactly one thread).

It implements `adaptax.rl.sampling.Sampler` with ``traceable = False``: MAML-RL runs its
meta-iteration in Python around it and jits the rest. On an accelerator use an MJX sampler
instead (the whole rollout in one jitted scan); on a CPU this one is many times faster.

Example:
  >>> from adaptax.envs.locomotion import Locomotion
  >>> from adaptax.nets.gaussian_mlp import GaussianMLP
  >>> env = Locomotion("half_cheetah", "velocity", horizon=10)
  >>> net, sampler = GaussianMLP(action_dim=6), MujocoSampler(env)
  >>> params = net.init(jax.random.PRNGKey(0), jnp.zeros((env.obs_dim,)))
  >>> tasks = sampler.sample_tasks(jax.random.PRNGKey(1), 2)
  >>> out = sampler(net.apply, params, tasks, jax.random.split(jax.random.PRNGKey(2), 2), 3,
  ...               shared=True)
  >>> out.obs.shape, out.reward.shape
  ((2, 3, 10, 20), (2, 3, 10))
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from adaptax._checks import require_int
from adaptax.envs.locomotion import Locomotion, load_mujoco
from adaptax.rl.losses import gaussian_log_prob
from adaptax.rl.sampling import ApplyFn, Rollouts
from adaptax.types import Array, PRNGKey

__all__ = ["MujocoSampler", "default_threads"]

Params = Any


def default_threads() -> int:
    """One thread per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@functools.lru_cache(maxsize=16)
def _act_fn(apply_fn: ApplyFn, shared: bool):
    """Jitted a ~ N(μ_θ(s), σ²) for a [B, K, obs] batch, θ per task (or shared), the noise of
    task i at step t from fold_in(keys[i], t)."""

    def one(params, obs, key, t):
        mean, log_std = apply_fn(params, obs)
        noise = jax.random.normal(jax.random.fold_in(key, t), mean.shape, mean.dtype)
        action = mean + jnp.exp(log_std) * noise
        return action, gaussian_log_prob(mean, log_std, action)

    return jax.jit(jax.vmap(one, (None if shared else 0, 0, 0, None)))


@dataclasses.dataclass(frozen=True, eq=False)
class MujocoSampler:
    """Trajectories of a `adaptax.envs.locomotion.Locomotion` family on native MuJoCo.

    Attributes:
      env: the task family (robot, goal, horizon, oracle).
      threads: threads that step the environments (default: one per core).
      kind: how they are stepped (`Locomotion.batch`): ``"auto"``, ``"rollout"`` (MuJoCo's
        own threads; the half-cheetah) or ``"threads"`` (a Python thread pool; any model).
    """

    env: Locomotion
    threads: int = 0
    kind: str = "auto"
    traceable: bool = dataclasses.field(default=False, init=False)
    _state: dict = dataclasses.field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.threads:
            object.__setattr__(self, "threads", default_threads())
        require_int("threads", self.threads, minimum=1)
        load_mujoco()

    @property
    def horizon(self) -> int:
        return self.env.horizon

    def sample_tasks(self, key: PRNGKey, n: int) -> Any:
        return jax.vmap(self.env.sample_task)(jax.random.split(key, n))

    def _batch(self, n: int) -> Any:
        """The physics of n environments (`Locomotion.batch`), kept between calls (one per
        batch size: training, validation and test sizes alternate)."""
        batches = self._state.setdefault("batches", {})
        if n not in batches:
            batches[n] = self.env.batch(n, self.threads, self.kind)
        return batches[n]

    def __call__(self, apply_fn: ApplyFn, params: Params, tasks: Any, keys: Array,
                 num_trajs: int, shared: bool = False) -> Rollouts:
        env, horizon = self.env, self.env.horizon
        keys = np.asarray(jax.random.key_data(keys) if jnp.issubdtype(
            keys.dtype, jax.dtypes.prng_key) else keys)
        batch = keys.shape[0]
        n = batch * num_trajs
        goal = np.repeat(np.asarray(tasks.goal, np.float64), num_trajs)
        physics = self._batch(n)
        raw = physics.reset(np.random.default_rng(keys.astype(np.uint64).ravel().tolist()))
        act = _act_fn(apply_fn, shared)
        obs_now = env.observe(raw, goal).astype(np.float32)
        alive = np.ones(n, bool)
        obs = np.zeros((horizon, n, env.obs_dim), np.float32)
        actions = np.zeros((horizon, n, env.action_dim), np.float32)
        log_probs = np.zeros((horizon, n), np.float32)
        rewards = np.zeros((horizon, n), np.float32)
        dones = np.zeros((horizon, n), bool)
        device_keys = jnp.asarray(keys)
        for t in range(horizon):
            obs[t] = obs_now
            action, log_prob = act(params, obs_now.reshape(batch, num_trajs, -1), device_keys, t)
            actions[t] = np.asarray(action).reshape(n, -1)
            log_probs[t] = np.asarray(log_prob).reshape(n)
            ctrl = np.clip(actions[t], -1.0, 1.0).astype(np.float64)
            raw = physics.step(ctrl, alive)
            reward, done = env.reward_done(raw, ctrl, goal)
            rewards[t] = np.where(alive, np.nan_to_num(reward), 0.0)
            dones[t] = done | ~alive
            if t == horizon - 1:
                break
            fresh = np.nan_to_num(env.observe(raw, goal)).astype(np.float32)
            obs_now = np.where(alive[:, None], fresh, obs_now)
            alive &= ~done

        def tasks_first(x: np.ndarray) -> Array:  # [T, N, …] -> [B, K, T, …]
            x = np.moveaxis(x, 0, 1)
            return jnp.asarray(x.reshape(batch, num_trajs, *x.shape[1:]))

        return Rollouts(tasks_first(obs), tasks_first(actions), tasks_first(rewards),
                        tasks_first(dones), tasks_first(log_probs))
