"""The classical agents of RL²'s Table 1 (bandits) and Table 2 (tabular MDPs), cell by cell.

Every agent runs on the same 1000 instances (instance i = ``envs.instances(env, N)[i]``, the
project's one definition, shared with RL²'s evaluation) and the same pre-drawn outcomes (common
random numbers); hyper-parameters are chosen per setting by the best mean over the authors' grid on
those instances, as the authors did; a cell is bold when not significantly worse than the best
(one-sided Welch t-test, p = 0.05). ``mode=paper`` reproduces the authors' agents with their
quirks; ``mode=clean`` fixes them (REFERENCE.md, "How the paper ran its baselines").
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from adaptax.baselines import bandits as bandit_agents
from adaptax.baselines import stats
from adaptax.experiments import config as cfg
from adaptax.experiments import published_rl2
from adaptax.experiments.config import param
from adaptax.experiments.registry import Experiment, command_of, register
from adaptax.runs import RunDir

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
    instances: int = param(1000, "bandit instances per cell (seeds 0..N-1)", min=2)
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
    instances: int = param(1000, "MDP instances per cell (seeds 0..N-1)", min=2)
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


def _mdp_grid(agent: str, config: MDPBaselinesConfig) -> tuple | None:
    return {"opsrl": config.opsrl_samples, "beb": config.scalings, "ucrl2": config.scalings,
            "epsilon_greedy": config.epsilons}.get(agent)


def run_mdps(config: MDPBaselinesConfig, run_dir: RunDir, resume: bool = False) -> dict:
    """Every cell of Table 2 for the chosen agents; writes ``results.json`` and the report."""
    from adaptax.baselines import mdp as mdp_agents
    from adaptax.envs import TabularMDP, instances

    del resume  # cells are recomputed; nothing to continue
    t0 = time.perf_counter()
    tasks = instances(TabularMDP(), config.instances)
    reward_mean = np.asarray(tasks.reward_mean, dtype=np.float64)
    transition = np.asarray(tasks.transition, dtype=np.float64)
    # one run of the longest trial per agent gives every row (`mdp.run_mdp_grid` with a sequence n)
    runs = {agent: mdp_agents.run_mdp_grid(
        agent, reward_mean, transition, config.n, config.seed, config.mode,
        grid=_mdp_grid(agent, config), workers=config.workers) for agent in config.agents}
    rows = []
    for row, n in enumerate(config.n):
        paper = MDP_PAPER.get(n)
        scores, cells = {}, {}
        for agent in config.agents:
            values, totals = runs[agent][0], np.asarray(runs[agent][1][row], dtype=np.float64)
            means = totals.mean(axis=1)
            best = int(np.argmax(means))
            key = next(iter(mdp_agents.MDP_GRIDS[agent]), None)
            hparam = {key: values[best]} if key is not None else {}
            published = paper[MDP_COLUMNS.index(agent)] if paper else None
            scores[agent] = totals[best]
            cells[agent] = _cell(totals[best], published, hparam, means.tolist())
        rl2 = find_rl2(config.rl2_runs, "rl2-mdps", {"n": n}, config.instances,
                       paper[-1] if paper else None)
        if rl2 is not None:
            cells["rl2"] = rl2
        rows.append(_table_row(f"{n}", {"n": n}, scores, cells))
    results = {
        "schema": SCHEMA, "experiment": "baselines-mdps", "mode": config.mode,
        "instances": config.instances, "seed": config.seed,
        "metric": "total reward per trial; mean ± standard error over instances",
        "columns": list(config.agents), "labels": MDP_LABELS, "rows": rows,
        "paper_rl2": {str(n): v[-1] for n, v in MDP_PAPER.items()},
        "seconds": round(time.perf_counter() - t0, 2), "config": cfg.to_dict(config),
    }
    run_dir.write_results(results)
    report(run_dir)
    return results


def _bandit_grid(agent: str, config: BanditBaselinesConfig) -> list[dict[str, Any]]:
    if agent == "optimistic_thompson":
        return [{"num_samples": s} for s in config.ots_samples]
    return bandit_agents.bandit_grid(agent, config.mode)


def _cell(totals: np.ndarray, paper: float | None, hparam: dict, grid_means: list) -> dict:
    mean, se = stats.mean_se(totals)
    cell = {"mean": mean, "se": se, "paper": paper, "hparam": hparam,
            "grid_means": [float(m) for m in grid_means]}
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


def find_rl2(root: str, experiment: str, setting: dict, instances: int,
             paper: float | None = None) -> dict | None:
    """The newest finished RL² run of ``setting`` under ``root`` evaluated on the same instances.

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
            if r.get("setting") == setting and int(score["eval_tasks"]) == instances:
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
    from adaptax.envs import BernoulliBandit, instances

    del resume  # cells are cheap to recompute; nothing to continue
    t0 = time.perf_counter()
    rows = []
    for n in config.n:
        for k in config.k:
            probs = np.asarray(instances(BernoulliBandit(num_arms=k), config.instances).probs,
                               dtype=np.float64)
            outcomes = bandit_agents.bandit_outcomes(probs, n, config.seed)
            paper = BANDIT_PAPER.get((n, k))
            scores, cells = {}, {}
            for agent in config.agents:
                grid = _bandit_grid(agent, config)

                tuned = stats.choose(grid, bandit_agents.run_bandit_grid(
                    agent, probs, n, config.seed, config.mode, grid, outcomes=outcomes,
                    workers=config.workers))
                published = paper[BANDIT_COLUMNS.index(agent)] if paper else None
                scores[agent] = tuned.best_totals
                cells[agent] = _cell(tuned.best_totals, published, tuned.best_hparam,
                                     tuned.per_grid_means)
            if n <= config.bayes_optimal_max_n:
                totals = bayes_optimal.bayes_optimal(outcomes)
                scores["bayes_optimal"] = totals
                cells["bayes_optimal"] = _cell(totals, None, {}, [])
            rl2 = find_rl2(config.rl2_runs, "rl2-bandits", {"n": n, "k": k},
                           config.instances, paper[-1] if paper else None)
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
        "instances": config.instances, "seed": config.seed,
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
    command = command_of(run_dir.read_config(), always=("mode",))
    text = f"""# {title}: the classical baselines ({results['mode']} mode)

Command: `{command}`; {results['instances']}
instances per cell (instance i = `envs.instances(env, N)[i]`, shared with RL²), outcome seed
{results['seed']}; {results['seconds']:.0f} s.

Each cell: ours, mean ± standard error, with the paper's value in brackets (✗: more than two
standard errors away). Bold: not significantly worse than the best of the row (one-sided Welch
t-test, p = 0.05), as in the paper. Hyper-parameters chosen per setting by the best mean over the
authors' grid on these instances, as the authors did.

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
    return register(Experiment(name=name, description=description, config_cls=config_cls,
                               presets=presets, run=run, report=report))


BANDITS = _experiment("baselines-bandits",
                      "RL² Table 1: Gittins, TS, OTS, UCB1, ε-greedy, greedy, random on bandits",
                      BanditBaselinesConfig, BANDIT_PRESETS, run_bandits)
MDPS = _experiment("baselines-mdps",
                   "RL² Table 2: PSRL, OPSRL, UCRL2, BEB, ε-greedy, greedy, random on MDPs",
                   MDPBaselinesConfig, MDP_PRESETS, run_mdps)
