"""Minimal jittable observation and action spaces with the gymnax interface.

A space answers four questions: what a sample looks like (`sample`), whether a value belongs to it
(`contains`), and its `shape` and `dtype`. Both classes are plain Python objects holding static
sizes, so they can be built inside traced code; `sample` and `contains` are pure JAX functions.

Reference: gymnax `gymnax/environments/spaces.py` (same interface, written here so `src/` does not
depend on gymnax).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from adaptax._checks import require_int
from adaptax.types import Array, PRNGKey


class Space:
    """Abstract space: `sample(key)`, `contains(x)`, `shape`, `dtype`."""

    shape: tuple[int, ...]
    dtype: Any

    def sample(self, key: PRNGKey) -> Array:
        """Draws one element of the space."""
        raise NotImplementedError

    def contains(self, x: Array) -> Array:
        """Returns a boolean scalar: whether `x` lies in the space."""
        raise NotImplementedError


class Discrete(Space):
    """The integers {0, 1, ..., n − 1}.

    `sample` is uniform over the n values; `contains(x)` is true when x is a whole number with
    0 ≤ x < n (a float such as 2.0 counts, 2.5 does not).

    Args:
      n: number of values, an integer >= 1.
      dtype: integer dtype of samples (default int32).

    Example:
      >>> space = Discrete(3)
      >>> bool(space.contains(2)), bool(space.contains(3))
      (True, False)

    Reference: gymnax `spaces.Discrete`.
    """

    def __init__(self, n: int, dtype: Any = jnp.int32):
        self.n = require_int("Discrete n", n, minimum=1)
        self.shape = ()
        self.dtype = jnp.dtype(dtype)
        if not jnp.issubdtype(self.dtype, jnp.integer):
            raise ValueError(f"Discrete dtype must be an integer dtype, got {self.dtype.name}")

    def __repr__(self) -> str:
        return f"Discrete({self.n})"

    def sample(self, key: PRNGKey) -> Array:
        """Draws an integer uniformly from {0, ..., n − 1}."""
        return jax.random.randint(key, self.shape, 0, self.n, dtype=self.dtype)

    def contains(self, x: Array) -> Array:
        """Whether `x` is a scalar whole number in [0, n)."""
        x = jnp.asarray(x)
        if x.shape != self.shape:
            return jnp.array(False)
        whole = x == jnp.floor(x) if jnp.issubdtype(x.dtype, jnp.floating) else jnp.array(True)
        return jnp.logical_and(whole, jnp.logical_and(x >= 0, x < self.n))


class Box(Space):
    """The box {x : low ≤ x ≤ high} of a fixed shape (bounds broadcast to the shape).

    `sample` is uniform on bounded coordinates; a coordinate unbounded on both sides is drawn from
    N(0, 1), and one bounded on one side only is `low + Exp(1)` or `high − Exp(1)` (the same rule as
    Gym's Box), so samples are always finite. `contains(x)` is true when x has the box's shape and
    every coordinate lies within its bounds (infinite bounds admit every finite value).

    Args:
      low: lower bound, a scalar or an array broadcastable to `shape` (may be −inf).
      high: upper bound, likewise (may be +inf); must satisfy low ≤ high.
      shape: the shape of elements.
      dtype: floating dtype of samples (default float32).

    Example:
      >>> space = Box(-1.0, 1.0, (2,))
      >>> bool(space.contains(jnp.array([0.5, -1.0]))), bool(space.contains(jnp.array([2.0, 0.0])))
      (True, False)

    Reference: gymnax `spaces.Box`.
    """

    def __init__(self, low: Any, high: Any, shape: tuple[int, ...], dtype: Any = jnp.float32):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = jnp.dtype(dtype)
        self.low = jnp.broadcast_to(jnp.asarray(low, self.dtype), self.shape)
        self.high = jnp.broadcast_to(jnp.asarray(high, self.dtype), self.shape)
        if not isinstance(self.low, jax.core.Tracer) and not isinstance(self.high, jax.core.Tracer):
            if np.any(np.asarray(self.low) > np.asarray(self.high)):
                raise ValueError(f"Box needs low <= high everywhere, got low={low}, high={high}")

    def __repr__(self) -> str:
        return f"Box(shape={self.shape}, dtype={self.dtype.name})"

    def sample(self, key: PRNGKey) -> Array:
        """Draws uniformly on bounded coordinates (see the class docstring for unbounded ones)."""
        key_u, key_n, key_e = jax.random.split(key, 3)
        low_finite, high_finite = jnp.isfinite(self.low), jnp.isfinite(self.high)
        low = jnp.where(low_finite, self.low, 0.0)
        high = jnp.where(high_finite, self.high, 0.0)
        uniform = jax.random.uniform(key_u, self.shape, self.dtype, low, high)
        normal = jax.random.normal(key_n, self.shape, self.dtype)
        exponential = jax.random.exponential(key_e, self.shape, self.dtype)
        one_sided = jnp.where(
            low_finite, low + exponential, jnp.where(high_finite, high - exponential, normal)
        )
        return jnp.where(low_finite & high_finite, uniform, one_sided).astype(self.dtype)

    def contains(self, x: Array) -> Array:
        """Whether `x` has the box's shape and low ≤ x ≤ high in every coordinate."""
        x = jnp.asarray(x)
        if x.shape != self.shape:
            return jnp.array(False)
        return jnp.all(jnp.logical_and(x >= self.low, x <= self.high))


class Structured(Space):
    """A space over a pytree of values, one space per leaf position (e.g. the RL² trial's
    `PolicyInput`): `contains` holds when every part is in its space, `sample` draws each part.

    Args:
      spaces: a pytree (NamedTuple, tuple, dict) whose leaves are spaces; `None` parts stay
        `None`.

    Example:
      >>> space = Structured((Discrete(3), Box(0.0, 1.0, (2,))))
      >>> bool(space.contains((jnp.array(2), jnp.array([0.5, 1.0]))))
      True
    """

    def __init__(self, spaces: Any):
        self.spaces = spaces
        leaves = jax.tree.leaves(spaces, is_leaf=lambda x: isinstance(x, Space))
        if not all(isinstance(leaf, Space) for leaf in leaves):
            raise ValueError("Structured needs a pytree of spaces")
        self.shape = ()
        self.dtype = None

    def __repr__(self) -> str:
        return f"Structured({self.spaces!r})"

    def _map(self, fn: Any, *trees: Any) -> Any:
        return jax.tree.map(fn, self.spaces, *trees, is_leaf=lambda x: isinstance(x, Space))

    def sample(self, key: PRNGKey) -> Any:
        count = len(jax.tree.leaves(self.spaces, is_leaf=lambda x: isinstance(x, Space)))
        keys = iter(jax.random.split(key, max(count, 1)))
        return self._map(lambda space: space.sample(next(keys)))

    def contains(self, x: Any) -> Array:
        checks = jax.tree.leaves(self._map(lambda space, value: space.contains(value), x))
        return jnp.all(jnp.stack([jnp.asarray(c, bool) for c in checks]))
