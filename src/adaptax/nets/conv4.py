"""MAML's four-block convolutional classifier (Finn et al. 2017, §5.2; Vinyals et al. 2016).

Each block is a 3×3 convolution, a normalisation, ReLU, then either stride 2 (Omniglot: 64
filters, no pooling) or a 2×2 max-pool (MiniImagenet: 32 filters); a linear layer on the
flattened features gives the class logits.

The convolutions are computed as image patches times a matrix by default (``conv="patches"``):
on a CPU, XLA's convolution and its filter gradient make second-order MAML about 1.9× slower
than the same product as a matmul (`benchmarks/fewshot_conv.py`); ``conv="lax"`` uses
``lax.conv_general_dilated``. Both read the same parameters and give the same outputs.

Normalisation ``"batch"`` standardises every channel with the statistics of the batch it is
given, in training and at test (the paper's transductive setting: a task's query images are
normalised together), with a learned scale and offset and no running averages, so the network
is a plain function of its parameters. ``"running"`` is the standard BatchNorm
(`flax.linen.BatchNorm`): batch statistics in training, which also update running averages
(the ``"batch_stats"`` collection, a model state: ``apply(..., train=True,
mutable=["batch_stats"])``), and those averages at test (``train=False``), so each test image
is classified on its own. ``"none"`` leaves the features as they are.
"""

from __future__ import annotations

from typing import Literal

import flax.linen as nn
import jax
import jax.numpy as jnp


class BatchStatNorm(nn.Module):
    """Per-channel standardisation by the current batch's mean and variance, then γ·x + β."""

    epsilon: float = 1e-5

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        axes = tuple(range(x.ndim - 1))
        mean = jnp.mean(x, axis=axes)
        var = jnp.var(x, axis=axes)
        scale = self.param("scale", nn.initializers.ones, (x.shape[-1],))
        bias = self.param("bias", nn.initializers.zeros, (x.shape[-1],))
        return (x - mean) * jax.lax.rsqrt(var + self.epsilon) * scale + bias


class Conv3x3(nn.Module):
    """A 3×3 "SAME" convolution with a bias (kernel HWIO), as a matmul over patches or by XLA."""

    features: int
    stride: int = 1
    conv: Literal["patches", "lax"] = "patches"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        cin = x.shape[-1]
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (3, 3, cin, self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        dims = ("NHWC", "HWIO", "NHWC")
        strides = (self.stride, self.stride)
        if self.conv == "lax":
            return jax.lax.conv_general_dilated(x, kernel, strides, "SAME",
                                                dimension_numbers=dims) + bias
        patches = jax.lax.conv_general_dilated_patches(x, (3, 3), strides, "SAME",
                                                       dimension_numbers=dims)
        # patch features are ordered (input channel, row, column)
        matrix = jnp.transpose(kernel, (2, 0, 1, 3)).reshape(9 * cin, self.features)
        return patches @ matrix + bias


class Conv4(nn.Module):
    """Four conv blocks and a linear classifier over images [batch, height, width, channels].

    Attributes:
      classes: the number of output logits (N of an N-way task).
      filters: filters per block (paper: 64 Omniglot, 32 MiniImagenet).
      downsample: ``"stride"`` (stride-2 convolutions, Omniglot) or ``"max_pool"`` (2×2
        max-pooling after each block, MiniImagenet).
      norm: ``"batch"`` (batch statistics, transductive), ``"running"`` (running averages at
        test) or ``"none"``.
      momentum: the running averages' decay (``"running"``).
      conv: ``"patches"`` (a matmul over image patches, fastest on a CPU) or ``"lax"``.

    Example::

      >>> net = Conv4(classes=5)
      >>> params = net.init(jax.random.PRNGKey(0), jnp.zeros((2, 28, 28, 1)))
      >>> net.apply(params, jnp.zeros((7, 28, 28, 1))).shape
      (7, 5)
    """

    classes: int = 5
    filters: int = 64
    downsample: Literal["stride", "max_pool"] = "stride"
    norm: Literal["batch", "running", "none"] = "batch"
    conv: Literal["patches", "lax"] = "patches"
    momentum: float = 0.9

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
        stride = 2 if self.downsample == "stride" else 1
        for _ in range(4):
            x = Conv3x3(self.filters, stride, self.conv)(x)
            if self.norm == "batch":
                x = BatchStatNorm()(x)
            elif self.norm == "running":
                x = nn.BatchNorm(use_running_average=not train, momentum=self.momentum,
                                 epsilon=1e-5)(x)
            x = nn.relu(x)
            if self.downsample == "max_pool":
                x = nn.max_pool(x, (2, 2), strides=(2, 2), padding="VALID")
        return nn.Dense(self.classes)(x.reshape(x.shape[0], -1))
