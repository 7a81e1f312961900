"""N-way K-shot classification tasks drawn from a pool of classes (MAML §5.2).

The pool is an array of images ``[classes, examples, height, width]`` (or with a channel axis),
uint8 or float, held on the device and passed to the sampler as an argument, so a compiled
training step draws each iteration's tasks itself. A task takes N classes without replacement,
then for each class K support and Q query examples without replacement; labels are 0…N−1 in the
order the classes were drawn. With ``rotations`` each class is also turned by a random multiple
of 90° (Omniglot's rotations as new classes, drawn per task).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from adaptax.types import Batch, PRNGKey, TaskBatch


def sample_task(key: PRNGKey, pool: jax.Array, way: int, shot: int, query: int,
                rotations: bool = False) -> TaskBatch:
    """One N-way K-shot task: support ``[way·shot, H, W, C]`` and query ``[way·query, …]``.

    Images are scaled to [0, 1] when the pool is uint8 and get a channel axis when it has none;
    support and query examples are ordered class by class.

    Example:
      >>> pool = jnp.arange(6 * 4 * 2 * 2, dtype=jnp.uint8).reshape(6, 4, 2, 2)
      >>> task = sample_task(jax.random.PRNGKey(0), pool, way=3, shot=1, query=2)
      >>> task.support.x.shape, task.query.y.tolist()
      ((3, 2, 2, 1), [0, 0, 1, 1, 2, 2])
    """
    classes, examples = pool.shape[:2]
    if way > classes or shot + query > examples:
        raise ValueError(f"a {way}-way task with {shot} + {query} examples per class needs "
                         f"{way} classes of {shot + query} examples; the pool has {classes} of "
                         f"{examples}")
    key_classes, key_examples, key_rot = jax.random.split(key, 3)
    chosen = jax.random.choice(key_classes, classes, (way,), replace=False)

    def one_class(c: jax.Array, k: PRNGKey, turns: jax.Array) -> jax.Array:
        idx = jax.random.choice(k, examples, (shot + query,), replace=False)
        images = pool[c][idx]
        return jax.lax.switch(turns, [lambda x, n=n: jnp.rot90(x, n, axes=(1, 2))
                                      for n in range(4)], images) if rotations else images

    turns = jax.random.randint(key_rot, (way,), 0, 4)
    images = jax.vmap(one_class)(chosen, jax.random.split(key_examples, way), turns)
    if images.dtype == jnp.uint8:
        images = images.astype(jnp.float32) / 255.0
    if images.ndim == 4:  # [way, shot + query, H, W]: add the channel axis
        images = images[..., None]
    labels = jnp.broadcast_to(jnp.arange(way)[:, None], (way, shot + query))

    def part(lo: int, hi: int) -> Batch:
        x = images[:, lo:hi].reshape(way * (hi - lo), *images.shape[2:])
        return Batch(x, labels[:, lo:hi].reshape(-1))

    return TaskBatch(part(0, shot), part(shot, shot + query))


def sample_tasks(key: PRNGKey, pool: jax.Array, num: int, way: int, shot: int, query: int,
                 rotations: bool = False) -> TaskBatch:
    """``num`` tasks, a leading task axis on every array."""
    return jax.vmap(lambda k: sample_task(k, pool, way, shot, query, rotations))(
        jax.random.split(key, num))
