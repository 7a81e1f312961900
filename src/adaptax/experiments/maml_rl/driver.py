"""The MAML-RL driver: trains every method, evaluates them, writes ``results.json``.

One protocol for every task (``config.task``): 2D navigation (a JAX environment, sampled inside
the compiled iteration) and the MuJoCo locomotion tasks (native MuJoCo on the CPU,
`adaptax.rl.mujoco_sampler`); only `_env` and `_sampler` tell them apart.

Trains MAML (REINFORCE inner step, TRPO outer step), a pretrained policy (multi-task TRPO on all
tasks, no inner step) and an oracle (TRPO with the goal in the observation); a randomly initialised
policy is the fourth row. Evaluation as the authors' code, on more goals: returns after 0, 1, 2, 3
policy-gradient steps with 40 trajectories per step (α, then α/2 for later steps), mean ± standard
error over 400 goals of the test split (`protocol.split_instances`; the paper used 40, too few to
tell −3.3 from −4). Fine-tuning step sizes are chosen on goals of the validation split. Step 0 is
the PRE-adaptation return.

Every call into `adaptax.rl.maml_rl` (``mr``) is in this file; `_algo` builds its settings,
`_sampler` the environment's sampler and `_net` the policy.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from adaptax.envs.locomotion import Locomotion
from adaptax.envs.navigation2d import Navigation2D
from adaptax.experiments import config as cfg
from adaptax.experiments.maml_rl.config import (
    EVAL_KEYS,
    LOCOMOTION,
    METHODS,
    PAPERS,
    Nav2DConfig,
    experiment_name,
)
from adaptax.experiments.protocol import compare, split_instances, split_record
from adaptax.experiments.seeds import combine, seeded, split
from adaptax.experiments.training import progress, train_phase
from adaptax.nets.gaussian_mlp import GaussianMLP
from adaptax.parallel import auto_devices, data_mesh, on
from adaptax.reporting import label
from adaptax.rl import maml_rl as mr
from adaptax.rl.losses import gaussian_kl, masked_mean
from adaptax.storage.runs import RunDir


def devices_of(config: Nav2DConfig) -> int:
    """The devices training runs on: `devices`, or for 0 (auto) `parallel.auto_devices` that
    divide the meta-batch. The numbers do not depend on it."""
    if config.devices:
        return config.devices
    return auto_devices(lambda count: config.meta_batch % count == 0)


# The trajectory figure's goals: validation-split seeds from this offset on (not the test goals).
FIGURE_OFFSET = 10_000


def _keys(seed: int) -> dict[str, Any]:
    """One seed's keys: initialisations, each method's training stream, evaluation, the
    fine-tuning step-size choice and the trajectory figure."""
    root = jax.random.PRNGKey(seed)
    return {
        "init": jax.random.fold_in(root, 0),
        "oracle_init": jax.random.fold_in(root, 1),
        "train": {m: jax.random.fold_in(root, 100 + i) for i, m in enumerate(METHODS)},
        "eval": jax.random.fold_in(root, 1000),
        "select": jax.random.fold_in(root, 2000),
        "figure": jax.random.fold_in(root, 3000),
    }


@functools.cache
def _algo(config: Nav2DConfig, inner_steps: int, lr: float) -> mr.MAMLRL:
    """The MAML-RL settings of every phase (``inner_steps`` 0: TRPO with no inner step, as the
    pretrained and oracle policies train) and of every evaluation at first step size ``lr``;
    built once per setting, so the jitted functions that close over them compile once."""
    return cfg.settings_from(
        mr.MAMLRL, config, inner_lr=lr, inner_steps=inner_steps,
        fvp_subsample=config.fvp_subsample if config.hvp == "gauss_newton" else 1.0,
        measured_step=config.measured_step and config.hvp == "gauss_newton",
    )


@functools.cache
def _env(config: Nav2DConfig, oracle: bool = False) -> Any:
    """The task's environment (``oracle``: the goal in the observation)."""
    if config.task in LOCOMOTION:
        robot, goal = LOCOMOTION[config.task]
        return Locomotion(robot, goal, horizon=config.horizon, oracle=oracle)
    return Navigation2D(oracle=oracle, horizon=config.horizon)


