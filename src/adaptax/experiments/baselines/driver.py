"""Every cell of RL²'s Table 1 (bandits) and Table 2 (MDPs) for the chosen classical agents.

Each agent is tuned and scored by `adaptax.baselines.tuning` on the test split (and, in clean
mode, the validation split); a cell is bold when not significantly worse than the best of its
row, and an RL² column is read from a finished RL² run on the same instances (`find_rl2`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from adaptax.baselines import bandits as bandit_agents
from adaptax.baselines import stats
from adaptax.baselines.tuning import (
    BANDIT_COLUMNS,
    MDP_COLUMNS,
    AgentScores,
    bandit_agent_scores,
    bandit_grid,
    mdp_agent_scores,
    mdp_arrays,
    mdp_grid,
)
from adaptax.experiments import config as cfg
from adaptax.experiments.baselines.config import (
    BANDIT_PAPER,
    MDP_PAPER,
    BanditBaselinesConfig,
    MDPBaselinesConfig,
)
from adaptax.experiments.protocol import split_instances, split_record
from adaptax.reporting import label
from adaptax.storage.runs import RunDir

SCHEMA = "adaptax.baselines.results/1"


def _labels(columns: tuple[str, ...]) -> dict[str, str]:
    """results.json's "labels": every column's display name (`reporting.AGENT_LABELS`)."""
    return {c: label(c, agent=True) for c in columns}


def run_bandits(config: BanditBaselinesConfig, run_dir: RunDir, resume: bool = False) -> dict:
    """Every cell of Table 1 for the chosen agents; writes ``results.json`` and the report."""
    from adaptax.baselines import bayes_optimal
    from adaptax.envs import BernoulliBandit

    del resume  # cells are cheap to recompute; nothing to continue
    t0 = time.perf_counter()
    rows = []
    for n in config.n:
        for k in config.k:
            env = BernoulliBandit(num_arms=k)
            probs = np.asarray(split_instances(env, "test", config.instances).probs, np.float64)
            tune = (np.asarray(split_instances(env, "validation", config.validation_instances)
                               .probs, np.float64) if config.mode == "clean" else None)
            paper = BANDIT_PAPER.get((n, k))
            scores, cells = {}, {}
            for agent in config.agents:
                grid = bandit_grid(agent, config.mode, config.ots_samples)
                tuned = bandit_agent_scores(agent, probs, n, config.seed, config.mode, grid, tune,
                                            config.workers)
                published = paper[BANDIT_COLUMNS.index(agent)] if paper else None
                scores[agent] = tuned.totals
                cells[agent] = _cell(tuned, published)
            if n <= config.bayes_optimal_max_n:
                totals = bayes_optimal.bayes_optimal(
                    bandit_agents.bandit_outcomes(probs, n, config.seed))
                scores["bayes_optimal"] = totals
                cells["bayes_optimal"] = _cell(AgentScores({}, totals, [], []), None)
            rl2 = find_rl2(config.rl2_runs, "rl2-bandits", {"n": n, "k": k},
                           _splits(config)["test"], paper[-1] if paper else None)
            if rl2 is not None:
                cells["rl2"] = rl2
            row = _table_row(f"{n}, {k}", {"n": n, "k": k}, scores, cells)
            # How lucky this instance set is: the best arm's p is the max of k uniforms, with
            # mean k/(k+1) and variance k/((k+1)²(k+2)); every good agent's score follows it.
            best = probs.max(axis=1)
            sd = np.sqrt(k / ((k + 1) ** 2 * (k + 2)) / len(best))
            row["instances"] = {"mean_best_p": float(best.mean()), "expected": k / (k + 1),
                                "z": float((best.mean() - k / (k + 1)) / sd)}
            rows.append(row)
    results = {
        "schema": SCHEMA, "experiment": "baselines-bandits", "mode": config.mode,
        "instances": config.instances, "seed": config.seed, "splits": _splits(config),
        "metric": "total reward per trial; mean ± standard error over instances",
        "columns": list(config.agents),
        "labels": _labels((*BANDIT_COLUMNS, "bayes_optimal", "rl2")), "rows": rows,
        "paper_rl2": {f"{n}, {k}": v[-1] for (n, k), v in BANDIT_PAPER.items()},
        "seconds": round(time.perf_counter() - t0, 2), "config": cfg.to_dict(config),
    }
    run_dir.write_results(results)
    return results


def run_mdps(config: MDPBaselinesConfig, run_dir: RunDir, resume: bool = False) -> dict:
    """Every cell of Table 2 for the chosen agents; writes ``results.json`` and the report."""
    from adaptax.envs import TabularMDP

    del resume  # cells are recomputed; nothing to continue
    t0 = time.perf_counter()
    tasks = mdp_arrays(split_instances(TabularMDP(), "test", config.instances))
    tune = (mdp_arrays(split_instances(TabularMDP(), "validation", config.validation_instances))
            if config.mode == "clean" else None)
    runs = {agent: mdp_agent_scores(agent, tasks, config.n, config.seed, config.mode,
                                    mdp_grid(agent, config.opsrl_samples, config.scalings,
                                             config.epsilons),
                                    tune, config.workers)
            for agent in config.agents}
    rows = []
    for row, n in enumerate(config.n):
        paper = MDP_PAPER.get(n)
        scores, cells = {}, {}
        for agent in config.agents:
            tuned = runs[agent][row]
            published = paper[MDP_COLUMNS.index(agent)] if paper else None
            scores[agent] = tuned.totals
            cells[agent] = _cell(tuned, published)
        rl2 = find_rl2(config.rl2_runs, "rl2-mdps", {"n": n}, _splits(config)["test"],
                       paper[-1] if paper else None)
        if rl2 is not None:
            cells["rl2"] = rl2
        rows.append(_table_row(f"{n}", {"n": n}, scores, cells))
    results = {
        "schema": SCHEMA, "experiment": "baselines-mdps", "mode": config.mode,
        "instances": config.instances, "seed": config.seed, "splits": _splits(config),
        "metric": "total reward per trial; mean ± standard error over instances",
        "columns": list(config.agents), "labels": _labels((*MDP_COLUMNS, "rl2")), "rows": rows,
        "paper_rl2": {str(n): v[-1] for n, v in MDP_PAPER.items()},
        "seconds": round(time.perf_counter() - t0, 2), "config": cfg.to_dict(config),
    }
    run_dir.write_results(results)
    return results


def _splits(config: Any) -> dict[str, Any]:
    out = {"test": split_record("test", config.instances)}
    if config.mode == "clean":
        out["validation"] = split_record("validation", config.validation_instances)
    return out


def _cell(tuned: AgentScores, paper: float | None) -> dict:
    mean, se = stats.mean_se(tuned.totals)
    cell = {"mean": mean, "se": se, "paper": paper, "hparam": tuned.hparam,
            "grid_means": tuned.grid_means, "tune_means": tuned.tune_means}
    if paper is not None:
        cell["within_2se"] = bool(abs(mean - paper) <= 2 * se)
    return cell


def _table_row(label: str, setting: dict, scores: dict[str, np.ndarray],
               cells: dict[str, dict]) -> dict[str, Any]:
    summaries = {name: (float(np.mean(x)), float(np.std(x, ddof=1)), len(x))
                 for name, x in scores.items()}
    for name, cell in cells.items():
        if name not in summaries:  # a column read from another run's results (RL²)
            summaries[name] = (cell["mean"], cell["std"], cell["n"])
    best = max(summaries, key=lambda name: summaries[name][0])
    for name, cell in cells.items():
        cell["bold"] = name == best or _welch_p(summaries[name], summaries[best]) >= 0.05
    return {"label": label, "setting": setting, "cells": cells}


def _welch_p(x: tuple[float, float, int], y: tuple[float, float, int]) -> float:
    """One-sided Welch p-value that mean x < mean y, from (mean, std, n) summaries (the same
    test as `stats.welch_one_sided` on the samples)."""
    import scipy.stats

    if x[1] == 0 and y[1] == 0:
        return 0.0 if x[0] < y[0] else 1.0
    return float(scipy.stats.ttest_ind_from_stats(*x, *y, equal_var=False,
                                                  alternative="less").pvalue)


def find_rl2(root: str, experiment: str, setting: dict, split: dict[str, Any],
             paper: float | None = None) -> dict | None:
    """The newest finished RL² run of ``setting`` under ``root`` evaluated on the same instances
    (its ``splits.test`` record equals ``split``).

    Returns a cell (mean, se, std, n, source, and the paper's value with ``within_2se`` when
    ``paper`` is given) or None. Unreadable results are skipped.
    """
    if not root:
        return None
    found = []
    for path in Path(root).glob(f"{experiment}/*/results.json"):
        try:
            r = json.loads(path.read_text())
            score = r["rl2"]
            if r.get("setting") == setting and r.get("splits", {}).get("test") == split:
                found.append((path.stat().st_mtime, path, score))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    if not found:
        return None
    _, path, score = max(found, key=lambda f: f[0])
    n = int(score["eval_tasks"])
    mean, std = float(score["mean"]), float(score["std"])
    cell = {"mean": mean, "std": std, "n": n, "se": std / np.sqrt(n), "paper": paper,
            "hparam": {}, "grid_means": [], "source": str(path.parent)}
    if paper is not None:
        cell["within_2se"] = bool(abs(mean - paper) <= 2 * cell["se"])
    return cell
