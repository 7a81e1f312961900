"""The baselines MAML is measured against: a model pretrained on all tasks, and an oracle.

"Pretrained" (Finn et al. 2017, §5.1) is ordinary regression on the union of all tasks' data with
the same budget as MAML, then fine-tuned on a new task's support set by gradient descent with a
step size chosen on held-out tasks. The "oracle" receives the task's parameters as extra inputs
and needs no adaptation; its per-task objective is the pooled loss on those inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from adaptax.meta.maml import LossFn, adaptation_curve
from adaptax.types import Params


def concat_batches(a: Any, b: Any) -> Any:
    """Joins two batches (any matching pytrees) along their leading axis."""
    return jax.tree_util.tree_map(lambda x, y: jnp.concatenate([x, y], axis=0), a, b)


def pooled_objective(loss: LossFn) -> Callable[[Params, Any], jax.Array]:
    """Per-task objective of the pretrained baseline: the loss on support ∪ query, no adaptation.

    Fed to :func:`adaptax.meta.maml.make_meta_trainer` it trains one model on all tasks with
    exactly the data MAML sees, so the two have the same budget.
    """

    def objective(params: Params, task: Any) -> jax.Array:
        return loss(params, concat_batches(task.support, task.query))

    return objective


def choose_finetune_lr(
    loss: LossFn, params: Params, tasks: Any, lrs: Sequence[float], steps: int
) -> tuple[float, jax.Array]:
    """Picks the fine-tuning step size with the lowest mean query loss over 1…``steps`` steps.

    Args:
      loss: ``loss(params, batch) -> scalar``.
      params: the pretrained parameters.
      tasks: held-out tasks with ``support`` and ``query``, leading axis = tasks.
      lrs: the candidate step sizes.
      steps: number of fine-tuning steps to score.

    Returns:
      ``(best_lr, scores)`` with ``scores[i]`` the mean query loss of ``lrs[i]``.
    """
    if not lrs:
        raise ValueError("choose_finetune_lr: the grid of step sizes is empty")

    @jax.jit
    def score(lr: jax.Array) -> jax.Array:
        curve = jax.vmap(
            lambda s, q: adaptation_curve(loss, params, s, q, lr=lr, steps=steps)
        )(tasks.support, tasks.query)
        return jnp.mean(curve[:, 1:])

    scores = jnp.stack([score(jnp.float32(lr)) for lr in lrs])
    scores = jnp.where(jnp.isfinite(scores), scores, jnp.inf)
    return float(lrs[int(jnp.argmin(scores))]), scores
