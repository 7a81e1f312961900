"""RL² on Bernoulli bandits and random tabular MDPs: Tables 1 and 2 of Duan et al. (2017).

Two experiments share this driver:

- ``rl2-bandits``: k ∈ {5, 10, 50} arms, n ∈ {10, 100, 500} pulls per trial (``--set k=5``);
- ``rl2-mdps``: 10 states, 5 actions, horizon 10, n ∈ {10, 25, 50, 75, 100} episodes per trial.

Each run meta-trains one GRU agent (`adaptax.rl.rl2`) for a budget of environment steps, then
plays one trial on each of 1000 instances of the test split (`protocol.split_instances`, the
tasks the classical baselines are scored on) and of the validation split (where settings are
chosen), with sampled actions, and reports the mean total reward per trial ± 95% interval. In the
same command the classical agents of the paper's table play the same test instances (the paper's
agents, each hyper-parameter chosen on the validation instances), and RL² is called above or
below an agent only where a one-sided Welch t-test on those instances supports it. The learning
curve is the mean total reward per trial of each training batch against environment steps, raw
and normalised as the paper's Figure 2: (R − R_random) / (R_ref − R_random) with the reference
Gittins (bandits) or OPSRL (MDPs) on the same test instances (`normalisers`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import jax
import numpy as np

from adaptax.envs import BernoulliBandit, TabularMDP
from adaptax.errors import ConfigError
from adaptax.experiments import baselines as classical
from adaptax.experiments import config as cfg
from adaptax.experiments import published_rl2
from adaptax.experiments.config import param
from adaptax.experiments.experiment import Experiment
from adaptax.experiments.protocol import compare, describe_split, split_instances, split_record
from adaptax.experiments.seeds import SEEDS_HELP, combine, seeded, split
from adaptax.experiments.training import progress, train_phase
from adaptax.parallel import AUTO_HOST_DEVICES, auto_devices, data_mesh, on
from adaptax.rl.rl2 import RL2Settings, make_rl2, trial_length
from adaptax.storage.runs import RunDir

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
METHOD_LABELS = {
    "random": "Random", "gittins": "Gittins", "ts": "TS", "ots": "OTS", "ucb1": "UCB1",
    "eps_greedy": "ε-greedy", "greedy": "Greedy", "rl2": "RL²", "psrl": "PSRL",
    "opsrl": "OPSRL", "ucrl2": "UCRL2", "beb": "BEB",
}

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
        classical.BANDIT_COLUMNS, "classical agents played on the same test instances",
        choices=classical.BANDIT_COLUMNS, unique=True)

    def __post_init__(self) -> None:
        cfg.validate(self)
        _check_common(self)


@dataclasses.dataclass(frozen=True)
class MDPsConfig(_Common):
    """``rl2-mdps``: random 10-state, 5-action MDPs, horizon 10, n episodes (RL² §3.2, Table 2)."""

    n: int = param(10, "episodes per trial", choices=(10, 25, 50, 75, 100))
    compare_agents: tuple[str, ...] = param(
        classical.MDP_COLUMNS, "classical agents played on the same test instances",
        choices=classical.MDP_COLUMNS, unique=True)

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


def settings_of(config: _Common, trials: int, iterations: int = 0) -> RL2Settings:
    """The learner's `RL2Settings` for a config (`iterations`: the budget, for `lr_anneal`)."""
    return RL2Settings(
        hidden_size=config.hidden_size, embed_size=config.embed_size, trials_per_batch=trials,
        algorithm=config.algorithm, gamma=config.gamma, lam=config.lam, lr=config.lr,
        epochs=config.epochs, minibatches=config.minibatches, clip_eps=config.clip_eps,
        ent_coef=config.ent_coef, max_kl=config.max_kl, value_steps=config.value_steps,
        value_norm=config.value_norm, time_feature=config.time_feature,
        lr_anneal_iterations=iterations if config.lr_anneal else 0,
        shared_torso=config.shared_torso,
    )


