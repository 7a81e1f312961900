"""Training, evaluation and ``results.json`` of one ``maml-omniglot`` or ``maml-miniimagenet``
run.

Each method (MAML, first-order MAML) meta-trains Conv4 (Omniglot: stride-2 convolutions;
MiniImagenet: 2×2 max-pooling) from the same initialisation on N-way K-shot tasks drawn inside
the compiled step from the device-resident training pool, then is
scored, per seed, by adapting ``eval_steps`` steps at α on each task's support drawings and
classifying its query drawings: on ``validation_tasks`` validation tasks, ``eval_tasks`` test
tasks, and (20-way 1-shot, where fair) Lake's 20 runs. BatchNorm uses the statistics of the
batch it sees, at training and test time (the paper's transductive setting).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from adaptax.experiments import config as cfg
from adaptax.experiments.maml_fewshot import data
from adaptax.experiments.maml_fewshot.config import (
    EVAL_KEYS,
    LAKE,
    MINIIMAGENET,
    OMNIGLOT,
    PAPER,
    OmniglotConfig,
)
from adaptax.experiments.protocol import split_key
from adaptax.experiments.seeds import combine, seeded, split
from adaptax.experiments.training import progress, train_phase
from adaptax.meta import maml
from adaptax.nets.conv4 import Conv4
from adaptax.parallel import data_mesh, on
from adaptax.storage.runs import RunDir
from adaptax.tasks import fewshot
from adaptax.types import Batch, TaskBatch

RUN_WAYS = 20  # Lake's runs are 20-way one-shot
EVAL_BATCH = 25  # tasks adapted at once at test (bounds the memory of evaluation)


def _scores(logits: jax.Array, y: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
    xent = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return xent, {"accuracy": jnp.mean(jnp.argmax(logits, -1) == y)}


def _loss(net: Conv4):
    """The test-time loss ``(variables, batch) -> (xent, aux)``. With running statistics the
    variables hold them beside the parameters; they are constants here (an inner step adapts
    the parameters only) and the network normalises with them (``train=False``)."""
    def loss(params: Any, batch: Batch) -> tuple[jax.Array, dict[str, jax.Array]]:
        if net.norm == "running":
            params = {**params, "batch_stats": jax.lax.stop_gradient(params["batch_stats"])}
            return _scores(net.apply(params, batch.x, train=False), batch.y)
        return _scores(net.apply(params, batch.x), batch.y)

    return loss


def _training_loss(net: Conv4):
    """The training loss with BatchNorm's running statistics as model state (`maml.adapt`'s
    ``has_state``): ``(params, batch, stats) -> (xent, aux, new stats)``."""
    def loss(params: Any, batch: Batch, stats: Any) -> Any:
        logits, new = net.apply({"params": params["params"], "batch_stats": stats}, batch.x,
                                train=True, mutable=["batch_stats"])
        return (*_scores(logits, batch.y), new["batch_stats"])

    return loss


def _setup(config: Any) -> tuple[str, data.Pools, Conv4]:
    """The experiment's name, its class pools and its network."""
    if isinstance(config, OmniglotConfig):
        pools = data.load(config.data, config.split, config.validation_classes)
        return OMNIGLOT, pools, Conv4(classes=config.way, filters=config.filters,
                                      norm=config.norm)
    return MINIIMAGENET, data.load_miniimagenet(config.data), Conv4(
        classes=config.way, filters=config.filters, downsample="max_pool", norm=config.norm)


def run(config: Any, run_dir: RunDir, resume: bool = False) -> dict[str, Any]:
    """Trains every method, evaluates each seed, writes ``results.json``."""
    name, pools, net = _setup(config)
    data.check(pools, config.way, config.shot, config.query)
    loss = _loss(net)
    pool = jnp.asarray(pools.train)
    seeds = [config.seed + i for i in range(config.seeds)]
    roots = [jax.random.PRNGKey(seed) for seed in seeds]
    x0 = jnp.zeros((1, *pools.train.shape[2:], *((1,) if pools.train.ndim == 4 else ())))
    inits = [net.init(jax.random.fold_in(root, 0), x0) for root in roots]
    running = config.norm == "running"  # BatchNorm's running statistics: a model state
    learnable = [{"params": v["params"]} for v in inits] if running else inits
    rotations = getattr(config, "rotations", False)

    def sample(key: jax.Array) -> TaskBatch:
        return fewshot.sample_tasks(key, pool, config.meta_batch, config.way, config.shot,
                                    config.query, rotations=rotations)

    trained: list[dict[str, Any]] = [{} for _ in seeds]
    train_info: dict[str, Any] = {}
    mesh = data_mesh(config.devices)
    for i, method in enumerate(config.methods):
        objective = maml.maml_objective(
            _training_loss(net) if running else loss, lr=config.inner_lr,
            steps=config.inner_steps, first_order=method == "fomaml", has_aux=True,
            has_state=running)
        trainer = maml.make_meta_trainer(objective, sample, optax.adam(config.meta_lr),
                                         presample=False, has_aux=True, has_state=running)
        run_fn, state = seeded(trainer.run, [
            trainer.init(jax.random.fold_in(root, 100 + i), params,
                         init.get("batch_stats") if running else None)
            for root, params, init in zip(roots, learnable, inits, strict=True)])
        result = train_phase(
            run_dir, experiment=name, phase=method, run_fn=on(mesh, run_fn), state=state,
            iterations=config.iterations, chunk=config.chunk, resume=resume,
            config_hash=cfg.training_hash(config, EVAL_KEYS),
            hint="lower --set meta_lr or --set inner_lr",
        )
        learned = split(result.state.params, len(seeds))
        if running:  # evaluation reads the running statistics beside the parameters
            learned = [{**p, "batch_stats": m} for p, m in
                       zip(learned, split(result.state.model_state, len(seeds)), strict=True)]
        for one, params in zip(trained, learned, strict=True):
            one[method] = params
        train_info[method] = {**result.record(), "devices": mesh.size}

    lake = " and Lake's 20 runs" if _lake_fair(config, pools) else ""
    progress(f"evaluating on {config.validation_tasks} validation and {config.eval_tasks} test "
             f"tasks{lake}")
    per_seed = [evaluate(config, pools, one, loss) for one in trained]
    results = combine(per_seed, seeds)
    results.update(
        experiment=name, seed=config.seed, config=cfg.to_dict(config), data=pools.record,
        train=train_info, training_curves=_curves(run_dir), paper=_paper(name, config),
        lake_references=LAKE,
    )
    run_dir.write_results(results)
    return results