@functools.cache
def _sampler(config: Nav2DConfig, oracle: bool = False) -> Any:
    """The environment's sampler: in the compiled iteration (2D navigation), or native MuJoCo
    stepped by ``config.threads`` threads."""
    if config.task in LOCOMOTION:
        from adaptax.rl.mujoco_sampler import MujocoSampler  # the optional mujoco extra

        return MujocoSampler(_env(config, oracle), threads=config.threads)
    return mr.EnvSampler(_env(config, oracle))


def _obs_dim(config: Nav2DConfig, oracle: bool = False) -> int:
    env = _env(config, oracle)
    return env.obs_dim if config.task in LOCOMOTION else (4 if oracle else 2)


@functools.cache
def _net(config: Nav2DConfig) -> GaussianMLP:
    action_dim = _env(config).action_dim if config.task in LOCOMOTION else 2
    return GaussianMLP(hidden=config.hidden, action_dim=action_dim,
                       kernel_init=config.policy_init)


def _compiled(fn: Any, sampler: Any) -> Any:
    """``fn`` jitted whole when the sampler is traceable; a host sampler's chain jits its
    pieces itself."""
    return jax.jit(fn) if sampler.traceable else fn


def run(config: Nav2DConfig, run_dir: RunDir, resume: bool = False) -> dict[str, Any]:
    """Trains every method, evaluates, writes ``results.json`` (the report is drawn from it).

    With ``seeds`` = N > 1, seeds ``seed … seed + N − 1`` train together in one compiled run
    per method (`seeds.batched`), each is evaluated as a single-seed run would be, and the
    results hold their mean ± 95% interval across seeds (`seeds.combine`); MAML is compared
    with the baselines on each goal's return averaged over the seeds. A host sampler (MuJoCo)
    cannot be vmapped: its seeds train one after another, each with its own checkpoint
    (phase ``<method>-seed<N>``), with the same results as separate runs.
    """
    seeds = [config.seed + i for i in range(config.seeds)]
    keys = [_keys(seed) for seed in seeds]
    net = _net(config)
    inits = [{"x": net.init(k["init"], jnp.zeros((_obs_dim(config),))),
              "oracle": net.init(k["oracle_init"], jnp.zeros((_obs_dim(config, True),)))}
             for k in keys]
    name = experiment_name(config.task)
    mesh = data_mesh(devices_of(config))
    phases = {
        "maml": (_algo(config, config.train_inner_steps, config.inner_lr), config.iterations,
                 False),
        "pretrained": (_algo(config, 0, config.inner_lr), config.baseline_iterations, False),
        "oracle": (_algo(config, 0, config.inner_lr), config.baseline_iterations, True),
    }
    trained: list[dict[str, Any]] = [{} for _ in seeds]
    train_info: dict[str, Any] = {}
    for method in config.methods:
        if method == "random":
            for one, init in zip(trained, inits, strict=True):
                one[method] = init["x"]
            continue
        algo, iterations, oracle = phases[method]
        start = "oracle" if oracle else "x"
        sampler = _sampler(config, oracle)
        learner = mr.make_maml_rl(algo, net.apply, sampler)
        states = [learner.init(k["train"][method], init[start])
                  for init, k in zip(inits, keys, strict=True)]
        groups = ([(method, seeded(learner.run, states))] if sampler.traceable
                  or len(seeds) == 1 else
                  [(f"{method}-seed{seed}", (learner.run, state))
                   for seed, state in zip(seeds, states, strict=True)])
        params, records = [], []
        for phase, (run_fn, state) in groups:
            result = train_phase(
                run_dir, experiment=name, phase=phase, run_fn=on(mesh, run_fn), state=state,
                iterations=iterations, chunk=config.chunk, resume=resume,
                config_hash=cfg.training_hash(config, EVAL_KEYS),
                hint="lower --set inner_lr or --set max_kl",
            )
            count = len(seeds) if len(groups) == 1 else 1
            params += split(result.state.params, count)
            records.append(result.record())
        for one, p in zip(trained, params, strict=True):
            one[method] = p
        train_info[method] = {**records[0], "devices": mesh.size}
        if len(records) > 1:
            train_info[method]["train_seconds"] = sum(r["train_seconds"] for r in records)
            train_info[method]["seeds_trained"] = "one after another"
    per_seed = [evaluate(config, one, k, mesh) for one, k in zip(trained, keys, strict=True)]
    results = combine(per_seed, seeds)
    if len(seeds) > 1:  # MAML against the baselines on each goal's seed-averaged return
        results["comparisons"] = _comparisons(results["methods"])
    results.update(experiment=name, seed=config.seed, train=train_info, paper=PAPERS[name],
                   training_curves=_curves(run_dir), config=cfg.to_dict(config))
    run_dir.write_results(results)
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


