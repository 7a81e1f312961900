"""Choosing a classical agent's hyper-parameter on some instances and scoring it on others.

The one place that tunes and scores the agents of RL²'s Table 1 (bandits) and Table 2 (tabular
MDPs): the ``baselines-*`` experiments fill the tables with it and the ``rl2-*`` experiments set
the same agents beside RL² on its test instances. Every grid point plays the same pre-drawn
outcomes (common random numbers); the point with the best mean on the tuning instances (the test
instances themselves under the paper's protocol) is reported at its score on the test instances.

Example:
  >>> [g["num_samples"] for g in bandit_grid("optimistic_thompson")]
  [1, 2, 5, 10, 20]
  >>> len(mdp_grid("beb")), mdp_grid("psrl")
  (11, None)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from adaptax.baselines import bandits as bandit_agents
from adaptax.baselines import stats

# RL² Table 1 columns, in the paper's order (its RL² column last in published_rl2.BANDITS).
BANDIT_COLUMNS = ("random", "gittins", "thompson", "optimistic_thompson", "ucb1",
                  "epsilon_greedy", "greedy")
# RL² Table 2 columns, in the paper's order.
MDP_COLUMNS = ("random", "psrl", "opsrl", "ucrl2", "beb", "epsilon_greedy", "greedy")

# The authors' grids (REFERENCE.md, "How the paper ran its baselines").
OTS_SAMPLES = tuple(range(1, 21))  # OTS: posterior samples N
OPSRL_SAMPLES = tuple(range(1, 21))  # OPSRL: posterior samples N
LOG_SCALINGS = tuple(float(x) for x in np.logspace(-4.0, 0.0, 21))  # BEB and UCRL2
EPSILONS = tuple(round(0.1 * i, 1) for i in range(1, 11))  # ε-greedy on MDPs

# The smaller grids of the baselines' ``default`` preset, which RL²'s comparisons use too. The
# OTS grid dominates the bandits' cost (every grid point draws N posterior samples per arm and
# step): 5 of the authors' 20 values. OPSRL and UCRL2 dominate the MDPs' cost: every other
# scaling (a coarser grid misses the authors' optima, 10^-2.8 for BEB and 10^-0.4 for UCRL2) and
# 5 of 20 N.
DEFAULT_OTS_SAMPLES = (1, 2, 5, 10, 20)
DEFAULT_OPSRL_SAMPLES = (1, 5, 10, 15, 20)
DEFAULT_SCALINGS = LOG_SCALINGS[::2]


def bandit_grid(agent: str, mode: str = "paper",
                ots_samples: Sequence[int] = DEFAULT_OTS_SAMPLES) -> list[dict[str, Any]]:
    """A bandit agent's grid as keyword dicts: the authors' (`bandits.bandit_grid`), OTS's over
    ``ots_samples``."""
    if agent == "optimistic_thompson":
        return [{"num_samples": s} for s in ots_samples]
    return bandit_agents.bandit_grid(agent, mode)


def mdp_grid(agent: str, opsrl_samples: tuple[int, ...] = DEFAULT_OPSRL_SAMPLES,
             scalings: tuple[float, ...] = DEFAULT_SCALINGS,
             epsilons: tuple[float, ...] = EPSILONS) -> tuple | None:
    """The values of an MDP agent's one hyper-parameter (None: it has none)."""
    return {"opsrl": opsrl_samples, "beb": scalings, "ucrl2": scalings,
            "epsilon_greedy": epsilons}.get(agent)


class AgentScores(NamedTuple):
    """One agent tuned on one set of instances and scored on the test instances.

    Attributes:
      hparam: the chosen grid point ({} for agents without a hyper-parameter).
      totals: [N] total rewards per test instance at that point.
      grid_means: mean test total at every grid point, in grid order.
      tune_means: mean total at every grid point on the instances the choice was made on.
    """

    hparam: dict[str, Any]
    totals: np.ndarray
    grid_means: list[float]
    tune_means: list[float]


def _tuned(grid: list[dict[str, Any]], test: list[np.ndarray],
           tune: list[np.ndarray] | None) -> AgentScores:
    """The grid point with the best mean on ``tune`` (on ``test`` when None: the paper's
    protocol), scored on ``test``.

    Example:
      >>> tuned = _tuned([{"c": 1}, {"c": 2}], [np.array([1.0, 1.0]), np.array([2.0, 0.0])],
      ...                [np.array([0.0, 0.0]), np.array([1.0, 1.0])])
      >>> tuned.hparam, tuned.totals.tolist(), tuned.grid_means
      ({'c': 2}, [2.0, 0.0], [1.0, 1.0])
    """
    choice = stats.choose(grid, test if tune is None else tune)
    best = grid.index(choice.best_hparam)
    return AgentScores(choice.best_hparam, np.asarray(test[best], np.float64),
                       [float(np.mean(t)) for t in test], choice.per_grid_means)


def bandit_agent_scores(agent: str, probs: np.ndarray, n: int, seed: int, mode: str,
                        grid: list[dict[str, Any]], tune_probs: np.ndarray | None = None,
                        workers: int = 1) -> AgentScores:
    """A bandit agent tuned on ``tune_probs`` (the test ``probs`` themselves when None, as the
    paper) and scored on ``probs`` [N, k], every grid point on the same outcomes."""
    def grid_totals(p: np.ndarray) -> list[np.ndarray]:
        outcomes = bandit_agents.bandit_outcomes(p, n, seed)
        return bandit_agents.run_bandit_grid(agent, p, n, seed, mode, grid, outcomes=outcomes,
                                             workers=workers)

    tune = None if tune_probs is None else grid_totals(tune_probs)
    return _tuned(list(grid), grid_totals(probs), tune)


def mdp_agent_scores(agent: str, tasks: tuple[np.ndarray, np.ndarray], ns: tuple[int, ...],
                     seed: int, mode: str, grid: tuple | None,
                     tune_tasks: tuple[np.ndarray, np.ndarray] | None = None,
                     workers: int = 1) -> list[AgentScores]:
    """An MDP agent tuned on ``tune_tasks`` (reward means, transitions; the test ``tasks`` when
    None, as the paper) and scored on ``tasks``, once per trial length in ``ns``: one run of the
    longest trial gives every row (`mdp.run_mdp_grid` with a sequence n)."""
    from adaptax.baselines import mdp as mdp_agents

    def grid_totals(t: tuple[np.ndarray, np.ndarray]) -> tuple[tuple, np.ndarray]:
        return mdp_agents.run_mdp_grid(agent, *t, ns, seed, mode, grid=grid, workers=workers)

    values, test = grid_totals(tasks)
    tune = None if tune_tasks is None else grid_totals(tune_tasks)[1]
    key = next(iter(mdp_agents.MDP_GRIDS[agent]), None)
    points = [{key: v} if key is not None else {} for v in values]
    return [_tuned(points, list(test[row]), None if tune is None else list(tune[row]))
            for row in range(len(ns))]


def mdp_arrays(tasks: Any) -> tuple[np.ndarray, np.ndarray]:
    """(reward means, transitions) of a batch of `TabularMDP` instances, as float64 arrays."""
    return (np.asarray(tasks.reward_mean, dtype=np.float64),
            np.asarray(tasks.transition, dtype=np.float64))
