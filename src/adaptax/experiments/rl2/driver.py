"""Training, evaluation and ``results.json`` of one RL² run, with the classical agents and the
normalised score on the same instances.

The only module of the experiments that calls RL² (`adaptax.rl.rl2`): `settings_of` turns a
config into its `RL2Settings`, and `run` builds the agent (`rl2_agent`) and its learner, trains
it with `train_phase` and evaluates it on the test and validation splits.
"""

from __future__ import annotations

import functools
import math
import time
from typing import Any

import jax
import numpy as np

from adaptax.baselines.tuning import (
    BANDIT_COLUMNS,
    MDP_COLUMNS,
    bandit_agent_scores,
    bandit_grid,
    mdp_agent_scores,
    mdp_arrays,
    mdp_grid,
)
from adaptax.envs import BernoulliBandit
from adaptax.experiments import config as cfg
from adaptax.experiments import published_rl2
from adaptax.experiments.protocol import compare, split_instances, split_record
from adaptax.experiments.rl2.config import (
    EVAL_KEYS,
    PAPER_SOURCE,
    _Common,
    _setting,
    batch_size,
    devices_of,
    training_budget,
)
from adaptax.experiments.seeds import combine, seeded, split
from adaptax.experiments.training import progress, train_phase
from adaptax.parallel import data_mesh, on
from adaptax.rl.rl2 import RL2Settings, evaluate, rl2_agent, rl2_learner, trial_length
from adaptax.storage.runs import RunDir


def settings_of(config: _Common, trials: int, iterations: int = 0) -> RL2Settings:
    """The learner's `RL2Settings` for a config (`iterations`: the budget, for `lr_anneal`)."""
    return cfg.settings_from(RL2Settings, config, trials_per_batch=trials,
                             lr_anneal_iterations=iterations if config.lr_anneal else 0)


def run(config: _Common, run_dir: RunDir, resume: bool = False) -> dict[str, Any]:
    """Meta-trains RL², evaluates on the fixed instances, writes results.json."""
    name, env, episodes, setting, paper = _setting(config)
    steps_per_trial = trial_length(env, episodes)
    trials = batch_size(config, steps_per_trial)
    steps_per_iter = trials * steps_per_trial
    iterations = max(1, math.ceil(training_budget(config) / steps_per_iter))
    chunk = min(config.chunk or max(1, math.ceil(iterations / 50)), iterations)
    # whole chunks only: one compiled program (a shorter last chunk would compile a second one)
    iterations = math.ceil(iterations / chunk) * chunk
    agent = rl2_agent(env, episodes, settings_of(config, trials, iterations))
    learner = rl2_learner(agent)
    mesh = data_mesh(devices_of(config))
    seeds = [config.seed + i for i in range(config.seeds)]
    roots = [jax.random.PRNGKey(seed) for seed in seeds]
    run_fn, state = seeded(learner.run,
                           [learner.init(jax.random.fold_in(root, 0)) for root in roots])
    result = train_phase(
        run_dir, experiment=name, phase="rl2", run_fn=on(mesh, run_fn), state=state,
        iterations=iterations, chunk=chunk, resume=resume,
        config_hash=cfg.training_hash(config, EVAL_KEYS),
        hint="lower --set lr (PPO) or --set max_kl (TRPO)", time_limit=config.time_limit,
    )
    params = split(result.state.params, len(seeds))

    tasks = split_instances(env, "test", config.eval_tasks)
    validation = split_instances(env, "validation", config.validation_tasks)
    progress(f"evaluating RL² on {config.eval_tasks} test and {config.validation_tasks} "
             f"validation instances ({len(seeds)} seed{'s' if len(seeds) > 1 else ''})")
    score = on(mesh, jax.jit(functools.partial(evaluate, agent)))
    t1 = time.perf_counter()
    per_seed, all_scores = [], []
    for p, root in zip(params, roots, strict=True):
        scores = np.asarray(score(p, tasks, jax.random.fold_in(root, 1)))
        val_scores = np.asarray(score(p, validation, jax.random.fold_in(root, 2)))
        per_seed.append({"rl2": _summary(scores) | {"actions": "sampled"},
                         "validation": _summary(val_scores)})
        all_scores.append(scores)
    eval_seconds = time.perf_counter() - t1
    summary = combine(per_seed, seeds)
    # the comparisons: each instance's total, averaged over the seeds
    scores = np.mean(all_scores, axis=0)
    curve = [r for r in run_dir.read_metrics() if r.get("phase") == "rl2"]
    norm = normalisers(env, episodes, tasks)
    norm["rl2"] = normalise([summary["rl2"]["mean"]], norm)[0]
    norm["curve"] = normalise([r["trial_return"] for r in curve], norm)
    t2 = time.perf_counter()
    progress(f"the classical agents on the same instances: {', '.join(config.compare_agents)}")
    agents = classical_agents(config, env, episodes, tasks, validation)
    comparisons = compare(scores, {a: np.asarray(v["totals"]) for a, v in agents.items()})
    for v in agents.values():
        del v["totals"]  # per-instance totals stay out of results.json
    results = {
        "schema": f"adaptax.{name}.results/1",
        "experiment": name,
        "setting": setting,
        "metric": "total reward per trial on the test instances, sampled actions; mean and 95% "
                  "interval half-width 1.96·std/sqrt(N)",
        "splits": {"test": split_record("test", config.eval_tasks),
                   "validation": split_record("validation", config.validation_tasks)},
        **summary,
        "classical": agents,
        "comparisons": comparisons,
        "classical_seconds": round(time.perf_counter() - t2, 2),
        "paper": {"source": PAPER_SOURCE, **paper},
        "train": {
            "algorithm": config.algorithm,
            "iterations": result.iterations,
            "budget_iterations": iterations,
            "devices": mesh.size,
            "trials_per_iteration": trials,
            "steps_per_trial": steps_per_trial,
            "steps_per_iteration": steps_per_iter,
            "env_steps": result.iterations * steps_per_iter,
            "train_seconds": round(result.seconds, 2),
            "env_steps_per_second": round(result.iters_per_second * steps_per_iter, 1),
            "final_loss": result.final_loss,
            "eval_seconds": round(eval_seconds, 2),
        },
        "curve": {
            "env_steps": [r["step"] * steps_per_iter for r in curve],
            "trial_return": [r["trial_return"] for r in curve],
            "steps_per_second": [
                round(r["env_steps"] * (r["step"] - prev) / r["seconds"], 1)
                for r, prev in zip(curve, [0] + [r["step"] for r in curve[:-1]], strict=True)
            ],
        },
        "normalised": norm,
        "config": cfg.to_dict(config),
    }
    run_dir.write_results(results)
    return results


