"""MAML-RL on 2D navigation: Figure 4 (left) and App. C Table 4 of Finn et al. (2017).

Trains MAML (REINFORCE inner step, TRPO outer step), a pretrained policy (multi-task TRPO on all
tasks, no inner step) and an oracle (TRPO with the goal in the observation); a randomly initialised
policy is the fourth row. Evaluation as the authors' code, on more goals: returns after 0, 1, 2, 3
policy-gradient steps with 40 trajectories per step (α, then α/2 for later steps), mean ± standard
error over 400 goals of the test split (`protocol.split_instances`; the paper used 40, too few to
tell −3.3 from −4). Fine-tuning step sizes are chosen on goals of the validation split. Step 0 is
the PRE-adaptation return.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from adaptax.envs.navigation2d import Navigation2D
from adaptax.errors import ConfigError
from adaptax.experiments import config as cfg
from adaptax.experiments.config import param
from adaptax.experiments.experiment import Experiment
from adaptax.experiments.protocol import compare, describe_split, split_instances, split_record
from adaptax.experiments.seeds import SEEDS_HELP, combine, seeded, split
from adaptax.experiments.training import progress, train_phase
from adaptax.nets.gaussian_mlp import GaussianMLP
from adaptax.parallel import AUTO_HOST_DEVICES, auto_devices, data_mesh, on
from adaptax.reporting import provenance_text
from adaptax.rl import maml_rl as mr
from adaptax.rl.losses import gaussian_kl, masked_mean
from adaptax.storage.runs import RunDir

NAME = "maml-rl-nav2d"
METHODS = ("maml", "pretrained", "random", "oracle")
LABELS = {"maml": "MAML", "pretrained": "pretrained", "random": "random init",
          "oracle": "oracle"}

# Published numbers (REFERENCE.md "MAML — reinforcement learning"; App. C Table 4).
PAPER = {
    "source": "Finn et al. 2017, App. C Table 4 (2D navigation, 40 test goals)",
    "steps": [0, 1, 2, 3],
    "maml": [-40.4, -11.7, -3.3, -3.2],
    "pretrained": [-40.8, -19.7, -11.7, -8.5],
    "random": [-82.7, -58.0, -53.8, -46.8],
    "oracle": [-2.3],
}

# config keys that change only the evaluation (`adaptax resume RUN --set KEY=VALUE`)
EVAL_KEYS = ("eval_tasks", "eval_trajs", "eval_steps", "validation_tasks", "finetune_lrs",
             "figure_goals")


@dataclasses.dataclass(frozen=True)
class Nav2DConfig:
    """Settings of the 2D-navigation experiment; the defaults are the ``default`` preset."""

    seed: int = param(0, "PRNG seed for initialisation, training tasks and sampling", min=0)
    seeds: int = param(1, SEEDS_HELP, min=1)
    iterations: int = param(40, "MAML meta-iterations (paper: up to 500)", min=1)
    baseline_iterations: int = param(
        40, "TRPO iterations of the pretrained and oracle policies (paper: as MAML)", min=1)
    meta_batch: int = param(20, "tasks per meta-iteration (paper: 20)", min=1)
    num_trajs: int = param(20, "trajectories per task per step in training (paper: 20)", min=2)
    horizon: int = param(100, "steps per trajectory (paper: 100)", min=1)
    inner_lr: float = param(0.1, "inner step size alpha (paper: 0.1; authors' code: 0.5)",
                            min=0, min_exclusive=True)
    train_inner_steps: int = param(
        1, "inner steps meta-trained through (paper: 1; lvc-3step: 3, every test step)",
        min=1, max=3)
    meta_objective: str = param(
        "last", "what meta-training scores: last (the return after the last trained inner step, "
        "the paper) or all (the mean of the returns after each of them)", choices=("last", "all"))
    inner_estimator: str = param(
        "reinforce", "inner loss the meta-gradient differentiates through: reinforce (the paper) "
        "or lvc (ProMP's low-variance curvature: same inner step, adds the score term to its "
        "Hessian)", choices=("reinforce", "lvc"))
    later_lr_factor: float = param(0.5, "step size of inner steps after the first, times alpha "
                                   "(authors' test code: 0.5)", min=0, min_exclusive=True)
    hidden: tuple[int, ...] = param((100, 100), "policy hidden widths (paper: 100, 100)", min=1)
    policy_init: str = param(
        "glorot_uniform", "policy weight initialisation: glorot_uniform (the authors' code) or "
        "lecun_normal (Flax's default)",
        choices=("glorot_uniform", "lecun_normal"))
    max_kl: float = param(0.01, "TRPO trust region: mean KL (paper: 0.01)", min=0,
                          min_exclusive=True)
    cg_iters: int = param(10, "conjugate-gradient iterations (rllab: 10)", min=1)
    damping: float = param(0.1, "Fisher damping (rllab: 1e-5)", min=0)
    fvp_subsample: float = param(
        0.25, "fraction of each task's trajectories in the Fisher-vector products (rllab's "
        "subsample_factor; 1 = all, the paper's code; 0.25 is ~3.5x faster)", min=0,
        min_exclusive=True, max=1)
    fvp_subsample_by: str = param(
        "trajectory", "how the Fisher subsample is drawn: trajectory (the first trajectories of "
        "each task, rllab) or time (every round(1/fvp_subsample)-th step of all of them)",
        choices=("trajectory", "time"))
    measured_step: bool = param(
        False, "TRPO step length from the true KL along the CG direction (one extra KL "
        "evaluation) instead of the subsampled Fisher's model, which overestimates the KL "
        "through several inner steps")
    hvp: str = param("gauss_newton", "Fisher-vector products: gauss_newton (exact at the old "
                     "policy, fastest), exact (third-order autodiff) or finite_difference "
                     "(the paper's code)", choices=("gauss_newton", "exact", "finite_difference"))
    methods: tuple[str, ...] = param(METHODS, "methods to train and evaluate", choices=METHODS,
                                     unique=True)
    eval_tasks: int = param(400, "test goals, from the test split (paper: 40)", min=2)
    eval_trajs: int = param(40, "trajectories per adaptation step at test (paper: 40)", min=2)
    eval_steps: int = param(3, "policy-gradient steps at test (paper: 3)", min=1, max=10)
    finetune_lrs: tuple[float, ...] = param(
        (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
        "grid of first fine-tuning step sizes for pretrained and random init (later steps "
        "times later_lr_factor), chosen on held-out goals", min=0,
        min_exclusive=True)
    validation_tasks: int = param(40, "goals of the validation split on which the fine-tuning "
                                  "step size is chosen", min=2)
    figure_goals: int = param(3, "goals drawn in the trajectory figure", min=1, max=8)
    chunk: int = param(10, "iterations per compiled dispatch, checkpoint and log line", min=1)
    devices: int = param(
        0, "data-parallel devices in training: each samples meta_batch/devices tasks, with the "
        "same numbers as one device; `adaptax run` splits a CPU into that many host devices; "
        f"0 = auto: {AUTO_HOST_DEVICES} per process on a CPU, every accelerator otherwise, the "
        "most that divide meta_batch (`devices_of`)",
        min=0)

    def __post_init__(self) -> None:
        cfg.validate(self)
        if "maml" not in self.methods:
            raise ConfigError("methods must include 'maml'")
        if self.devices and self.meta_batch % self.devices:
            raise ConfigError(f"meta_batch ({self.meta_batch}) must be a multiple of devices "
                              f"({self.devices})")

    @property
    def host_devices(self) -> int:
        """Host devices `adaptax run` asks XLA for on a CPU before JAX starts."""
        return self.devices or AUTO_HOST_DEVICES


def devices_of(config: Nav2DConfig) -> int:
    """The devices training runs on: `devices`, or for 0 (auto) `parallel.auto_devices` that
    divide the meta-batch. The numbers do not depend on it."""
    if config.devices:
        return config.devices
    return auto_devices(lambda count: config.meta_batch % count == 0)


# The paper's method and budget (REFERENCE.md "MAML — reinforcement learning"): one trained inner
# REINFORCE step at α = 0.1, meta-batch 20 × 20 trajectories, TRPO δ = 0.01 with rllab's damping
# 1e-5 and Fisher products on all the data, 500 iterations.
_PAPER = {"iterations": 500, "baseline_iterations": 500, "chunk": 25, "damping": 1e-5,
          "fvp_subsample": 1.0}
PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"iterations": 2, "baseline_iterations": 2, "meta_batch": 2, "num_trajs": 4,
              "horizon": 20, "hidden": (16, 16), "cg_iters": 3, "eval_tasks": 4,
              "eval_trajs": 4, "figure_goals": 2, "chunk": 1, "finetune_lrs": (0.1, 0.5),
              "validation_tasks": 4},
    # a few CPU minutes: 60 iterations of each phase, 10 trajectories per task
    "default": {"iterations": 60, "baseline_iterations": 60, "num_trajs": 10},
    "paper": _PAPER,
    # The authors' released navigation script and test script (cbfinn/maml_rl
    # maml_examples/maml_trpo_point.py, test_maml_point.py): fast learning rate 0.5, 100
    # iterations, every method fine-tuned at 0.5 then 0.25 with 40 trajectories per step.
    "paper-code": {**_PAPER, "iterations": 100, "baseline_iterations": 100, "chunk": 10,
                   "inner_lr": 0.5, "finetune_lrs": (0.5,)},
    # Ours, beyond the paper: meta-trained through all three test steps on the mean of their
    # returns, ProMP's LVC inner loss, Fisher products on every 4th time step (damping 0.1).
    "lvc-3step": {"iterations": 500, "baseline_iterations": 500, "chunk": 25,
                  "train_inner_steps": 3, "meta_objective": "all", "fvp_subsample_by": "time",
                  "inner_estimator": "lvc"},
}


# The trajectory figure's goals: validation-split seeds from this offset on (not the test goals).
FIGURE_OFFSET = 10_000


def _keys(seed: int) -> dict[str, Any]:
    root = jax.random.PRNGKey(seed)
    return {
        "init": jax.random.fold_in(root, 0),
        "oracle_init": jax.random.fold_in(root, 1),
        "train": {m: jax.random.fold_in(root, 100 + i) for i, m in enumerate(METHODS)},
        "eval": jax.random.fold_in(root, 1000),
        "select": jax.random.fold_in(root, 2000),
        "figure": jax.random.fold_in(root, 3000),
    }


@functools.lru_cache(maxsize=32)
def _algo(config: Nav2DConfig, oracle: bool, inner_steps: int, lr: float) -> mr.MAMLRL:
    net = GaussianMLP(hidden=config.hidden, action_dim=2, kernel_init=config.policy_init)
    return mr.MAMLRL(
        Navigation2D(oracle=oracle, horizon=config.horizon), net.apply,
        meta_batch=config.meta_batch, num_trajs=config.num_trajs, horizon=config.horizon,
        inner_lr=lr, inner_steps=inner_steps, later_lr_factor=config.later_lr_factor,
        meta_objective=config.meta_objective, inner_estimator=config.inner_estimator,
        max_kl=config.max_kl, cg_iters=config.cg_iters, damping=config.damping, hvp=config.hvp,
        fvp_subsample=config.fvp_subsample if config.hvp == "gauss_newton" else 1.0,
        fvp_subsample_by=config.fvp_subsample_by,
        measured_step=config.measured_step and config.hvp == "gauss_newton",
    )


def run(config: Nav2DConfig, run_dir: RunDir, resume: bool = False) -> dict[str, Any]:
    """Trains every method, evaluates, writes ``results.json``, ``report.md`` and figures.

    With ``seeds`` = N > 1, seeds ``seed … seed + N − 1`` train together in one compiled run
    per method (`seeds.batched`), each is evaluated as a single-seed run would be, and the
    results hold their mean ± 95% interval across seeds (`seeds.combine`); MAML is compared
    with the baselines on each goal's return averaged over the seeds.
    """
    seeds = [config.seed + i for i in range(config.seeds)]
    keys = [_keys(seed) for seed in seeds]
    net = GaussianMLP(hidden=config.hidden, action_dim=2, kernel_init=config.policy_init)
    inits = [{"x": net.init(k["init"], jnp.zeros((2,))),
              "oracle": net.init(k["oracle_init"], jnp.zeros((4,)))} for k in keys]
    mesh = data_mesh(devices_of(config))
    phases = {
        "maml": (_algo(config, False, config.train_inner_steps, config.inner_lr),
                 config.iterations, "x"),
        "pretrained": (_algo(config, False, 0, config.inner_lr), config.baseline_iterations, "x"),
        "oracle": (_algo(config, True, 0, config.inner_lr), config.baseline_iterations,
                   "oracle"),
    }
    trained: list[dict[str, Any]] = [{} for _ in seeds]
    train_info: dict[str, Any] = {}
    for method in config.methods:
        if method == "random":
            for one, init in zip(trained, inits, strict=True):
                one[method] = init["x"]
            continue
        algo, iterations, start = phases[method]
        run_fn, state = seeded(mr.make_runner(algo), [
            mr.MetaState(init[start], k["train"][method], jnp.zeros((), jnp.int32))
            for init, k in zip(inits, keys, strict=True)])
        result = train_phase(
            run_dir, experiment=NAME, phase=method, run_fn=on(mesh, run_fn), state=state,
            iterations=iterations, chunk=config.chunk, resume=resume,
            config_hash=cfg.training_hash(config, EVAL_KEYS),
            hint="lower --set inner_lr or --set max_kl",
        )
        for one, p in zip(trained, split(result.state.params, len(seeds)), strict=True):
            one[method] = p
        train_info[method] = {
            "iterations": result.iterations,
            "final_loss": result.final_loss,
            "train_seconds": round(result.seconds, 3),
            "iterations_per_second": round(result.iters_per_second, 4),
            "devices": mesh.size,
        }
    per_seed = [evaluate(config, one, k) for one, k in zip(trained, keys, strict=True)]
    results = combine(per_seed, seeds)
    if len(seeds) > 1:  # MAML against the baselines on each goal's seed-averaged return
        results["comparisons"] = _comparisons(results["methods"])
    results.update(experiment=NAME, seed=config.seed, train=train_info, paper=PAPER,
                   training_curves=_curves(run_dir), config=cfg.to_dict(config))
    run_dir.write_results(results)
    report(run_dir)
    return results


def _curves(run_dir: RunDir) -> dict[str, Any]:
    """Per-chunk training diagnostics from metrics.jsonl (pre/post returns, σ, inner KL)."""
    out: dict[str, Any] = {}
    for r in run_dir.read_metrics():
        c = out.setdefault(r["phase"], {k: [] for k in
                                        ("step", "pre_return", "post_return", "std", "inner_kl")})
        for k in c:
            c[k].append(r.get(k))
    return out


def evaluate(config: Nav2DConfig, trained: dict[str, Any], keys: dict[str, Any]
             ) -> dict[str, Any]:
    """Returns after 0…eval_steps steps on the test goals, mean ± standard error."""
    steps = config.eval_steps
    env = Navigation2D(horizon=config.horizon)
    tasks = split_instances(env, "test", config.eval_tasks)
    task_keys = jax.random.split(keys["eval"], config.eval_tasks)

    def curves(algo: mr.MAMLRL, params: Any, n_steps: int, task_batch: Any,
               lr: float = 0.0) -> np.ndarray:
        sizes = jnp.asarray(algo.step_sizes(n_steps), jnp.float32) * (lr / algo.inner_lr)
        fn = _curve_fn(algo, n_steps, config.eval_trajs)  # step sizes traced: one compile
        return np.asarray(fn(params, task_batch, task_keys, sizes))

    def summary(curve: np.ndarray) -> dict[str, list[float]]:
        n = curve.shape[0]
        return {"mean": curve.mean(0).tolist(),
                "se": (curve.std(0, ddof=1) / np.sqrt(n)).tolist(),
                "per_task": curve.tolist()}

    methods: dict[str, Any] = {}
    diagnostics: dict[str, Any] = {}
    if {"pretrained", "random"} & set(trained):
        progress(f"choosing fine-tuning step sizes on {config.validation_tasks} validation goals")
    selection = {m: choose_finetune_lr(config, trained[m], keys["select"])
                 for m in ("pretrained", "random") if m in trained}
    lrs = {m: selection[m]["chosen"] if m in selection else config.inner_lr for m in trained}
    for method, params in trained.items():
        progress(f"evaluating {LABELS[method]} on {config.eval_tasks} test goals")
        if method == "oracle":
            algo = _algo(config, True, 0, config.inner_lr)
            methods[method] = summary(curves(algo, params, 0, tasks))
            continue
        methods[method] = summary(curves(_algo(config, False, 1, config.inner_lr), params, steps,
                                         tasks, lrs[method]))
        algo = _algo(config, False, 1, lrs[method])
        diagnostics[method] = _step_diagnostics(algo, params, tasks, task_keys, steps,
                                                config.eval_trajs)
    return {
        "schema": "adaptax.maml-rl-nav2d.results/1",
        "metric": "undiscounted return per trajectory (horizon steps) after j policy-gradient "
                  "steps; j = 0 is BEFORE adaptation; mean and standard error over test goals",
        "eval_tasks": config.eval_tasks,
        "eval_trajs": config.eval_trajs,
        "splits": {"test": split_record("test", config.eval_tasks),
                   "validation": split_record("validation", config.validation_tasks),
                   "figure": split_record("validation", config.figure_goals, FIGURE_OFFSET)},
        "steps": list(range(steps + 1)),
        "step_sizes": {m: list(_algo(config, False, 1, lrs[m]).step_sizes(steps))
                       for m in trained if m != "oracle"},
        "finetune_lr_selection": selection,
        "methods": methods,
        "comparisons": _comparisons(methods),
        "adaptation_diagnostics": diagnostics,
        "trajectories": _trajectories(config, trained, lrs, keys["figure"]),
    }


def _comparisons(methods: dict[str, Any]) -> dict[str, Any]:
    """MAML against each other adapted method on the same test goals, after every step ≥ 1:
    one-sided Welch tests (`protocol.compare`)."""
    if "maml" not in methods:
        return {}
    maml_curve = np.asarray(methods["maml"]["per_task"])
    out: dict[str, Any] = {}
    for other in ("pretrained", "random"):
        if other not in methods:
            continue
        curve = np.asarray(methods[other]["per_task"])
        out[other] = [compare(maml_curve[:, j], {other: curve[:, j]})[other]
                      for j in range(1, maml_curve.shape[1])]
    return out


def choose_finetune_lr(config: Nav2DConfig, params: Any, key: Any) -> dict[str, Any]:
    """The fine-tuning step size α of a non-meta-learned policy, chosen on held-out goals.

        α* = argmax_{α ∈ finetune_lrs} mean_{goals, j = 1…eval_steps} R_j(α),

    R_j the return after j steps (α, then later_lr_factor·α), on `validation_tasks` goals of the
    validation split (disjoint from the test goals), with `eval_trajs` trajectories per step;
    the same idea as `adaptax.meta.pretrain.choose_finetune_lr`. The paper does not say how it
    chose its baselines' step sizes; a fixed α under-serves them.

    Returns:
      ``{"grid", "scores", "chosen"}`` (scores: mean post-adaptation return per α).
    """
    env = Navigation2D(horizon=config.horizon)
    goals = split_instances(env, "validation", config.validation_tasks)
    keys = jax.random.split(key, config.validation_tasks)
    algo = _algo(config, False, 1, config.inner_lr)
    curve_fn = _curve_fn(algo, config.eval_steps, config.eval_trajs)  # shared with `evaluate`
    unit = jnp.asarray(algo.step_sizes(config.eval_steps), jnp.float32) / config.inner_lr
    scores = np.asarray([np.mean(np.asarray(curve_fn(params, goals, keys, lr * unit))[:, 1:])
                         for lr in config.finetune_lrs])
    scores = np.where(np.isfinite(scores), scores, -np.inf)
    return {"grid": list(config.finetune_lrs), "scores": scores.tolist(),
            "chosen": float(config.finetune_lrs[int(np.argmax(scores))])}


@functools.lru_cache(maxsize=32)
def _curve_fn(algo: mr.MAMLRL, n_steps: int, num_trajs: int):
    """Returns after 0…n_steps steps, vmapped over tasks; the step sizes are a traced input."""
    return jax.jit(jax.vmap(lambda p, t, k, sizes: mr.adaptation_returns(
        algo, p, t, k, n_steps, num_trajs, tuple(sizes[j] for j in range(n_steps))),
        (None, 0, 0, None)))


def _step_diagnostics(algo, params, tasks, task_keys, steps, num_trajs) -> dict[str, Any]:
    """Per step j: the policy σ, the KL step j moves the policy, the inner-gradient norm, and the
    advantage scale s_j of its batch (the std that rllab divides by)."""
    d = np.asarray(_diagnostics_fn(algo, steps, num_trajs)(params, tasks, task_keys)).mean(0)
    return {"std": d[:, 0].tolist(), "step_kl": d[:, 1].tolist(), "grad_norm": d[:, 2].tolist(),
            "adv_std": d[:, 3].tolist()}


@functools.lru_cache(maxsize=32)
def _diagnostics_fn(algo: mr.MAMLRL, steps: int, num_trajs: int):
    def one(params, task, key):
        lrs = algo.step_sizes(steps)
        batches, chain = mr.sample_and_adapt(algo, params, task, key, lrs, num_trajs)
        out = []
        for j in range(steps):
            p, new, batch = chain[j], chain[j + 1], batches[j]
            grad = jax.grad(mr.inner_loss, argnums=1)(algo.apply_fn, p, batch)
            _, log_std = algo.apply_fn(p, batch.obs[0, 0])
            m0, s0 = algo.apply_fn(p, batch.obs)
            m1, s1 = algo.apply_fn(new, batch.obs)
            kl = masked_mean(gaussian_kl(m0, s0, m1, s1), batch.mask)
            gnorm = jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree_util.tree_leaves(grad)))
            out.append(jnp.stack([jnp.mean(jnp.exp(log_std)), kl, gnorm, batch.adv_scale[0]]))
        return jnp.stack(out)

    return jax.jit(jax.vmap(one, (None, 0, 0)))


def _trajectories(config: Nav2DConfig, trained: dict[str, Any], lrs: dict[str, float],
                  key) -> dict[str, Any]:
    """Positions of one sampled trajectory per goal before and after 1…eval_steps steps."""
    env = Navigation2D(horizon=config.horizon)
    goals = split_instances(env, "validation", config.figure_goals, FIGURE_OFFSET)
    out: dict[str, Any] = {"goals": np.asarray(goals.goal).tolist()}
    for method in ("maml", "pretrained"):
        if method not in trained:
            continue
        algo = _algo(config, False, 1, lrs[method])
        sizes = algo.step_sizes(config.eval_steps)

        def one(params, task, k, algo=algo, sizes=sizes):
            batches, _ = mr.sample_and_adapt(algo, params, task, k, sizes, config.num_trajs)
            return jnp.stack([b.obs[0] for b in batches])

        paths = jax.jit(jax.vmap(one, (None, 0, 0)))(trained[method], goals,
                                                      jax.random.split(key, config.figure_goals))
        out[method] = np.asarray(paths).tolist()  # [goal, step, T, 2]
    return out


def results_table(results: dict[str, Any], preset: str = "") -> str:
    """Markdown table: ours (mean ± SE) beside the paper, pre- and post-adaptation labelled."""
    steps = results["steps"]
    ours_label = f"ours (`{preset}`)" if preset else "ours"
    head = ["method", "source", "pre-adaptation (0 steps)"] + [
        f"after {j} step{'s' if j > 1 else ''}" for j in steps[1:]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method in METHODS:
        if method not in results["methods"]:
            continue
        r = results["methods"][method]
        ours = [f"{m:.1f} ± {s:.1f}" for m, s in zip(r["mean"], r["se"], strict=True)]
        paper = [f"{v:.1f}" for v in PAPER[method]]
        if method == "oracle":
            ours += ["—"] * (len(steps) - 1)
            paper += ["—"] * (len(steps) - 1)
        lines.append(f"| {LABELS[method]} | {ours_label} | " + " | ".join(ours) + " |")
        lines.append(f"| {LABELS[method]} | paper | " + " | ".join(paper[:len(steps)]) + " |")
    return "\n".join(lines)


def report(run_dir: RunDir) -> str:
    """Writes ``report.md`` and the figures from ``results.json``; returns the markdown."""
    from adaptax import plots_maml_rl

    results = run_dir.read_results()
    run_config = run_dir.read_config()
    run_dir.figures_dir.mkdir(exist_ok=True)
    figures = plots_maml_rl.nav2d_figures(results, run_dir.figures_dir)
    c = results["config"]
    train = "\n".join(
        f"- {LABELS.get(m, m)}: {t['iterations']} iterations, "
        f"{t['iterations_per_second']:.3g} it/s, {t['train_seconds']:.0f} s"
        + (f", data-parallel over {t['devices']} devices" if t.get("devices", 1) > 1 else "")
        for m, t in results["train"].items())
    diag = "\n".join(
        f"- {LABELS[m]}: σ per step {_fmt(d['std'])}; KL moved per step {_fmt(d['step_kl'], 4)}; "
        f"inner-gradient norm {_fmt(d['grad_norm'])}"
        + (f"; advantage std of each step's batch {_fmt(d['adv_std'])}" if "adv_std" in d else "")
        for m, d in results.get("adaptation_diagnostics", {}).items())
    figs = "\n".join(f"![{f}](figures/{f})" for f in figures)
    preset = run_config.get("preset", "")
    splits = results.get("splits", {})
    test = splits.get("test")
    where = (describe_split("test", test["num"]) if test else f"{results['eval_tasks']} goals")
    text = f"""# MAML-RL — 2D navigation

