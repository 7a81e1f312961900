"""The classical agents of RL²'s Table 1 (bandits) and Table 2 (tabular MDPs), cell by cell.

Every agent runs on the same 1000 instances of the test split (`protocol.split_instances`, shared
with RL²'s evaluation) and the same pre-drawn outcomes (common random numbers); a cell is bold when
not significantly worse than the best (one-sided Welch t-test, p = 0.05). ``mode=paper`` is the
authors' protocol: their agents with their quirks, each hyper-parameter chosen per setting by the
best mean over their grid on the reported instances themselves. ``mode=clean`` fixes the quirks
and chooses each hyper-parameter on instances of the validation split, then scores it on the test
instances (REFERENCE.md, "How the paper ran its baselines"). `bandit_agent_scores` and
`mdp_agent_scores` are the one place that tunes and scores an agent; RL²'s reports use them too.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from adaptax.baselines import bandits as bandit_agents
from adaptax.baselines import stats
from adaptax.experiments import config as cfg
from adaptax.experiments import published_rl2
from adaptax.experiments.config import param
from adaptax.experiments.experiment import Experiment
from adaptax.experiments.protocol import describe_split, split_instances, split_record
from adaptax.storage.runs import RunDir

SCHEMA = "adaptax.baselines.results/1"

# RL² Table 1 columns, in the paper's order (its RL² column last in published_rl2.BANDITS).
BANDIT_COLUMNS = ("random", "gittins", "thompson", "optimistic_thompson", "ucb1",
                  "epsilon_greedy", "greedy")
BANDIT_LABELS = {"random": "Random", "gittins": "Gittins", "thompson": "TS",
                 "optimistic_thompson": "OTS", "ucb1": "UCB1", "epsilon_greedy": "ε-greedy",
                 "greedy": "Greedy", "bayes_optimal": "Bayes-optimal (DP)", "rl2": "RL²"}
BANDIT_PAPER = published_rl2.BANDITS


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
        tuple(range(1, 21)), "OTS grid of posterior samples N (authors: 1..20)", min=1,
        unique=True)
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
    "default": {"ots_samples": (1, 2, 5, 10, 20)},
    "paper": {},
}


# RL² Table 2 columns, in the paper's order.
MDP_COLUMNS = ("random", "psrl", "opsrl", "ucrl2", "beb", "epsilon_greedy", "greedy")
MDP_LABELS = {"random": "Random", "psrl": "PSRL", "opsrl": "OPSRL", "ucrl2": "UCRL2",
              "beb": "BEB", "epsilon_greedy": "ε-greedy", "greedy": "Greedy", "rl2": "RL²"}
MDP_PAPER = published_rl2.MDPS
_LOG_SCALINGS = tuple(float(x) for x in np.logspace(-4.0, 0.0, 21))


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
        tuple(range(1, 21)), "OPSRL grid of posterior samples N (authors: 1..20)", min=1,
        unique=True)
    scalings: tuple[float, ...] = param(
        _LOG_SCALINGS, "BEB and UCRL2 grid of scalings (authors: 21 log-spaced in [1e-4, 1])",
        min=0, min_exclusive=True, unique=True)
    epsilons: tuple[float, ...] = param(
        tuple(round(0.1 * i, 1) for i in range(1, 11)), "ε-greedy grid (authors: 0.1..1)",
        min=0, max=1, unique=True)
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
    "default": {"opsrl_samples": (1, 5, 10, 15, 20), "scalings": _LOG_SCALINGS[::2]},
    "paper": {},
}


def mdp_grid(agent: str, config: MDPBaselinesConfig) -> tuple | None:
    return {"opsrl": config.opsrl_samples, "beb": config.scalings, "ucrl2": config.scalings,
            "epsilon_greedy": config.epsilons}.get(agent)


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
    protocol), scored on ``test``."""
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
    return (np.asarray(tasks.reward_mean, dtype=np.float64),
            np.asarray(tasks.transition, dtype=np.float64))