def _summary(scores: np.ndarray) -> dict[str, Any]:
    """Mean, 95% interval half-width (1.96·std/√N), std and N of per-instance scores."""
    scores = np.asarray(scores, np.float64)
    return {"mean": float(scores.mean()),
            "ci95": float(1.96 * scores.std(ddof=1) / np.sqrt(scores.size)),
            "std": float(scores.std(ddof=1)), "eval_tasks": int(scores.size)}


def classical_agents(config: _Common, env: Any, episodes: int, tasks: Any,
                     validation: Any) -> dict[str, Any]:
    """The paper's classical agents on the test ``tasks``, each hyper-parameter chosen on the
    ``validation`` instances (the grids of the baselines' `default` preset, `tuning`'s defaults;
    the paper's agents).

    Returns:
      agent → {"mean", "ci95", "std", "eval_tasks", "hparam", "paper", "totals"} (totals: [N]).
    """
    is_bandit = isinstance(env, BernoulliBandit)
    columns = BANDIT_COLUMNS if is_bandit else MDP_COLUMNS
    paper = published_rl2.BANDITS[(episodes, env.num_arms)] if is_bandit else \
        published_rl2.MDPS[episodes]
    out: dict[str, Any] = {}
    if is_bandit:
        test = np.asarray(tasks.probs, np.float64)
        tune = np.asarray(validation.probs, np.float64)
    else:
        test = mdp_arrays(tasks)
        tune = mdp_arrays(validation)
    for agent in config.compare_agents:
        if is_bandit:
            tuned = bandit_agent_scores(agent, test, episodes, config.seed, "paper",
                                        bandit_grid(agent), tune, 2)
        else:
            (tuned,) = mdp_agent_scores(agent, test, (episodes,), config.seed, "paper",
                                        mdp_grid(agent), tune, 2)
        out[agent] = _summary(tuned.totals) | {
            "hparam": tuned.hparam, "paper": paper[columns.index(agent)],
            "totals": tuned.totals}
    return out


# The references of the normalised curves, at fixed settings (REFERENCE.md "How the paper ran its
# baselines"): Gittins as the paper's cells chose (closed-form index up to n = 100, the authors'
# calibration table at n = 500); OPSRL with N = 20 samples, the top of the authors' grid and the
# value their tuning picks.
OPSRL_SAMPLES = 20


def normalisers(env: Any, episodes: int, tasks: Any, seed: int = 0) -> dict[str, Any]:
    """Random and the reference agent (Gittins / OPSRL, paper mode) on the evaluation instances.

    Returns:
      ``{"reference", "hparams", "reference_score", "random_score"}``: the reference agent's
      name and settings and both mean totals per trial.
    """
    from adaptax.baselines.bandits import run_bandit_agent
    from adaptax.baselines.mdp import run_mdp_agent

    if isinstance(env, BernoulliBandit):
        probs = np.asarray(tasks.probs, np.float64)
        hp = {"variant": "approx" if episodes <= 100 else "table"}
        ref = run_bandit_agent("gittins", probs, episodes, seed, "paper", **hp)
        rand = run_bandit_agent("random", probs, episodes, seed, "paper")
        name = "gittins"
    else:
        mu = np.asarray(tasks.reward_mean, np.float64)
        trans = np.asarray(tasks.transition, np.float64)
        hp = {"num_samples": OPSRL_SAMPLES}
        ref = run_mdp_agent("opsrl", mu, trans, episodes, seed, "paper", **hp)
        rand = run_mdp_agent("random", mu, trans, episodes, seed, "paper")
        name = "opsrl"
    return {"reference": name, "hparams": hp, "reference_score": float(np.mean(ref)),
            "random_score": float(np.mean(rand))}


def normalise(values: Any, norm: dict[str, Any]) -> list[float]:
    """(R − R_random) / (R_ref − R_random): reference = 1, random = 0.

    Example:
      >>> normalise([5.0, 7.0], {"reference_score": 7.0, "random_score": 5.0})
      [0.0, 1.0]
    """
    span = norm["reference_score"] - norm["random_score"]
    return ((np.asarray(values, np.float64) - norm["random_score"]) / span).tolist()
