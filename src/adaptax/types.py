"""Shared type aliases and small named containers used across adaptax."""

from __future__ import annotations

from collections.abc import Callable
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


class Learner(NamedTuple):
    """The one shape of every adaptax learner (MAML, RL², MAML-RL, your own): two pure functions.

    - ``init(key, params=None) -> state``: a fresh training state (a NamedTuple of arrays, so a
      checkpoint, ``jax.vmap`` over seeds and sharding see every field). Its parameters come
      from ``params`` when given, else from the learner's network initialised with ``key``.
    - ``run(state, n) -> (state, metrics)``: ``n`` training iterations in one compiled
      ``lax.scan``; ``metrics`` is a NamedTuple whose leaves have a leading axis of length ``n``.

    Hyper-parameters, the network and the environment are fixed when the learner is built
    (``make_meta_trainer``, ``make_rl2``, ``make_maml_rl``); neither function takes a device
    setting: under :func:`adaptax.parallel.on` the batch axes they draw are split over the
    mesh's devices. Evaluation functions live beside the builders.
    """

    init: Callable[..., Any]
    run: Callable[[Any, int], tuple[Any, Any]]