def _splits(config: Any) -> dict[str, Any]:
    out = {"test": split_record("test", config.instances)}
    if config.mode == "clean":
        out["validation"] = split_record("validation", config.validation_instances)
    return out


def run_mdps(config: MDPBaselinesConfig, run_dir: RunDir, resume: bool = False) -> dict:
    """Every cell of Table 2 for the chosen agents; writes ``results.json`` and the report."""
    from adaptax.envs import TabularMDP

    del resume  # cells are recomputed; nothing to continue
    t0 = time.perf_counter()
    tasks = mdp_arrays(split_instances(TabularMDP(), "test", config.instances))
    tune = (mdp_arrays(split_instances(TabularMDP(), "validation", config.validation_instances))
            if config.mode == "clean" else None)
    runs = {agent: mdp_agent_scores(agent, tasks, config.n, config.seed, config.mode,
                                    mdp_grid(agent, config), tune, config.workers)
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
        "columns": list(config.agents), "labels": MDP_LABELS, "rows": rows,
        "paper_rl2": {str(n): v[-1] for n, v in MDP_PAPER.items()},
        "seconds": round(time.perf_counter() - t0, 2), "config": cfg.to_dict(config),
    }
    run_dir.write_results(results)
    report(run_dir)
    return results


def bandit_grid(agent: str, config: BanditBaselinesConfig) -> list[dict[str, Any]]:
    if agent == "optimistic_thompson":
        return [{"num_samples": s} for s in config.ots_samples]
    return bandit_agents.bandit_grid(agent, config.mode)


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
    import json
    from pathlib import Path

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
                tuned = bandit_agent_scores(agent, probs, n, config.seed, config.mode,
                                            bandit_grid(agent, config), tune, config.workers)
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
        "columns": list(config.agents), "labels": BANDIT_LABELS, "rows": rows,
        "paper_rl2": {f"{n}, {k}": v[-1] for (n, k), v in BANDIT_PAPER.items()},
        "seconds": round(time.perf_counter() - t0, 2), "config": cfg.to_dict(config),
    }
    run_dir.write_results(results)
    report(run_dir)
    return results


def format_table(results: dict[str, Any]) -> str:
    """The paper-vs-ours markdown table: each cell 'ours ± se (paper)', bold as the paper."""
    from adaptax.report import table

    columns = list(results["columns"])
    extra = [c for c in ("bayes_optimal", "rl2")
             if any(c in row["cells"] for row in results["rows"])]
    headers = ["setting"] + [results["labels"].get(c, c) for c in columns + extra]
    body = []
    for row in results["rows"]:
        line = [row["label"]]
        for c in columns + extra:
            cell = row["cells"].get(c)
            if cell is None:
                line.append("—")
                continue
            text = f"{cell['mean']:.1f} ± {cell['se']:.1f}"
            if cell["bold"]:
                text = f"**{text}**"
            if cell.get("paper") is not None:
                flag = "" if cell.get("within_2se") else " ✗"
                text += f" ({cell['paper']}{flag})"
            line.append(text)
        body.append(line)
    return table(headers, body)


def _hparam_table(results: dict[str, Any]) -> str:
    from adaptax.report import table

    rows = []
    for row in results["rows"]:
        for c, cell in row["cells"].items():
            if cell["hparam"]:
                rows.append([row["label"], results["labels"].get(c, c),
                             ", ".join(f"{k}={v}" for k, v in cell["hparam"].items())])
    return table(["setting", "agent", "chosen"], rows) if rows else "(no grids)"


def _rl2_sources(results: dict[str, Any]) -> str:
    sources = sorted({row["cells"]["rl2"]["source"] for row in results["rows"]
                      if "rl2" in row["cells"]})
    if not sources:
        return ("No RL² column: no finished RL² run on these instances was found under "
                f"`{results['config'].get('rl2_runs')}`.")
    return "RL² column read from: " + ", ".join(f"`{s}`" for s in sources)


