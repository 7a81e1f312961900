"""Input encoders for recurrent policies: what turns one step's structured input into features.

RL²'s visual navigation agent (Duan et al. 2017, §4.3) reads a first-person image through two
convolutions and concatenates the result with the previous action, reward and done flag before
its dense layer and GRU. `PixelEncoder` is that encoder for any input with an image ``obs``
field (the RL² trial's `PolicyInput`); the other fields are flattened and appended:

    f_t = [ flatten(conv(o_t)), time?, prev_action_t, r_{t−1}, d_{t−1} ]

with conv = `layers` × (convolution of `filters` k×k filters at stride s, "VALID", ReLU)
(paper: two layers of 16 filters, 5×5, stride 2). The prev_action part is one-hot, so the
dense layer after the encoder acts as the paper's action embedding.

The convolutions run as image patches times a matrix by default (``conv="patches"``): the
filters' gradient is then a matrix product. On this 2-core CPU one PPO epoch over 8 trials of
500 steps (the whole sequence encoded at once, `RecurrentActorCritic.unroll`) ran at 753
samples/s this way against 66 with XLA's convolution (``conv="lax"``), whose filter gradient
over thousands of small images is slow there (`benchmarks/rl2_maze.py`).

This module imports nothing from the rest of adaptax (DESIGN.md).

Example:
  >>> from typing import NamedTuple
  >>> class Step(NamedTuple):
  ...     time: object
  ...     obs: jax.Array
  ...     prev_action: jax.Array
  ...     prev_reward: jax.Array
  ...     prev_done: jax.Array
  >>> x = Step(None, jnp.zeros((4, 30, 40, 3)), jnp.zeros((4, 3)), jnp.zeros(4), jnp.zeros(4))
  >>> enc = PixelEncoder()
  >>> enc.apply(enc.init(jax.random.PRNGKey(0), x), x).shape   # 16·5·7 conv features + 5
  (4, 565)
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

__all__ = ["PixelEncoder"]


class PixelEncoder(nn.Module):
    """Convolutions over ``x.obs`` ([*batch, height, width, channels]) and the other fields of
    ``x`` flattened after them (see the module docstring).

    Attributes:
      filters: filters per convolution (paper: 16).
      kernel: kernel side (paper: 5).
      stride: stride (paper: 2).
      layers: number of convolutions (paper: 2).
      conv: ``"patches"`` (a matmul over image patches) or ``"lax"`` (XLA's convolution); the
        same function of the same parameters.
    """

    filters: int = 16
    kernel: int = 5
    stride: int = 2
    layers: int = 2
    conv: str = "patches"

    @nn.compact
    def __call__(self, x: Any) -> jax.Array:
        image = jnp.asarray(x.obs, jnp.float32)
        batch = image.shape[:-3]
        h = image.reshape(-1, *image.shape[-3:])
        for i in range(self.layers):
            cin = h.shape[-1]
            kernel = self.param(f"kernel_{i}", nn.initializers.lecun_normal(),
                                (self.kernel, self.kernel, cin, self.filters))
            bias = self.param(f"bias_{i}", nn.initializers.zeros, (self.filters,))
            dims = ("NHWC", "HWIO", "NHWC")
            strides = (self.stride, self.stride)
            if self.conv == "lax":
                h = jax.lax.conv_general_dilated(h, kernel, strides, "VALID",
                                                 dimension_numbers=dims) + bias
            else:  # image patches times a matrix: its gradients are matrix products
                patches = jax.lax.conv_general_dilated_patches(
                    h, (self.kernel, self.kernel), strides, "VALID", dimension_numbers=dims)
                matrix = jnp.transpose(kernel, (2, 0, 1, 3)).reshape(-1, self.filters)
                h = patches @ matrix + bias
            h = nn.relu(h)
        rest = [jnp.reshape(leaf, (*batch, -1)).astype(jnp.float32)
                for leaf in jax.tree.leaves(x._replace(obs=None))]
        return jnp.concatenate([h.reshape(*batch, -1), *rest], axis=-1)
