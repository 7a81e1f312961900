"""Sampling for MAML-RL: given per-task policy parameters and tasks, return trajectories.

A sampler is the only part of MAML-RL that touches an environment. Adaptation and the outer step
(`adaptax.rl.maml_rl`) consume the `Rollouts` it returns, whichever simulator produced them:

- `EnvSampler`: any gymnax-API environment written in JAX (2D navigation, your own). Pure and
  traceable, so a whole meta-iteration, sampling included, compiles into one function.
- `adaptax.rl.mujoco_sampler.MujocoSampler`: native MuJoCo on the CPU, all environments stepped
  in lockstep by a pool of threads, the jitted policy evaluated once per step on the batch.

Every sampler has the same shape (`Sampler`): ``sample_tasks(key, n)`` draws tasks, and
``sampler(apply_fn, params, tasks, keys, num_trajs, shared)`` rolls ``num_trajs`` trajectories of
the Gaussian policy ``a ~ N(μ_θ(s), σ_θ²)`` on each task (``apply_fn(θ, s) -> (μ, log σ)``),
with ``params`` one parameter set per task (leading task axis) or, with ``shared=True``, one set
for all. ``traceable`` says whether it may be called inside `jax.jit`.

Example:
  >>> from adaptax.envs import Navigation2D
  >>> from adaptax.nets.gaussian_mlp import GaussianMLP
  >>> net, sampler = GaussianMLP(action_dim=2), EnvSampler(Navigation2D(horizon=5))
  >>> params = net.init(jax.random.PRNGKey(0), jnp.zeros((2,)))
  >>> tasks = sampler.sample_tasks(jax.random.PRNGKey(1), 3)
  >>> keys = jax.random.split(jax.random.PRNGKey(2), 3)
  >>> sampler(net.apply, params, tasks, keys, num_trajs=4, shared=True).reward.shape
  (3, 4, 5)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from adaptax._checks import require_int
from adaptax.rl.losses import gaussian_log_prob
from adaptax.rl.rollout import RolloutCarry, rollout
from adaptax.types import Array, PRNGKey

__all__ = ["ApplyFn", "EnvSampler", "Rollouts", "Sampler", "gaussian_policy"]

Params = Any
ApplyFn = Callable[[Params, Array], tuple[Array, Array]]  # params, obs -> (mean, log_std)


class Rollouts(NamedTuple):
    """``num_trajs`` trajectories per task, padded to the horizon T (axes [tasks, K, T, …]).

    Attributes:
      obs: s_{n,t}, the observation each action was taken in, ``[B, K, T, obs_dim]``.
      action: a_{n,t} as sampled (before any clipping by the simulator), ``[B, K, T, act_dim]``.
      reward: r_{n,t}, ``[B, K, T]``.
      done: the episode ended at step t, ``[B, K, T]`` (steps after the first end are ignored).
      log_prob: log π(a|s) under the sampling policy, ``[B, K, T]``.
    """

    obs: Array
    action: Array
    reward: Array
    done: Array
    log_prob: Array


class Sampler(Protocol):
    """What MAML-RL needs from a simulator (see the module docstring)."""

    traceable: bool
    horizon: int

    def sample_tasks(self, key: PRNGKey, n: int) -> Any: ...

    def __call__(self, apply_fn: ApplyFn, params: Params, tasks: Any, keys: Array,
                 num_trajs: int, shared: bool = False) -> Rollouts: ...


def gaussian_policy(apply_fn: ApplyFn):
    """The `rollout` policy a ~ N(μ_θ(s), σ²), returning (None, a, log π(a|s), 0)."""

    def policy_fn(params: Params, carry: None, obs: Array, key: PRNGKey):
        mean, log_std = apply_fn(params, obs)
        action = mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape, mean.dtype)
        return carry, action, gaussian_log_prob(mean, log_std, action), jnp.zeros((), mean.dtype)

    return policy_fn


@dataclasses.dataclass(frozen=True)
class EnvSampler:
    """Trajectories of a gymnax-API JAX environment, under `lax.scan` and `vmap` (traceable).

    Trajectory n of a task starts from ``env.reset`` and runs ``horizon`` steps; steps after an
    episode's end are recorded (the environment auto-resets) and masked by the learner.

    Attributes:
      env: the environment, with ``sample_task(key)``.
      horizon: steps per trajectory T (default: ``env.horizon``).
    """

    env: Any
    horizon: int = 0
    traceable: bool = dataclasses.field(default=True, init=False)

    def __post_init__(self) -> None:
        if not self.horizon:
            object.__setattr__(self, "horizon", int(getattr(self.env, "horizon", 0)))
        require_int("horizon", self.horizon, minimum=1)

    def sample_tasks(self, key: PRNGKey, n: int) -> Any:
        """n tasks, ``vmap(env.sample_task)`` over ``split(key, n)``."""
        return jax.vmap(self.env.sample_task)(jax.random.split(key, n))

    def one_task(self, apply_fn: ApplyFn, params: Params, task: Any, key: PRNGKey,
                 num_trajs: int) -> Rollouts:
        """``num_trajs`` trajectories on one task (axes [K, T, …]); trajectory n uses
        ``split(key, K)[n]``, split again into its reset and rollout keys."""
        policy_fn = gaussian_policy(apply_fn)

        def one(key_traj: PRNGKey):
            key_reset, key_roll = jax.random.split(key_traj)
            obs, state = self.env.reset(key_reset, task)
            _, traj = rollout(self.env, task, policy_fn, params,
                              RolloutCarry(state, obs, None, key_roll), self.horizon)
            return traj

        traj = jax.vmap(one)(jax.random.split(key, num_trajs))
        return Rollouts(traj.obs, traj.action, traj.reward, traj.done, traj.log_prob)

    def __call__(self, apply_fn: ApplyFn, params: Params, tasks: Any, keys: Array,
                 num_trajs: int, shared: bool = False) -> Rollouts:
        return jax.vmap(lambda p, t, k: self.one_task(apply_fn, p, t, k, num_trajs),
                        (None if shared else 0, 0, 0))(params, tasks, keys)