def _luck(results: dict[str, Any]) -> str:
    lines = [
        f"- {row['label']}: {row['instances']['mean_best_p']:.4f} vs "
        f"{row['instances']['expected']:.4f} (z = {row['instances']['z']:+.1f})"
        for row in results["rows"] if "instances" in row
    ]
    if not lines:
        return ""
    return ("For bandits, the mean best-arm probability of each row's instances against its "
            "expectation k/(k+1) (z in standard errors of that mean):\n" + "\n".join(lines))


def _where(results: dict[str, Any]) -> str:
    test = results.get("splits", {}).get("test")
    if test is None:
        return f"{results['instances']} instances per cell"
    return f"{test['num']} instances per cell ({describe_split('test', test['num'])})"


def _tuning_text(results: dict[str, Any]) -> str:
    """How the hyper-parameters were chosen: the paper's protocol or on validation instances."""
    validation = results.get("splits", {}).get("validation")
    if validation is None:
        return ("Hyper-parameters chosen per setting by the best mean over the authors' grid on "
                "these same test instances: the paper's protocol, which flatters every tuned "
                "agent a little (`--set mode=clean` chooses on validation instances instead).")
    return ("Hyper-parameters chosen per setting by the best mean over the grid on "
            f"{validation['num']} instances of the validation split "
            f"({describe_split('validation', validation['num'])}), then scored on the test "
            "instances.")


def report(run_dir: RunDir) -> str:
    """Writes ``report.md`` and the figure from ``results.json``; returns the markdown."""
    from adaptax.plots import baseline_bars

    results = run_dir.read_results()
    run_dir.figures_dir.mkdir(exist_ok=True)
    figure = baseline_bars(results, run_dir.figures_dir)
    misses = [
        f"{row['label']} {results['labels'].get(c, c)}: {cell['mean']:.2f} ± {cell['se']:.2f} "
        f"vs {cell['paper']}"
        for row in results["rows"] for c, cell in row["cells"].items()
        if cell.get("paper") is not None and not cell.get("within_2se")
    ]
    title = "RL² Table 1 — bandits" if "bandits" in results["experiment"] else "RL² Table 2 — MDPs"
    command = EXPERIMENTS[results["experiment"]].command_of(run_dir.read_config(),
                                                           always=("mode",))
    text = f"""# {title}: the classical baselines ({results['mode']} mode)

Command: `{command}`; {_where(results)}, shared with RL²'s evaluation; outcome seed
{results['seed']}; {results['seconds']:.0f} s.

Each cell: ours, mean ± standard error, with the paper's value in brackets (✗: more than two
standard errors away). Bold: not significantly worse than the best of the row (one-sided Welch
t-test, p = 0.05), as in the paper. {_tuning_text(results)}

{format_table(results)}

{_rl2_sources(results)}

## Chosen hyper-parameters

{_hparam_table(results)}

## Cells more than two standard errors from the paper

{chr(10).join('- ' + m for m in misses) if misses else 'None.'}

The paper's values come from its own draw of instances, so a cell also moves with how good our
instance set happens to be. {_luck(results)}

![{figure}](figures/{figure})
"""
    run_dir.write_report(text)
    return text


def _experiment(name: str, description: str, config_cls: type, presets: dict,
                run: Callable) -> Experiment:
    return Experiment(name=name, description=description, config_cls=config_cls,
                      presets=presets, run=run, report=report)


BANDITS = _experiment("baselines-bandits",
                      "RL² Table 1: Gittins, TS, OTS, UCB1, ε-greedy, greedy, random on bandits",
                      BanditBaselinesConfig, BANDIT_PRESETS, run_bandits)
MDPS = _experiment("baselines-mdps",
                   "RL² Table 2: PSRL, OPSRL, UCRL2, BEB, ε-greedy, greedy, random on MDPs",
                   MDPBaselinesConfig, MDP_PRESETS, run_mdps)
EXPERIMENTS = {BANDITS.name: BANDITS, MDPS.name: MDPS}
