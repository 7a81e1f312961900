"""Settings of ``baselines-bandits`` and ``baselines-mdps``, their presets and the paper's tables.

Example:
  >>> BanditBaselinesConfig(**BANDIT_PRESETS["smoke"]).ots_samples
  (1, 4)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from adaptax.baselines.tuning import (
    BANDIT_COLUMNS,
    DEFAULT_OPSRL_SAMPLES,
    DEFAULT_OTS_SAMPLES,
    DEFAULT_SCALINGS,
    EPSILONS,
    LOG_SCALINGS,
    MDP_COLUMNS,
    OPSRL_SAMPLES,
    OTS_SAMPLES,
)
from adaptax.experiments import config as cfg
from adaptax.experiments import published_rl2
from adaptax.experiments.config import param

# The paper's rows, columns in the order of BANDIT_COLUMNS / MDP_COLUMNS, then RL².
BANDIT_PAPER = published_rl2.BANDITS
MDP_PAPER = published_rl2.MDPS


@dataclasses.dataclass(frozen=True)
class BanditBaselinesConfig:
    """Settings of ``baselines-bandits``; the defaults are the ``default`` preset."""

    mode: str = param("paper", "paper: the authors' agents and quirks; clean: fixed",
                      choices=("paper", "clean"))
    n: tuple[int, ...] = param((10, 100, 500), "pulls per trial (rows of Table 1)", min=1,
                               unique=True)
    k: tuple[int, ...] = param((5, 10, 50), "arms (rows of Table 1)", min=2, unique=True)
    instances: int = param(1000, "test instances per cell, from the test split", min=2)
    validation_instances: int = param(
        1000, "clean mode: validation-split instances the hyper-parameters are chosen on", min=2)
    seed: int = param(0, "seed of the shared outcomes and of the agents' own randomness", min=0)
    agents: tuple[str, ...] = param(BANDIT_COLUMNS, "agents to run", choices=BANDIT_COLUMNS,
                                    unique=True)
    ots_samples: tuple[int, ...] = param(
        OTS_SAMPLES, "OTS grid of posterior samples N (authors: 1..20)", min=1, unique=True)
    workers: int = param(2, "threads the grid of one agent is split over", min=1, max=64)
    bayes_optimal_max_n: int = param(
        10, "add the exact Bayes-optimal column for rows with n up to this (0: never)", min=0)
    rl2_runs: str = param("runs", "folder searched for rl2-bandits run folders whose results "
                          "fill the RL² column ('' for none)")

    def __post_init__(self) -> None:
        cfg.validate(self)


BANDIT_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"n": (10,), "k": (5,), "instances": 100, "ots_samples": (1, 4)},
    # The OTS grid dominates the cost (every grid point draws N posterior samples per arm and
    # step); the default preset tries 5 of the authors' 20 values.
    "default": {"ots_samples": DEFAULT_OTS_SAMPLES},
    "paper": {},
}


@dataclasses.dataclass(frozen=True)
class MDPBaselinesConfig:
    """Settings of ``baselines-mdps``; the defaults are the ``default`` preset."""

    mode: str = param("paper", "paper: the authors' agents and quirks; clean: fixed",
                      choices=("paper", "clean"))
    n: tuple[int, ...] = param((10, 25, 50, 75, 100), "episodes per trial (rows of Table 2)",
                               min=1, unique=True)
    instances: int = param(1000, "test instances per cell, from the test split", min=2)
    validation_instances: int = param(
        1000, "clean mode: validation-split instances the hyper-parameters are chosen on", min=2)
    seed: int = param(0, "seed of the shared outcomes and of the agents' own randomness", min=0)
    agents: tuple[str, ...] = param(MDP_COLUMNS, "agents to run", choices=MDP_COLUMNS,
                                    unique=True)
    opsrl_samples: tuple[int, ...] = param(
        OPSRL_SAMPLES, "OPSRL grid of posterior samples N (authors: 1..20)", min=1, unique=True)
    scalings: tuple[float, ...] = param(
        LOG_SCALINGS, "BEB and UCRL2 grid of scalings (authors: 21 log-spaced in [1e-4, 1])",
        min=0, min_exclusive=True, unique=True)
    epsilons: tuple[float, ...] = param(
        EPSILONS, "ε-greedy grid (authors: 0.1..1)", min=0, max=1, unique=True)
    workers: int = param(2, "threads the grid of one agent is split over", min=1, max=64)
    rl2_runs: str = param("runs", "folder searched for rl2-mdps run folders whose results "
                          "fill the RL² column ('' for none)")

    def __post_init__(self) -> None:
        cfg.validate(self)


MDP_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"n": (10,), "instances": 100, "opsrl_samples": (1, 5),
              "scalings": (1e-3, 0.1), "epsilons": (0.1, 0.5)},
    # OPSRL and UCRL2 dominate the cost: the default preset keeps every other scaling (a coarser
    # grid misses the authors' optima, 10^-2.8 for BEB and 10^-0.4 for UCRL2) and 5 of 20 N.
    "default": {"opsrl_samples": DEFAULT_OPSRL_SAMPLES, "scalings": DEFAULT_SCALINGS},
    "paper": {},
}
