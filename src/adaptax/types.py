"""Shared type aliases and small named containers used across adaptax."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax

PRNGKey = jax.Array
Params = Any  # any pytree of arrays
PyTree = Any
Array = jax.Array


class Batch(NamedTuple):
    """A supervised batch: inputs `x` and targets `y`, leading axis = examples."""

    x: Array
    y: Array


class TaskBatch(NamedTuple):
    """One task's support (adaptation) and query (evaluation) batches."""

    support: Batch
    query: Batch


class Transition(NamedTuple):
    """One environment step as a learner sees it (leading axes: time, then batch if any)."""

    obs: Array
    action: Array
    reward: Array
    done: Array
    log_prob: Array
    value: Array