Command: `{EXPERIMENT.command_of(run_config)}`
{_comparable_note(c)}
Policy Gaussian MLP 2-{'-'.join(map(str, c['hidden']))}-2 ReLU, state-independent log σ.
Training: meta-batch {c['meta_batch']} tasks × {c['num_trajs']} trajectories × horizon
{c['horizon']}; inner {c['inner_estimator'].upper()} step α = {c['inner_lr']},
{c['train_inner_steps']} inner step(s) trained through (objective: {c['meta_objective']});
TRPO δ = {c['max_kl']}, damping {c['damping']:g}, {c['cg_iters']} CG iterations, {c['hvp']}
Fisher-vector products on {c['fvp_subsample']:g} of the data (by {c['fvp_subsample_by']});
{c['iterations']} MAML / {c['baseline_iterations']} baseline iterations.
Evaluation: {results['eval_tasks']} test goals ({where}), {results['eval_trajs']} trajectories
per step, step sizes: {_step_sizes(results)}. Returns are per trajectory, {_spread(results)}.
"Pre-adaptation" is the return of the meta-trained policy itself, before any gradient
step; "after j steps" is the return after j policy-gradient steps on the new goal.

## Results

{results_table(results, preset)}

{_comparison_text(results)}

## Training

{train}

Adaptation diagnostics (test goals, mean over goals):
{diag}

