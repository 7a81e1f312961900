"""Multi-layer perceptrons (Flax linen)."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax


class MLP(nn.Module):
    """A fully connected network: Dense → ReLU for each hidden width, then a linear output.

    MAML's sinusoid regressor is ``MLP(hidden=(40, 40), out=1)`` (Finn et al. 2017, §5.1).

    Attributes:
      hidden: widths of the hidden layers.
      out: width of the output layer.

    Example::

      >>> import jax.numpy as jnp
      >>> net = MLP(hidden=(40, 40), out=1)
      >>> params = net.init(jax.random.PRNGKey(0), jnp.zeros((1, 1)))
      >>> net.apply(params, jnp.zeros((5, 1))).shape
      (5, 1)
    """

    hidden: Sequence[int] = (40, 40)
    out: int = 1

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
        return nn.Dense(self.out)(x)