def run(config: _Common, run_dir: RunDir, resume: bool = False) -> dict[str, Any]:
    """Meta-trains RL², evaluates on the fixed instances, writes results.json and report.md."""
    name, env, episodes, setting, paper = _setting(config)
    steps_per_trial = trial_length(env, episodes)
    trials = batch_size(config, steps_per_trial)
    steps_per_iter = trials * steps_per_trial
    iterations = max(1, math.ceil(training_budget(config) / steps_per_iter))
    chunk = min(config.chunk or max(1, math.ceil(iterations / 50)), iterations)
    # whole chunks only: one compiled program (a shorter last chunk would compile a second one)
    iterations = math.ceil(iterations / chunk) * chunk
    learner = make_rl2(env, episodes, settings_of(config, trials, iterations))
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
    evaluate = on(mesh, learner.evaluate)
    t1 = time.perf_counter()
    per_seed, all_scores = [], []
    for p, root in zip(params, roots, strict=True):
        scores = np.asarray(evaluate(p, tasks, jax.random.fold_in(root, 1)))
        val_scores = np.asarray(evaluate(p, validation, jax.random.fold_in(root, 2)))
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
    report(run_dir)
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
    ``validation`` instances (grids of the baselines' `default` preset, the paper's agents).

    Returns:
      agent → {"mean", "ci95", "std", "eval_tasks", "hparam", "paper", "totals"} (totals: [N]).
    """
    is_bandit = isinstance(env, BernoulliBandit)
    columns = classical.BANDIT_COLUMNS if is_bandit else classical.MDP_COLUMNS
    paper = published_rl2.BANDITS[(episodes, env.num_arms)] if is_bandit else \
        published_rl2.MDPS[episodes]
    out: dict[str, Any] = {}
    if is_bandit:
        grids = classical.BanditBaselinesConfig(**classical.BANDIT_PRESETS["default"])
        test = np.asarray(tasks.probs, np.float64)
        tune = np.asarray(validation.probs, np.float64)
    else:
        grids = classical.MDPBaselinesConfig(**classical.MDP_PRESETS["default"])
        test = classical.mdp_arrays(tasks)
        tune = classical.mdp_arrays(validation)
    for agent in config.compare_agents:
        if is_bandit:
            tuned = classical.bandit_agent_scores(agent, test, episodes, config.seed, "paper",
                                                  classical.bandit_grid(agent, grids), tune, 2)
        else:
            (tuned,) = classical.mdp_agent_scores(agent, test, (episodes,), config.seed, "paper",
                                                  classical.mdp_grid(agent, grids), tune, 2)
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
    """(R − R_random) / (R_ref − R_random): reference = 1, random = 0."""
    span = norm["reference_score"] - norm["random_score"]
    return ((np.asarray(values, np.float64) - norm["random_score"]) / span).tolist()


def _fmt_setting(setting: dict[str, int]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in setting.items())


def _normalised_text(results: dict[str, Any]) -> str:
    norm = results.get("normalised")
    if not norm:
        return "The learning curve shows the raw mean total reward per training trial."
    ref = METHOD_LABELS[norm["reference"]]
    hp = ", ".join(f"{k} = {v}" for k, v in norm["hparams"].items())
    return (f"Normalised score (paper's Figure 2: {ref} = 1, random = 0, both run by adaptax's "
            f"baselines in paper mode on the same instances; {ref}: {hp}): RL² "
            f"{norm['rl2']:.3f} at evaluation ({ref} {norm['reference_score']:.2f}, random "
            f"{norm['random_score']:.2f}). The learning curves show each training batch's mean "
            "total reward per trial (sampled actions), raw and normalised.")


def comparison_table(results: dict[str, Any], preset: str = "") -> str:
    """RL² and the classical agents on the same test instances, beside the paper's column."""
    from adaptax.report import table

    r, p = results["rl2"], results["paper"]
    label = f"RL² (`{preset}`)" if preset else "RL²"
    if "seeds" in results:
        label += f", {len(results['seeds'])} seeds"
    rows = [[label, f"{r['mean']:.2f} ± {r['ci95']:.2f}", p["rl2"], "", ""]]
    comps = results.get("comparisons", {})
    for agent, cell in results.get("classical", {}).items():
        comp = comps[agent]
        hp = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}"
                       for k, v in cell["hparam"].items())
        name = classical.BANDIT_LABELS.get(agent, classical.MDP_LABELS.get(agent, agent))
        p_value = comp["p_above"] if comp["verdict"] != "below" else comp["p_below"]
        rows.append([name + (f" ({hp})" if hp else ""), f"{cell['mean']:.2f} ± {cell['ci95']:.2f}",
                     cell["paper"], f"{comp['diff']:+.2f}",
                     f"{comp['verdict']} (p = {p_value:.2g})"])
    return table(["method", "ours, same test instances", "paper", "RL² − method",
                  "RL² is (one-sided Welch)"], rows)


def claims_text(results: dict[str, Any]) -> str:
    """One sentence per verdict: which agents RL² is above, level with and below."""
    comps = results.get("comparisons", {})
    if not comps:
        return ""
    labels = {**classical.BANDIT_LABELS, **classical.MDP_LABELS}
    parts = []
    for verdict, words in (("above", "above"), ("level", "not separated from"),
                           ("below", "below")):
        names = [labels.get(a, a) for a, c in comps.items() if c["verdict"] == verdict]
        if names:
            parts.append(f"{words} {', '.join(names)}")
    return ("On these instances RL² is " + "; ".join(parts) + " (one-sided Welch t-tests, "
            "p < 0.05).")


