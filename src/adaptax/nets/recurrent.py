"""Recurrent (GRU) actor-critic for RL², written for one time step and scanned by the caller.

RL² (Duan et al. 2017, §3 and its experiments' set-up) feeds the tuple (observation, previous
action, previous reward, done flag) through an embedding into a GRU whose hidden state carries
over the episodes of a trial and is reset between trials; a softmax over the GRU output gives
the policy. The bandit and MDP experiments use 256 GRU units and a separate GRU value baseline;
the maze shares the torso between policy and value. This module builds exactly that:

    e_t = φ(W_e x_t + b_e)                         embedding, φ = ReLU (or tanh)
    h_t = GRU(h_{t−1} · (1 − reset_t), e_t)        reset zeroes the state BEFORE the step
    π(·|h_t) = softmax(W_π h_t + b_π)              or a diagonal Gaussian N(W_μ h_t + b_μ, σ²)
    V(h_t)   = w_v · h'_t + b_v                    h' from its own embedding + GRU (default)
                                                    or h' = h_t (`shared_torso=True`)

The caller builds x_t: an array, or a pytree such as the RL² trial's (observation, one-hot
previous action, previous reward, done flag). An `encoder` module, when given, maps x_t to the
features the embedding reads (e.g. convolutions over an image observation, concatenated with
the rest: `adaptax.nets.encoders.PixelEncoder`); without one, a pytree's leaves are flattened
and concatenated in order. The paper does not name the embedding's
non-linearity for these tasks; we default to ReLU and offer tanh. Departure from the paper (not
stated there): the policy head starts with weights scaled by 0.01, so the initial policy is close
to uniform (Andrychowicz et al. 2021, "What Matters in On-Policy Reinforcement Learning?").

This module imports nothing from the rest of adaptax (DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

Array = jax.Array

__all__ = ["GaussianOutput", "RecurrentActorCritic", "RecurrentCarry"]

_ACTIVATIONS = {"relu": nn.relu, "tanh": nn.tanh}


class RecurrentCarry(NamedTuple):
    """Hidden state of the actor-critic.

    Attributes:
      policy: GRU state of the policy torso, shape `[*batch, hidden_size]`.
      value: GRU state of the separate value network, same shape; `None` with a shared torso.
    """

    policy: Array
    value: Array | None


class GaussianOutput(NamedTuple):
    """Parameters of a diagonal Gaussian policy: `mean` and `log_std`, each `[*batch, dim]`."""

    mean: Array
    log_std: Array


class RecurrentActorCritic(nn.Module):
    """GRU actor-critic stepped one time step at a time (RL², Duan et al. 2017 §3).

    Step: `new_carry, pi, value = module.apply(params, carry, x, reset)` with `pi` the logits
    `[*batch, action_dim]` (categorical) or a `GaussianOutput` (gaussian) and `value` of shape
    `[*batch]`. Unroll over time: `module.unroll(params, carry, xs, resets)`.

    Attributes:
      action_dim: number of discrete actions, or the dimension of a continuous action.
      hidden_size: GRU units (paper: 256).
      embed_size: width of the input embedding layer.
      embed_activation: `"relu"` (default) or `"tanh"`, the embedding's non-linearity.
      shared_torso: `False` (default, RL² bandits/MDPs): the value function has its own embedding
        and GRU; `True` (RL² maze): a value head on the policy's GRU output.
      action_distribution: `"categorical"` (logits) or `"gaussian"` (mean and a learned,
        state-independent log standard deviation).
      log_std_init: initial log standard deviation of the Gaussian head.
      encoder: optional module ``x -> features [*batch, F]`` applied to every input before the
        embedding (shared by the policy and value torsos); `None`: x itself, or a pytree's
        leaves flattened and concatenated.

    Example:
      >>> net = RecurrentActorCritic(action_dim=3, hidden_size=8, embed_size=8)
      >>> carry = net.init_carry()
      >>> params = net.init(jax.random.key(0), carry, jnp.zeros(5), jnp.array(False))
      >>> carry, logits, value = net.apply(params, carry, jnp.ones(5), jnp.array(False))
      >>> logits.shape, value.shape
      ((3,), ())

    Reference: Duan et al., "RL²: Fast Reinforcement Learning via Slow Reinforcement Learning",
    arXiv:1611.02779, §3; Cho et al. 2014 (GRU).
    """

    action_dim: int
    hidden_size: int = 256
    embed_size: int = 256
    embed_activation: Literal["relu", "tanh"] = "relu"
    shared_torso: bool = False
    action_distribution: Literal["categorical", "gaussian"] = "categorical"
    log_std_init: float = 0.0
    encoder: nn.Module | None = None

    def __post_init__(self) -> None:
        for name in ("action_dim", "hidden_size", "embed_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}.")
        if self.embed_activation not in _ACTIVATIONS:
            raise ValueError(
                f"embed_activation must be 'relu' or 'tanh', got {self.embed_activation!r}."
            )
        if self.action_distribution not in ("categorical", "gaussian"):
            raise ValueError(
                "action_distribution must be 'categorical' or 'gaussian', got "
                f"{self.action_distribution!r}."
            )
        super().__post_init__()

    @nn.nowrap
    def init_carry(self, batch_shape: int | Sequence[int] | None = None) -> RecurrentCarry:
        """The all-zero hidden state, of shape `[*batch_shape, hidden_size]` (no batch: `None`)."""
        if batch_shape is None:
            batch_shape = ()
        elif isinstance(batch_shape, int):
            batch_shape = (batch_shape,)
        shape = (*tuple(batch_shape), self.hidden_size)
        zeros = jnp.zeros(shape, jnp.float32)
        return RecurrentCarry(policy=zeros, value=None if self.shared_torso else zeros)

    def _torso(self, h: Array, x: Array, prefix: str) -> Array:
        e = nn.Dense(self.embed_size, name=f"{prefix}_embed")(x)
        e = _ACTIVATIONS[self.embed_activation](e)
        new_h, _ = nn.GRUCell(self.hidden_size, name=f"{prefix}_gru")(h, e)
        return new_h

    @nn.compact
    def __call__(
        self, carry: RecurrentCarry, x: Array, reset: Array, encoded: bool = False
    ) -> tuple[RecurrentCarry, Array | GaussianOutput, Array]:
        """One time step.

        Args:
          carry: the previous hidden state (`init_carry`).
          x: input features of this step, shape `[*batch, input_dim]`.
          reset: bool of shape `[*batch]`; where true the hidden state is zeroed before the step
            (the first step of a trial).
          encoded: ``x`` already went through the `encoder` (`unroll` encodes a whole sequence
            at once).

        Returns:
          `(new_carry, pi, value)`: `pi` the logits `[*batch, action_dim]` or a
          `GaussianOutput`, `value` of shape `[*batch]`.
        """
        batch_shape = carry.policy.shape[:-1]
        if jnp.shape(reset) != batch_shape:
            raise ValueError(
                f"reset must have the carry's batch shape {batch_shape}, got {jnp.shape(reset)}."
            )
        if self.encoder is not None and not encoded:
            x = self.encoder(x)
        elif not isinstance(x, jax.Array | np.ndarray):
            x = jnp.concatenate([jnp.reshape(leaf, (*batch_shape, -1)).astype(jnp.float32)
                                 for leaf in jax.tree.leaves(x)], axis=-1)
        if jnp.shape(x)[:-1] != batch_shape:
            raise ValueError(f"x must have shape [*{batch_shape}, input_dim], got {jnp.shape(x)}.")
        if self.shared_torso != (carry.value is None):
            raise ValueError(
                "carry does not match shared_torso: build it with this module's init_carry."
            )
        keep = 1.0 - jnp.asarray(reset, jnp.float32)[..., None]
        h_pi = self._torso(carry.policy * keep, x, "policy")

        if self.action_distribution == "categorical":
            pi: Any = nn.Dense(
                self.action_dim, kernel_init=nn.initializers.orthogonal(0.01), name="policy_head"
            )(h_pi)
        else:
            mean = nn.Dense(
                self.action_dim, kernel_init=nn.initializers.orthogonal(0.01), name="policy_head"
            )(h_pi)
            log_std = self.param(
                "log_std", nn.initializers.constant(self.log_std_init), (self.action_dim,)
            )
            pi = GaussianOutput(mean=mean, log_std=jnp.broadcast_to(log_std, mean.shape))

        if self.shared_torso:
            h_v = None
            value_features = h_pi
        else:
            h_v = self._torso(carry.value * keep, x, "value")
            value_features = h_v
        value = nn.Dense(1, kernel_init=nn.initializers.orthogonal(1.0), name="value_head")(
            value_features
        )[..., 0]
        return RecurrentCarry(policy=h_pi, value=h_v), pi, value

    @nn.nowrap
    def unroll(
        self, params: Any, carry: RecurrentCarry, xs: Array, resets: Array
    ) -> tuple[RecurrentCarry, Array | GaussianOutput, Array]:
        """Run the network over a time-major sequence with `lax.scan`.

        Args:
          params: the module's variables (from `init`).
          carry: hidden state before the first step.
          xs: inputs, shape `[T, *batch, input_dim]` (or a pytree of such leaves).
          resets: bool, shape `[T, *batch]`; `resets[t]` zeroes the state before step t.

        Returns:
          `(final_carry, pis, values)` with a leading time axis on `pis` and `values`.
        """
        lengths = {jnp.shape(leaf)[0] for leaf in jax.tree.leaves(xs)}
        if lengths != {jnp.shape(resets)[0]}:
            raise ValueError(
                f"xs and resets need the same time length, got {sorted(lengths)} and "
                f"{jnp.shape(resets)[0]}."
            )

        encoded = self.encoder is not None
        if encoded:  # the encoder is not recurrent: one pass over every step of the sequence
            xs = self.apply(params, xs, method=lambda module, x: module.encoder(x))

        def step(c: RecurrentCarry, inputs: tuple[Array, Array]) -> tuple[RecurrentCarry, Any]:
            x, reset = inputs
            c, pi, value = self.apply(params, c, x, reset, encoded)
            return c, (pi, value)

        final, (pis, values) = lax.scan(step, carry, (xs, resets))
        return final, pis, values