def _paper(name: str, config: Any) -> dict[str, Any] | None:
    """The paper's numbers of this table cell, per method, where the run is in its setting
    (Omniglot: the paper's split)."""
    if getattr(config, "split", "paper") != "paper":
        return None
    cell = f"{config.way}-{config.shot}"
    cells = {m: v[cell] for m, v in PAPER[name].items() if cell in v}
    return {"source": PAPER["source"], "cells": cells} if cells else None


def _lake_fair(config: Any, pools: data.Pools) -> bool:
    """Lake's runs are scored by a 20-way one-shot model whose training never saw their
    alphabets."""
    return pools.runs is not None and config.way == RUN_WAYS and config.shot == 1


def _summary(acc: np.ndarray) -> dict[str, Any]:
    """Accuracy % per step: mean and 95% interval over tasks (acc: [tasks, steps + 1])."""
    pct = 100.0 * np.asarray(acc, np.float64)
    return {"mean": pct.mean(0).tolist(),
            "ci95": (1.96 * pct.std(0, ddof=1) / np.sqrt(pct.shape[0])).tolist(),
            "tasks": int(pct.shape[0])}


def evaluate(config: Any, pools: data.Pools, trained: dict[str, Any],
             loss: Any) -> dict[str, Any]:
    """One seed's accuracies after 0…eval_steps steps on every evaluation set, per method."""
    curve = _curve_fn(loss, config.inner_lr, config.eval_steps)
    sets = {"validation": (pools.validation, config.validation_tasks),
            "test": (pools.test, config.eval_tasks)}
    methods: dict[str, Any] = {}
    for method, params in trained.items():
        out: dict[str, Any] = {}
        for name, (pool, num) in sets.items():
            tasks = _tasks(name, jnp.asarray(pool), num, config.way, config.shot, config.query)
            out[name] = _summary(curve(params, tasks))
        if _lake_fair(config, pools):
            out["lake"] = _lake(curve(params, _run_tasks(pools.runs)))
        methods[method] = out
    return {"methods": methods, "steps": list(range(config.eval_steps + 1))}


def _lake(acc: np.ndarray) -> dict[str, Any]:
    """Error % per step over Lake's runs (acc: [runs, steps + 1]), with each run's error."""
    err = 100.0 * (1.0 - np.asarray(acc, np.float64))
    return {"mean": err.mean(0).tolist(),
            "ci95": (1.96 * err.std(0, ddof=1) / np.sqrt(err.shape[0])).tolist(),
            "per_run": err[:, -1].tolist(), "runs": int(err.shape[0])}


@functools.lru_cache(maxsize=8)
def _curve_fn(loss: Any, lr: float, steps: int):
    """``(params, tasks) -> accuracy [tasks, steps + 1]``: adapt on each task's support, score
    its query after every step; ``EVAL_BATCH`` tasks at a time."""
    def one(params: Any, task: TaskBatch) -> jax.Array:
        _, aux = maml.adaptation_curve(loss, params, task.support, task.query, lr=lr,
                                       steps=steps, has_aux=True)
        return aux["accuracy"]

    @jax.jit
    def curve(params: Any, tasks: TaskBatch) -> jax.Array:
        return jax.lax.map(lambda t: one(params, t), tasks, batch_size=EVAL_BATCH)

    return lambda params, tasks: np.asarray(curve(params, tasks))


def _tasks(name: str, pool: jax.Array, num: int, way: int, shot: int,
           query: int) -> TaskBatch:
    """``num`` fixed tasks of a split: task i from ``split_key(name, i)``, no rotations."""
    keys = jnp.stack([split_key(name, i) for i in range(num)])
    return jax.jit(jax.vmap(lambda k: fewshot.sample_task(k, pool, way, shot, query)))(keys)


def _run_tasks(runs: Any) -> TaskBatch:
    """Lake's runs as 20-way one-shot tasks: the 20 training drawings (class c = drawing c) and
    the 20 test drawings with their answers."""
    x = lambda images: jnp.asarray(images, jnp.float32)[..., None] / 255.0  # noqa: E731
    num = runs.train.shape[0]
    labels = jnp.broadcast_to(jnp.arange(RUN_WAYS), (num, RUN_WAYS))
    return TaskBatch(Batch(x(runs.train), labels), Batch(x(runs.test), jnp.asarray(runs.answers)))


def _curves(run_dir: RunDir) -> dict[str, Any]:
    """Per-chunk training loss and query accuracy from metrics.jsonl."""
    out: dict[str, Any] = {}
    for r in run_dir.read_metrics():
        c = out.setdefault(r["phase"], {"step": [], "loss": [], "accuracy": []})
        c["step"].append(r["step"])
        c["loss"].append(r.get("loss"))
        c["accuracy"].append(r.get("aux_accuracy"))
    return out