def report(run_dir: RunDir) -> str:
    """Writes ``report.md`` and the learning-curve figure from ``results.json``."""
    from adaptax import plots_rl2
    from adaptax.reporting import provenance_text

    results = run_dir.read_results()
    run_config = run_dir.read_config()
    run_dir.figures_dir.mkdir(exist_ok=True)
    figures = plots_rl2.learning_curve(results, run_dir.figures_dir)
    r, p, t, c = results["rl2"], results["paper"], results["train"], results["config"]
    splits = results.get("splits", {})
    test, val = splits.get("test"), splits.get("validation")
    where = describe_split("test", test["num"]) if test else f"{r['eval_tasks']} instances"
    figs = "\n".join(f"![{f}](figures/{f})" for f in figures)
    command = EXPERIMENTS[results["experiment"]].command_of(
        run_config, always=tuple(results["setting"]))
    validation = results.get("validation")
    val_text = (f"RL² on the {describe_split('validation', val['num'])} (where settings are "
                f"chosen): {validation['mean']:.2f} ± {validation['ci95']:.2f}."
                if validation and val else "")
    text = f"""# RL² — {results['experiment']}, {_fmt_setting(results['setting'])}

Command: `{command}` (backend: {run_config.get('backend', '?')})

GRU {c['hidden_size']} (embedding {c['embed_size']}), separate GRU value baseline,
{t['algorithm'].upper()}, GAE γ = {c['gamma']}, λ = {c['lam']} over the whole trial.
Evaluation: one trial on each of {r['eval_tasks']} instances ({where}), {r['actions']}
actions; total reward per trial, mean ± 95% interval. The classical agents play the same
instances (the paper's agents; each hyper-parameter chosen on the validation instances).

## Results
{_comparable(t)}
{comparison_table(results, run_config.get('preset', ''))}

{claims_text(results)}
{val_text}
{_seeds_text(results)}

Paper: {p['source']}; its columns come from its own draw of instances.

## Training

- {t['iterations']} iterations × {t['trials_per_iteration']} trials × {t['steps_per_trial']} steps
  = {t['env_steps']:,} environment steps{_stopped_text(t, c)}{_devices_text(t)}
- {t['env_steps_per_second']:,.0f} trained steps/s (median over chunks, compile excluded);
  {t.get('train_seconds', t.get('seconds_this_process', 0)):.0f} s of training, evaluation \
{t['eval_seconds']} s

{_normalised_text(results)}

## Figures

{figs}

## Provenance

{provenance_text(results)}
"""
    run_dir.write_report(text)
    return text


def _seeds_text(results: dict[str, Any]) -> str:
    """A multi-seed run: what its interval and its comparisons mean, and every seed's score."""
    if "seeds" not in results:
        return ""
    r = results["rl2"]
    each = ", ".join(f"seed {seed}: {mean:.2f}"
                     for seed, mean in zip(results["seeds"], r["seed_means"], strict=True))
    return (f"RL²'s ± is a 95% t-interval across the {len(results['seeds'])} seeds' means "
            f"({each}); the Welch tests compare each instance's total averaged over the seeds.")


def _comparable(train: dict[str, Any]) -> str:
    """A warning for a smoke-size run, whose numbers are not comparable with the paper's."""
    if train["env_steps"] >= 1_000_000:
        return ""
    return (f"\n**Not comparable with the paper's numbers:** {train['env_steps']:,} environment "
            "steps of training (a smoke-size run).\n")


def _devices_text(train: dict[str, Any]) -> str:
    """The report's line on data-parallel training, when there was more than one device."""
    devices = train.get("devices", 1)
    return f"\n- data-parallel over {devices} devices" if devices > 1 else ""


def _stopped_text(train: dict[str, Any], config: dict[str, Any]) -> str:
    """The report's note when `time_limit` ended training before the budget."""
    budget = train.get("budget_iterations", train["iterations"])
    if train["iterations"] >= budget:
        return ""
    return (f"\n- **stopped by time_limit = {config['time_limit']:g} s after {train['iterations']} "
            f"of the budget's {budget} iterations**")


BANDITS = Experiment(
    name="rl2-bandits",
    description="RL² on Bernoulli bandits, k in {5,10,50}, n in {10,100,500} (Duan et al. Table 1)",
    config_cls=BanditsConfig,
    presets=BANDIT_PRESETS,
    run=run,
    report=report,
    eval_keys=EVAL_KEYS,
)
MDPS = Experiment(
    name="rl2-mdps",
    description="RL² on random tabular MDPs, n in {10,25,50,75,100} episodes (Duan et al. Table 2)",
    config_cls=MDPsConfig,
    presets=MDP_PRESETS,
    run=run,
    report=report,
    eval_keys=EVAL_KEYS,
)
EXPERIMENTS = {BANDITS.name: BANDITS, MDPS.name: MDPS}
