"""Gaussian MLP policy with a state-independent log standard deviation (Flax linen)."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

__all__ = ["GaussianMLP"]


class GaussianMLP(nn.Module):
    """π_θ(a | s) = N(μ_θ(s), diag(σ²)): an MLP mean and a learned, state-independent log σ.

        μ_θ(s) = W_L relu(… relu(W_1 s + b_1) …) + b_L,      log σ = θ_logstd  (one per action)

    MAML's RL policy is ``GaussianMLP(hidden=(100, 100), action_dim=2)`` (Finn et al. 2017, §5.3;
    rllab's GaussianMLPPolicy with ``learn_std=True``, ``init_std=1``).

    Attributes:
      hidden: widths of the ReLU hidden layers (paper: 100, 100).
      action_dim: number of action dimensions.
      init_log_std: initial log σ (rllab: log 1 = 0).

    Returns (of ``__call__``):
      ``(mean, log_std)``, with shapes ``[..., action_dim]`` and ``[action_dim]``.

    Example::

      >>> net = GaussianMLP(hidden=(100, 100), action_dim=2)
      >>> params = net.init(jax.random.PRNGKey(0), jnp.zeros((2,)))
      >>> mean, log_std = net.apply(params, jnp.zeros((2,)))   # log_std = [0, 0]

    Reference: Finn et al., arXiv:1703.03400, §5.3; rllab ``policies/gaussian_mlp_policy.py``.
    """

    hidden: Sequence[int] = (100, 100)
    action_dim: int = 2
    init_log_std: float = 0.0

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        x = obs
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
        mean = nn.Dense(self.action_dim)(x)
        log_std = self.param(
            "log_std", lambda _key, shape: jnp.full(shape, self.init_log_std), (self.action_dim,)
        )
        return mean, log_std
