"""The sinusoid regression task distribution of MAML (Finn et al. 2017, §5.1).

A task is y = A·sin(x − φ) with A ~ U[0.1, 5.0], φ ~ U[0, π] and inputs x ~ U[−5, 5]. Sampling is
pure and jittable, so the meta-trainer draws fresh tasks inside its compiled step.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from adaptax.types import Batch, PRNGKey


class SinusoidTask(NamedTuple):
    """One sinusoid task: its support and query batches and the parameters that generated them."""

    support: Batch  # x, y: [k_support, 1]
    query: Batch  # x, y: [k_query, 1]
    amplitude: jax.Array  # A, scalar
    phase: jax.Array  # φ, scalar


AMPLITUDE = (0.1, 5.0)
PHASE = (0.0, jnp.pi)
INPUT = (-5.0, 5.0)


def sinusoid(x: jax.Array, amplitude: jax.Array, phase: jax.Array) -> jax.Array:
    """y = A·sin(x − φ)."""
    return amplitude * jnp.sin(x - phase)


def sample_task(key: PRNGKey, k_support: int, k_query: int) -> SinusoidTask:
    """Draws one task and its support and query points (inputs i.i.d. U[−5, 5]).

    Args:
      key: a PRNG key.
      k_support: number of support points K.
      k_query: number of query points.

    Returns:
      A :class:`SinusoidTask`.

    Example::

      >>> task = sample_task(jax.random.PRNGKey(0), 10, 10)
      >>> task.support.x.shape, task.query.y.shape
      ((10, 1), (10, 1))
    """
    k_amp, k_phase, k_x = jax.random.split(key, 3)
    amplitude = jax.random.uniform(k_amp, (), minval=AMPLITUDE[0], maxval=AMPLITUDE[1])
    phase = jax.random.uniform(k_phase, (), minval=PHASE[0], maxval=PHASE[1])
    x = jax.random.uniform(k_x, (k_support + k_query, 1), minval=INPUT[0], maxval=INPUT[1])
    y = sinusoid(x, amplitude, phase)
    support = Batch(x[:k_support], y[:k_support])
    query = Batch(x[k_support:], y[k_support:])
    return SinusoidTask(support, query, amplitude, phase)


def sample_tasks(key: PRNGKey, num_tasks: int, k_support: int, k_query: int) -> SinusoidTask:
    """Draws ``num_tasks`` independent tasks; every leaf gets a leading task axis."""
    keys = jax.random.split(key, num_tasks)
    return jax.vmap(sample_task, in_axes=(0, None, None))(keys, k_support, k_query)


def with_task_inputs(batch: Batch, amplitude: jax.Array, phase: jax.Array) -> Batch:
    """The oracle's inputs: x extended with the task's amplitude and phase, [K, 3]."""
    extra = jnp.broadcast_to(jnp.stack([amplitude, phase]), (batch.x.shape[0], 2))
    return Batch(jnp.concatenate([batch.x, extra], axis=-1), batch.y)