def evaluate(config: Nav2DConfig, trained: dict[str, Any], keys: dict[str, Any],
             mesh: Any = None) -> dict[str, Any]:
    """Returns after 0…eval_steps steps on the test goals, mean ± standard error (the goals
    split across ``mesh``'s devices when one is given)."""
    steps = config.eval_steps
    tasks = split_instances(_env(config), "test", config.eval_tasks)
    task_keys = jax.random.split(keys["eval"], config.eval_tasks)

    def curves(algo: mr.MAMLRL, params: Any, n_steps: int, task_batch: Any,
               lr: float = 0.0, oracle: bool = False) -> np.ndarray:
        sizes = jnp.asarray(algo.step_sizes(n_steps), jnp.float32) * (lr / algo.inner_lr)
        fn = on(mesh, _curve_fn(algo, _net(config).apply, _sampler(config, oracle), n_steps,
                                config.eval_trajs))  # sizes traced: one compile
        return np.asarray(fn(params, task_batch, task_keys, sizes))

    def summary(curve: np.ndarray) -> dict[str, list[float]]:
        n = curve.shape[0]
        return {"mean": curve.mean(0).tolist(),
                "se": (curve.std(0, ddof=1) / np.sqrt(n)).tolist(),
                "per_task": curve.tolist()}

    methods: dict[str, Any] = {}
    diagnostics: dict[str, Any] = {}
    if {"pretrained", "random"} & set(trained):
        progress(f"choosing fine-tuning step sizes on {config.validation_tasks} validation tasks")
    selection = {m: choose_finetune_lr(config, trained[m], keys["select"], mesh)
                 for m in ("pretrained", "random") if m in trained}
    lrs = {m: selection[m]["chosen"] if m in selection else config.inner_lr for m in trained}
    for method, params in trained.items():
        progress(f"evaluating {label(method)} on {config.eval_tasks} test tasks")
        if method == "oracle":
            algo = _algo(config, 0, config.inner_lr)
            methods[method] = summary(curves(algo, params, 0, tasks, oracle=True))
            continue
        methods[method] = summary(curves(_algo(config, 1, config.inner_lr), params, steps,
                                         tasks, lrs[method]))
        algo = _algo(config, 1, lrs[method])
        diagnostics[method] = _step_diagnostics(algo, _net(config).apply, _sampler(config),
                                                params, tasks, task_keys, steps,
                                                config.eval_trajs, mesh)
    return {
        "schema": "adaptax.maml-rl.results/1",
        "task": config.task,
        "metric": "undiscounted return per trajectory (horizon steps) after j policy-gradient "
                  "steps; j = 0 is BEFORE adaptation; mean and standard error over test goals",
        "eval_tasks": config.eval_tasks,
        "eval_trajs": config.eval_trajs,
        "splits": {"test": split_record("test", config.eval_tasks),
                   "validation": split_record("validation", config.validation_tasks),
                   "figure": split_record("validation", config.figure_goals, FIGURE_OFFSET)},
        "steps": list(range(steps + 1)),
        "step_sizes": {m: list(_algo(config, 1, lrs[m]).step_sizes(steps))
                       for m in trained if m != "oracle"},
        "finetune_lr_selection": selection,
        "methods": methods,
        "comparisons": _comparisons(methods),
        "adaptation_diagnostics": diagnostics,
        "trajectories": (_trajectories(config, trained, lrs, keys["figure"])
                         if config.task == "nav2d" else {}),
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


def choose_finetune_lr(config: Nav2DConfig, params: Any, key: Any,
                       mesh: Any = None) -> dict[str, Any]:
    """The fine-tuning step size α of a non-meta-learned policy, chosen on held-out goals.

        α* = argmax_{α ∈ finetune_lrs} mean_{goals, j = 1…eval_steps} R_j(α),

    R_j the return after j steps (α, then later_lr_factor·α), on `validation_tasks` goals of the
    validation split (disjoint from the test goals), with `eval_trajs` trajectories per step;
    the same idea as `adaptax.meta.pretrain.choose_finetune_lr`. The paper does not say how it
    chose its baselines' step sizes; a fixed α under-serves them.

    Returns:
      ``{"grid", "scores", "chosen"}`` (scores: mean post-adaptation return per α).
    """
    goals = split_instances(_env(config), "validation", config.validation_tasks)
    keys = jax.random.split(key, config.validation_tasks)
    algo = _algo(config, 1, config.inner_lr)
    curve_fn = on(mesh, _curve_fn(algo, _net(config).apply, _sampler(config), config.eval_steps,
                                  config.eval_trajs))  # as `evaluate`
    unit = jnp.asarray(algo.step_sizes(config.eval_steps), jnp.float32) / config.inner_lr
    scores = np.asarray([np.mean(np.asarray(curve_fn(params, goals, keys, lr * unit))[:, 1:])
                         for lr in config.finetune_lrs])
    scores = np.where(np.isfinite(scores), scores, -np.inf)
    return {"grid": list(config.finetune_lrs), "scores": scores.tolist(),
            "chosen": float(config.finetune_lrs[int(np.argmax(scores))])}


@functools.lru_cache(maxsize=32)
def _curve_fn(algo: mr.MAMLRL, apply_fn: Any, sampler: Any, n_steps: int, num_trajs: int):
    """Returns after 0…n_steps steps of each task (split across a mesh's devices); the step
    sizes are a traced input."""
    return _compiled(lambda p, t, k, sizes: mr.adaptation_returns(
        algo, apply_fn, sampler, p, t, k, n_steps, num_trajs,
        tuple(sizes[j] for j in range(n_steps))), sampler)


def _step_diagnostics(algo, apply_fn, sampler, params, tasks, task_keys, steps, num_trajs,
                      mesh: Any = None) -> dict[str, Any]:
    """Per step j: the policy σ, the KL step j moves the policy, the inner-gradient norm, and the
    advantage scale s_j of its batch (the std that rllab divides by)."""
    fn = on(mesh, _diagnostics_fn(algo, apply_fn, sampler, steps, num_trajs))
    d = np.asarray(fn(params, tasks, task_keys)).mean(0)
    return {"std": d[:, 0].tolist(), "step_kl": d[:, 1].tolist(), "grad_norm": d[:, 2].tolist(),
            "adv_std": d[:, 3].tolist()}


@functools.lru_cache(maxsize=32)
def _diagnostics_fn(algo: mr.MAMLRL, apply_fn: Any, sampler: Any, steps: int, num_trajs: int):
    def one(p, new, batch):
        grad = jax.grad(mr.inner_loss, argnums=1)(apply_fn, p, batch)
        _, log_std = apply_fn(p, batch.obs[0, 0])
        m0, s0 = apply_fn(p, batch.obs)
        m1, s1 = apply_fn(new, batch.obs)
        kl = masked_mean(gaussian_kl(m0, s0, m1, s1), batch.mask)
        gnorm = jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree_util.tree_leaves(grad)))
        return jnp.stack([jnp.mean(jnp.exp(log_std)), kl, gnorm, batch.adv_scale[0]])

    measure = [jax.jit(jax.vmap(one, (None if j == 0 else 0, 0, 0))) for j in range(steps)]

    def per_task(params, tasks, keys):
        batches, chain = mr.sample_and_adapt(algo, apply_fn, sampler, params, tasks, keys,
                                             algo.step_sizes(steps), num_trajs)
        return jnp.stack([measure[j](chain[j], chain[j + 1], batches[j])
                          for j in range(steps)], axis=1)

    return _compiled(per_task, sampler)


def _trajectories(config: Nav2DConfig, trained: dict[str, Any], lrs: dict[str, float],
                  key) -> dict[str, Any]:
    """Positions of one sampled trajectory per goal before and after 1…eval_steps steps."""
    env = Navigation2D(horizon=config.horizon)
    goals = split_instances(env, "validation", config.figure_goals, FIGURE_OFFSET)
    out: dict[str, Any] = {"goals": np.asarray(goals.goal).tolist()}
    for method in ("maml", "pretrained"):
        if method not in trained:
            continue
        algo = _algo(config, 1, lrs[method])
        sizes = algo.step_sizes(config.eval_steps)

        def paths_of(params, tasks, keys, algo=algo, sizes=sizes):
            batches, _ = mr.sample_and_adapt(algo, _net(config).apply, _sampler(config), params,
                                             tasks, keys, sizes, config.num_trajs)
            return jnp.stack([b.obs[:, 0] for b in batches], axis=1)

        paths = jax.jit(paths_of)(trained[method], goals,
                                  jax.random.split(key, config.figure_goals))
        out[method] = np.asarray(paths).tolist()  # [goal, step, T, 2]
    return out
