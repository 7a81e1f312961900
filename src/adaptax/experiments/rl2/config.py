"""Settings of ``rl2-bandits`` and ``rl2-mdps``, their presets and budgets, the paper's numbers,
and the batch and devices a config trains with.

Example:
  >>> training_budget(BanditsConfig(n=500)), batch_size(BanditsConfig(**_TUNED), 100)
  (10000000, 256)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from adaptax.baselines.tuning import BANDIT_COLUMNS, MDP_COLUMNS
from adaptax.envs import BernoulliBandit, TabularMDP
from adaptax.errors import ConfigError
from adaptax.experiments import config as cfg
from adaptax.experiments import published_rl2
from adaptax.experiments.config import param
from adaptax.experiments.seeds import SEEDS_HELP
from adaptax.parallel import AUTO_HOST_DEVICES, auto_devices

# Published numbers (REFERENCE.md "RL²", Duan et al. 2017 Tables 1 and 2): setting → method → score.
BANDIT_METHODS = ("random", "gittins", "ts", "ots", "ucb1", "eps_greedy", "greedy", "rl2")
PAPER_BANDITS: dict[tuple[int, int], dict[str, float]] = {
    setting: dict(zip(BANDIT_METHODS, row, strict=True))
    for setting, row in published_rl2.BANDITS.items()
}
MDP_METHODS = ("random", "psrl", "opsrl", "ucrl2", "beb", "eps_greedy", "greedy", "rl2")
PAPER_MDPS: dict[int, dict[str, float]] = {
    n: dict(zip(MDP_METHODS, row, strict=True)) for n, row in published_rl2.MDPS.items()
}
PAPER_SOURCE = published_rl2.SOURCE

# config keys that change only the evaluation (`adaptax resume RUN --set KEY=VALUE`)
EVAL_KEYS = ("eval_tasks", "validation_tasks", "compare_agents")


@dataclasses.dataclass(frozen=True)
class _Common:
    """Settings shared by both RL² experiments; the presets (`default` included) override some."""

    seed: int = param(0, "PRNG seed for initialisation, training tasks and rollouts", min=0)
    seeds: int = param(1, SEEDS_HELP, min=1)
    algorithm: str = param("ppo", "update rule (paper: trpo)", choices=("ppo", "trpo"))
    hidden_size: int = param(64, "GRU units of policy and value networks (paper: 256)", min=1)
    embed_size: int = param(64, "input embedding width (paper: not stated; 256 at paper)", min=1)
    trials_per_iteration: int = param(
        1024, "trials collected per iteration (ignored when steps_per_iteration > 0)", min=1)
    steps_per_iteration: int = param(
        0, "environment steps per iteration; > 0 overrides trials_per_iteration (paper: 250000)",
        min=0)
    total_steps: int = param(
        0, "training budget in environment steps, rounded up to whole chunks; 0 = the "
        "setting's default budget (`training_budget`)", min=0)
    lr: float = param(1e-3, "Adam step size (PPO; the value fit under TRPO)", min=0,
                      min_exclusive=True)
    epochs: int = param(4, "PPO epochs per iteration", min=1)
    minibatches: int = param(4, "PPO minibatches of whole trials per epoch", min=1)
    clip_eps: float = param(0.2, "PPO ratio clip", min=0, min_exclusive=True)
    ent_coef: float = param(0.0, "PPO entropy bonus", min=0)
    gamma: float = param(0.99, "discount (paper: 0.99)", min=0, max=1)
    lam: float = param(0.3, "GAE lambda over the whole trial (paper: 0.3)", min=0, max=1)
    max_kl: float = param(0.01, "TRPO mean-KL trust region (paper: 0.01)", min=0,
                          min_exclusive=True)
    value_steps: int = param(5, "TRPO: Adam steps fitting the value baseline per iteration",
                             min=1)
    value_norm: bool = param(
        False, "value net predicts returns standardised by running statistics (paper: no)")
    time_feature: bool = param(
        False, "append t/T, the step within the trial, to the policy input (paper: no)")
    lr_anneal: bool = param(
        False, "decay the Adam step size linearly to 0 over the training budget (paper: no)")
    shared_torso: bool = param(
        False, "value head on the policy's GRU instead of a separate value GRU (paper: no)")
    devices: int = param(1, "data-parallel devices: each collects 1/devices of the trials, with "
                         "the same numbers as one device; `adaptax run` splits a CPU into that "
                         f"many host devices; 0 = auto: {AUTO_HOST_DEVICES} per process on a "
                         "CPU, every accelerator otherwise (`devices_of`)", min=0)
    eval_tasks: int = param(1000, "test instances, from the test split (paper: 1000)", min=2)
    validation_tasks: int = param(
        1000, "validation-split instances RL² is also scored on (for choosing settings) and the "
        "classical agents' hyper-parameters are chosen on", min=2)
    chunk: int = param(0, "iterations per dispatch/checkpoint/log line (0: about 50 lines)",
                       min=0)
    time_limit: float = param(
        0.0, "seconds of training after which the run stops at the end of a chunk and evaluates "
        "what it trained (lr_anneal keeps the full budget's schedule); 0 = the whole budget",
        min=0)

    @property
    def host_devices(self) -> int:
        """Host devices `adaptax run` asks XLA for on a CPU before JAX starts."""
        return self.devices or AUTO_HOST_DEVICES


@dataclasses.dataclass(frozen=True)
class BanditsConfig(_Common):
    """``rl2-bandits``: k arms with p ~ U[0, 1], trials of n pulls (RL² §3.1, Table 1)."""

    k: int = param(5, "number of arms", choices=(5, 10, 50))
    n: int = param(10, "pulls (one-step episodes) per trial", choices=(10, 100, 500))
    compare_agents: tuple[str, ...] = param(
        BANDIT_COLUMNS, "classical agents played on the same test instances",
        choices=BANDIT_COLUMNS, unique=True)

    def __post_init__(self) -> None:
        cfg.validate(self)
        _check_common(self)


@dataclasses.dataclass(frozen=True)
class MDPsConfig(_Common):
    """``rl2-mdps``: random 10-state, 5-action MDPs, horizon 10, n episodes (RL² §3.2, Table 2)."""

    n: int = param(10, "episodes per trial", choices=(10, 25, 50, 75, 100))
    compare_agents: tuple[str, ...] = param(
        MDP_COLUMNS, "classical agents played on the same test instances",
        choices=MDP_COLUMNS, unique=True)

    def __post_init__(self) -> None:
        cfg.validate(self)
        _check_common(self)


def _check_common(config: _Common) -> None:
    fixed_trials = config.steps_per_iteration == 0  # otherwise batch_size rounds it
    if config.algorithm == "ppo" and fixed_trials and \
            config.trials_per_iteration % config.minibatches:
        raise ConfigError(f"minibatches ({config.minibatches}) must divide trials_per_iteration "
                          f"({config.trials_per_iteration})")


_SMOKE = {"hidden_size": 16, "embed_size": 16, "trials_per_iteration": 32, "minibatches": 2,
          "epochs": 2, "total_steps": 32 * 10 * 6, "eval_tasks": 50, "validation_tasks": 40,
          "chunk": 2, "compare_agents": ("random", "greedy", "epsilon_greedy")}
# Ours, not the paper's (docs/rl2.md, deviations): returns of ~60 (γ = 0.99 over 100 steps of mean
# reward 1) swamp an unscaled value head, and 1024-trial batches give too few updates per step.
# 25,600 steps per iteration: 256 trials of 100 steps, 2560 of 10, 48 of 500. Every setting here
# and every budget below was chosen on validation-split scores (`protocol`).
_TUNED = {"steps_per_iteration": 25_600, "lr": 3e-3, "lr_anneal": True, "ent_coef": 0.01,
          "value_norm": True, "time_feature": True}
BANDIT_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": _SMOKE,
    "default": _TUNED,
    # the same for 150M steps, about an hour on 2 idle cores
    "long": {**_TUNED, "total_steps": 150_000_000},
    # 250,000 steps per iteration for 1000 iterations (REFERENCE.md "RL²").
    "paper": {"algorithm": "trpo", "hidden_size": 256, "embed_size": 256,
              "steps_per_iteration": 250_000, "total_steps": 250_000_000},
}
MDP_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {**_SMOKE, "total_steps": 32 * 100 * 2},
    # total_steps 0: the setting's budget, `training_budget`; devices 0: 2 host devices on a CPU
    "default": {**_TUNED, "devices": 0},
    # GRU 64 for 150M steps, about an hour on 2 idle cores (GRU 128 learned no faster per step)
    "long": {**_TUNED, "total_steps": 150_000_000},
    # 250,000 steps per iteration for 10,000 iterations.
    "paper": {"algorithm": "trpo", "hidden_size": 256, "embed_size": 256,
              "steps_per_iteration": 250_000, "total_steps": 2_500_000_000},
}


def _setting(config: _Common) -> tuple[str, Any, int, dict[str, int], dict[str, float]]:
    """(experiment name, inner env, episodes, setting dict, paper row) of a config."""
    if isinstance(config, BanditsConfig):
        return ("rl2-bandits", BernoulliBandit(num_arms=config.k), config.n,
                {"k": config.k, "n": config.n}, PAPER_BANDITS[(config.n, config.k)])
    return ("rl2-mdps", TabularMDP(num_states=10, num_actions=5, horizon=10), config.n,
            {"n": config.n}, PAPER_MDPS[config.n])


# The default budget per setting, (steps, {n: steps}): about 15 minutes each on 2 idle cores.
# Trials of 500 pulls train 2-3x fewer steps/s than shorter ones, MDP trials of 10 episodes the
# most (on 2 host devices), trials of 50 to 100 episodes about 20,000 steps/s.
BUDGETS = {"bandits": (20_000_000, {500: 10_000_000}),
           "mdps": (30_000_000, {10: 60_000_000, 50: 20_000_000, 75: 15_000_000,
                                 100: 15_000_000})}


def training_budget(config: _Common) -> int:
    """Environment steps to train for: `total_steps`, or when it is 0 the setting's default."""
    if config.total_steps > 0:
        return config.total_steps
    steps, per_n = BUDGETS["bandits" if isinstance(config, BanditsConfig) else "mdps"]
    return per_n.get(config.n, steps)


def devices_of(config: _Common) -> int:
    """The devices a config trains on: `devices`, or for 0 (auto) `parallel.auto_devices` that
    split a fixed batch of `trials_per_iteration` evenly. The numbers do not depend on it."""
    if config.devices:
        return config.devices
    return auto_devices(lambda count: config.steps_per_iteration > 0
                        or config.trials_per_iteration % count == 0)


def batch_size(config: _Common, steps_per_trial: int) -> int:
    """Trials per iteration: `trials_per_iteration`, or steps_per_iteration / T rounded down
    to a multiple of the PPO minibatches × devices (at least one trial per minibatch)."""
    if config.steps_per_iteration <= 0:
        return config.trials_per_iteration
    unit = config.minibatches * devices_of(config) if config.algorithm == "ppo" else 1
    return max(unit, config.steps_per_iteration // steps_per_trial // unit * unit)
