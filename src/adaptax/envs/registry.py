"""Environment registry (`make`, `registered`) and THE definition of evaluation instances.

`instances(env, num, start_seed)` fixes what "evaluation instance i" means for the whole project:
instance i is `env.sample_task(jax.random.PRNGKey(start_seed + i))`. RL² evaluation and every
classical baseline draw their test tasks (e.g. the 1000 bandits or MDPs of the RL² tables, seeds
0…999) through it, so all methods are compared on the same tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from adaptax._checks import require_int
from adaptax.envs.bandits import BernoulliBandit
from adaptax.envs.base import Environment
from adaptax.envs.maze import Maze
from adaptax.envs.navigation2d import Navigation2D
from adaptax.envs.tabular_mdp import TabularMDP

# name -> (constructor, the keyword arguments it accepts, with their valid ranges for messages)
_REGISTRY: dict[str, tuple[Callable[..., Environment], dict[str, str]]] = {
    "bernoulli-bandit": (BernoulliBandit, {"num_arms": "integer >= 2"}),
    "tabular-mdp": (
        TabularMDP,
        {"num_states": "integer >= 1", "num_actions": "integer >= 1", "horizon": "integer >= 1"},
    ),
    "navigation2d": (lambda **kw: Navigation2D(oracle=False, **kw), {"horizon": "integer >= 1"}),
    "navigation2d-oracle": (
        lambda **kw: Navigation2D(oracle=True, **kw),
        {"horizon": "integer >= 1"},
    ),
    "maze-5x5": (lambda **kw: Maze(size=5, **kw), {"horizon": "integer >= 1"}),
    "maze-9x9": (lambda **kw: Maze(size=9, **kw), {"horizon": "integer >= 1"}),
}


def registered() -> list[str]:
    """Names accepted by `make`, sorted.

    Returns:
      `["bernoulli-bandit", "maze-5x5", "maze-9x9", "navigation2d", "navigation2d-oracle",
      "tabular-mdp"]`.

    Example:
      >>> "tabular-mdp" in registered()
      True
    """
    return sorted(_REGISTRY)


def make(name: str, **kwargs: Any) -> Environment:
    """Builds a registered environment by name.

    Names and keyword arguments (defaults are the papers' settings):
      "bernoulli-bandit": num_arms (k >= 2, default 5);
      "tabular-mdp": num_states (S >= 1, default 10), num_actions (A >= 1, default 5),
        horizon (>= 1, default 10);
      "navigation2d", "navigation2d-oracle": horizon (>= 1, default 100);
      "maze-5x5", "maze-9x9": horizon (>= 1, default 250).

    Args:
      name: one of `registered()`.
      **kwargs: constructor arguments, as listed above.

    Returns:
      The environment.

    Raises:
      ValueError: unknown name, unknown keyword argument or an out-of-range value.

    Example:
      >>> env = make("bernoulli-bandit", num_arms=10)
      >>> env.num_actions
      10
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown environment {name!r}; valid names: {', '.join(registered())}")
    constructor, accepted = _REGISTRY[name]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        valid = ", ".join(f"{k} ({v})" for k, v in accepted.items())
        raise ValueError(f"{name} got unknown argument(s) {', '.join(unknown)}; valid: {valid}")
    return constructor(**kwargs)


def instances(env: Environment, num: int, start_seed: int = 0) -> Any:
    """The evaluation instances: `num` tasks, instance i drawn from seed start_seed + i.

        instance_i = env.sample_task(jax.random.PRNGKey(start_seed + i)),   i = 0, ..., num − 1

    This is THE definition of "evaluation instance i" for adaptax: RL² evaluation and the classical
    baselines all draw their test tasks through it (the RL² tables use num = 1000, start_seed = 0),
    so every method is scored on identical tasks. The result equals stacking the individual calls
    (bit for bit when they are jitted; an eager call may round differently in the last place).

    Args:
      env: an environment with `sample_task(key) -> EnvParams`.
      num: number of instances, an integer >= 1.
      start_seed: seed of instance 0, an integer >= 0 (start_seed + num must stay below 2³¹).

    Returns:
      `EnvParams` whose every leaf has a leading axis of size `num`.

    Example:
      >>> tasks = instances(make("bernoulli-bandit", num_arms=5), 1000)
      >>> tasks.probs.shape
      (1000, 5)
    """
    num = require_int("num", num, minimum=1)
    start_seed = require_int("start_seed", start_seed, minimum=0)
    if start_seed + num > 2**31 - 1:
        raise ValueError(f"start_seed + num must be below 2**31, got {start_seed + num}")
    if not callable(getattr(env, "sample_task", None)):
        raise ValueError(f"{env!r} has no sample_task(key); instances need a task distribution")
    seeds = start_seed + jnp.arange(num, dtype=jnp.int32)
    keys = jax.vmap(jax.random.PRNGKey)(seeds)
    return jax.jit(jax.vmap(env.sample_task))(keys)