## Figures

{figs}

## Provenance

{provenance_text(results)}
"""
    run_dir.write_report(text)
    return text


def _spread(results: dict[str, Any]) -> str:
    """What a result's ± means: over the test goals, or across the seeds of a multi-seed run."""
    if "seeds" not in results:
        return "mean ± standard error over goals"
    seeds = results["seeds"]
    each = "; ".join(
        f"seed {seed}: " + " / ".join(f"{v:.1f}" for v in means)
        for seed, means in zip(seeds, results["methods"]["maml"]["seed_means"], strict=True))
    return (f"mean ± standard error across {len(seeds)} seeds (each seed's mean over goals; "
            f"MAML after 0…{len(results['steps']) - 1} steps, {each}); the Welch tests compare "
            "each goal's return averaged over the seeds")


def _comparable_note(config: dict[str, Any]) -> str:
    """A warning when the run's sizes make its numbers incomparable with the paper's."""
    if config["horizon"] == 100:
        return ""
    return (f"\n**Not comparable with the paper's numbers:** horizon {config['horizon']} (the "
            "paper's is 100), so returns are on another scale.\n")


def _comparison_text(results: dict[str, Any]) -> str:
    """MAML against pretrained and random init on the same goals, step by step."""
    comps = results.get("comparisons") or {}
    if not comps:
        return ""
    lines = ["Same test goals, one-sided Welch t-tests (p < 0.05): MAML minus the other method "
             "after each step."]
    for other, per_step in comps.items():
        cells = [f"step {j}: {c['diff']:+.1f} ({c['verdict']}, p = "
                 f"{min(c['p_above'], c['p_below']):.2g})" for j, c in enumerate(per_step, 1)]
        lines.append(f"- vs {LABELS[other]}: " + "; ".join(cells))
    return "\n".join(lines)


def _step_sizes(results: dict[str, Any]) -> str:
    """The step sizes of each method, and how the fine-tuning ones were chosen."""
    out = []
    for m, sizes in results["step_sizes"].items():
        text = f"{LABELS.get(m, m)} {_fmt(sizes)}"
        sel = results.get("finetune_lr_selection", {}).get(m)
        if sel:
            text += (f" (α = {sel['chosen']:g} chosen on the validation goals from "
                     f"{_fmt(sel['grid'])}, mean post-adaptation returns {_fmt(sel['scores'])})")
        out.append(text)
    return "; ".join(out)


def _fmt(values: list[float], digits: int = 3) -> str:
    return "[" + ", ".join(f"{v:.{digits}g}" for v in values) + "]"


EXPERIMENT = Experiment(
    name=NAME,
    description="MAML-RL 2D navigation vs pretrained, random init, oracle (Fig. 4, Table 4)",
    config_cls=Nav2DConfig,
    presets=PRESETS,
    run=run,
    report=report,
    eval_keys=EVAL_KEYS,
)
EXPERIMENTS = {EXPERIMENT.name: EXPERIMENT}
