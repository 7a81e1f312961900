"""The ``maml-sinusoid`` driver: training, then the evaluation that ``results.json`` holds.

Trains MAML, first-order MAML, a pretrained baseline and an oracle with the same budget, then
evaluates them with the protocol of the authors' code (fresh tasks, K support and K query points,
query MSE after 0…10 gradient steps on the support points, mean ± 1.96·std/√tasks). Training tasks
come from the run's key stream; the test tasks for support size K from the test split's key
``protocol.split_key("test", K)`` and the tasks on which the pretrained model's fine-tuning step
size is chosen from the validation split's ``split_key("validation", K)``: the same tasks for
every method and every run seed.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from adaptax.experiments import config as cfg
from adaptax.experiments.maml_sinusoid.config import (
    EVAL_KEYS,
    METHODS,
    NAME,
    PAPER,
    REFERENCE_K10,
    SinusoidConfig,
)
from adaptax.experiments.protocol import split_key, split_start
from adaptax.experiments.seeds import combine, seeded, split
from adaptax.experiments.training import progress, train_phase
from adaptax.meta import maml
from adaptax.meta.pretrain import choose_finetune_lr, pooled_objective
from adaptax.nets.mlp import MLP
from adaptax.storage.runs import RunDir
from adaptax.tasks import sinusoid

# The figure's task for support size K: validation-split key FIGURE_OFFSET + K.
FIGURE_OFFSET = 3000


def _keys(seed: int) -> dict[str, Any]:
    root = jax.random.PRNGKey(seed)
    return {
        "init": jax.random.fold_in(root, 0),
        "oracle_init": jax.random.fold_in(root, 1),
        "train": {m: jax.random.fold_in(root, 100 + i) for i, m in enumerate(METHODS)},
        "figure": lambda k: split_key("validation", FIGURE_OFFSET + k),
    }


def _mse(apply_fn):
    def loss(params, batch):
        return jnp.mean((apply_fn(params, batch.x) - batch.y) ** 2)

    return loss


def _oracle_task(task: sinusoid.SinusoidTask) -> sinusoid.SinusoidTask:
    """The same task with amplitude and phase appended to every input."""
    return task._replace(
        support=sinusoid.with_task_inputs(task.support, task.amplitude, task.phase),
        query=sinusoid.with_task_inputs(task.query, task.amplitude, task.phase),
    )


def _objective(method: str, config: SinusoidConfig, loss, oracle_loss):
    if method in ("maml", "fomaml"):
        return maml.maml_objective(
            loss, lr=config.inner_lr, steps=config.inner_steps, first_order=method == "fomaml"
        )
    if method == "pretrained":
        return pooled_objective(loss)
    pooled = pooled_objective(oracle_loss)
    return lambda params, task: pooled(params, _oracle_task(task))


def run(config: SinusoidConfig, run_dir: RunDir, resume: bool = False) -> dict[str, Any]:
    """Trains every method, evaluates, writes ``results.json`` (the report is drawn from it).

    With ``seeds`` = N > 1, seeds ``seed … seed + N − 1`` train together in one compiled run
    per method (`seeds.batched`), each is evaluated as a single-seed run would be, and the
    results hold their mean ± 95% interval across seeds (`seeds.combine`).
    """
    seeds = [config.seed + i for i in range(config.seeds)]
    keys = [_keys(seed) for seed in seeds]
    net = MLP(hidden=config.hidden, out=1)
    loss = _mse(net.apply)
    oracle_loss = loss  # same network family; the oracle's first layer sees 3 inputs
    inits = [{"x": net.init(k["init"], jnp.zeros((1, 1))),
              "oracle": net.init(k["oracle_init"], jnp.zeros((1, 3)))} for k in keys]

    def sample_train(key):
        return sinusoid.sample_tasks(key, config.meta_batch, config.k_train, config.k_train)

    trained: list[dict[str, Any]] = [{} for _ in seeds]
    train_info: dict[str, Any] = {}
    for method in config.methods:
        trainer = maml.make_meta_trainer(
            _objective(method, config, loss, oracle_loss), sample_train,
            optax.adam(config.meta_lr),
        )
        start = "oracle" if method == "oracle" else "x"
        run_fn, state = seeded(trainer.run, [trainer.init(k["train"][method], init[start])
                                             for init, k in zip(inits, keys, strict=True)])
        result = train_phase(
            run_dir, experiment=NAME, phase=method, run_fn=run_fn, state=state,
            iterations=config.iterations, chunk=config.chunk, resume=resume,
            config_hash=cfg.training_hash(config, EVAL_KEYS),
            hint="lower --set meta_lr or --set inner_lr",
        )
        for one, p in zip(trained, split(result.state.params, len(seeds)), strict=True):
            one[method] = p
        train_info[method] = result.record()

    per_seed = [evaluate(config, one, loss, k) for one, k in zip(trained, keys, strict=True)]
    results = combine(per_seed, seeds)
    results.update(
        experiment=NAME, seed=config.seed, train=train_info, paper=PAPER,
        reference_k10=REFERENCE_K10, config=cfg.to_dict(config),
    )
    run_dir.write_results(results)
    return results


def evaluate(config: SinusoidConfig, trained: dict[str, Any], loss, keys) -> dict[str, Any]:
    """The authors' evaluation protocol for every trained method and every test K."""
    steps = config.eval_steps

    def curves(params, tasks, lr):
        fn = jax.jit(jax.vmap(lambda s, q: maml.adaptation_curve(
            loss, params, s, q, lr=lr, steps=steps)))
        return np.asarray(fn(tasks.support, tasks.query))

    def summary(curve: np.ndarray) -> dict[str, list[float]]:
        n = curve.shape[0]
        with np.errstate(invalid="ignore", over="ignore"):
            return {
                "mean": curve.mean(0).tolist(),
                "ci95": (1.96 * curve.std(0) / np.sqrt(n)).tolist(),
                "median": np.median(curve, 0).tolist(),
                # tasks where plain gradient descent blew up: loss non-finite or 10× its start
                "diverged": (~(curve <= 10 * curve[:, :1])).sum(0).tolist(),
            }

    methods: dict[str, dict[str, Any]] = {m: {} for m in config.methods}
    finetune_lr: dict[str, float] = {}
    fits: dict[str, Any] = {}
    for k in config.eval_k:
        progress(f"evaluating on {config.eval_tasks} test tasks, K = {k} ({', '.join(trained)})")
        tasks = sinusoid.sample_tasks(split_key("test", k), config.eval_tasks, k, k)
        for method in ("maml", "fomaml"):
            if method in trained:
                methods[method][str(k)] = summary(curves(trained[method], tasks, config.inner_lr))
        if "pretrained" in trained:
            heldout = sinusoid.sample_tasks(split_key("validation", k), config.validation_tasks,
                                            k, k)
            lr, _ = choose_finetune_lr(
                loss, trained["pretrained"], heldout, config.finetune_lrs, steps
            )
            finetune_lr[str(k)] = lr
            methods["pretrained"][str(k)] = summary(curves(trained["pretrained"], tasks, lr))
        if "oracle" in trained:
            o = jax.vmap(_oracle_task)(tasks)
            mse = jax.vmap(lambda q: loss(trained["oracle"], q))(o.query)
            methods["oracle"][str(k)] = summary(np.repeat(np.asarray(mse)[:, None], steps + 1, 1))
        if k in (5, 10):
            fits[str(k)] = _fits(config, trained, loss, keys["figure"](k), k,
                                 finetune_lr.get(str(k)))
    return {
        "schema": "adaptax.maml-sinusoid.results/1",
        "metric": "query MSE after j inner steps; mean and 95% interval half-width over tasks",
        "eval_tasks": config.eval_tasks,
        "splits": {split: {"split": split, "key": f"PRNGKey({split_start(split)} + K)",
                           "num": num}
                   for split, num in (("test", config.eval_tasks),
                                      ("validation", config.validation_tasks))},
        "steps": list(range(steps + 1)),
        "methods": methods,
        "pretrained_finetune_lr": finetune_lr,
        "fits": fits,
    }


def _fits(config, trained, loss, key, k, pretrained_lr) -> dict[str, Any]:
    """Predictions on a grid after 0, 1 and 10 steps, for the Figure 2 panels."""
    task = sinusoid.sample_task(key, k, 1)
    grid = jnp.linspace(-5.0, 5.0, 200)[:, None]
    out: dict[str, Any] = {
        "x": grid[:, 0].tolist(),
        "true": sinusoid.sinusoid(grid[:, 0], task.amplitude, task.phase).tolist(),
        "support_x": task.support.x[:, 0].tolist(),
        "support_y": task.support.y[:, 0].tolist(),
    }
    net = MLP(hidden=config.hidden, out=1)
    for method, lr in (("maml", config.inner_lr), ("pretrained", pretrained_lr)):
        if method not in trained:
            continue
        preds = {}
        params = trained[method]
        for n_steps in (0, 1, 10):
            adapted = maml.adapt(loss, params, task.support, lr=lr, steps=n_steps)
            preds[str(n_steps)] = net.apply(adapted, grid)[:, 0].tolist()
        out[method] = preds
    return out
