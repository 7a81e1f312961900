"""Policy-gradient surrogates and the distribution helpers they need, on plain arrays.

Everything here is a pure function of arrays. The distribution helpers act on the last axis (the
action axis) and broadcast over any leading axes; the surrogates reduce over every axis with an
optional mask, because trials and trajectories are padded to static shapes and the padded steps
must not count.

Two policy families are covered: categorical (given by logits) and diagonal Gaussian (given by a
mean and a log standard deviation per action dimension).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

Array = jax.Array

__all__ = [
    "categorical_entropy",
    "categorical_kl",
    "categorical_log_prob",
    "gaussian_entropy",
    "gaussian_kl",
    "gaussian_log_prob",
    "importance_surrogate",
    "masked_mean",
    "reinforce_loss",
]

_LOG_2PI = math.log(2.0 * math.pi)


def masked_mean(x: Array, mask: Array | None = None) -> Array:
    """Mean of `x` over the entries where `mask` is non-zero (the plain mean without a mask).

        masked_mean(x, m) = Σ_i m_i x_i / Σ_i m_i,    and 0 when Σ_i m_i = 0.

    `mask` may be bool or float (float masks act as weights) and must broadcast to `x.shape`.

    Args:
      x: values, any shape.
      mask: optional weights of a shape that broadcasts to `x.shape`.

    Returns:
      A scalar.

    Example:
      >>> masked_mean(jnp.array([1.0, 2.0, 100.0]), jnp.array([True, True, False]))
      Array(1.5, dtype=float32)
    """
    x = jnp.asarray(x)
    if mask is None:
        return jnp.mean(x)
    mask = jnp.asarray(mask)
    try:
        shape = jnp.broadcast_shapes(mask.shape, x.shape)
    except ValueError:
        shape = None
    if shape != x.shape:
        raise ValueError(
            f"mask of shape {mask.shape} does not broadcast to the values' shape {x.shape}."
        )
    weights = jnp.broadcast_to(mask, x.shape).astype(jnp.result_type(x.dtype, jnp.float32))
    total = jnp.sum(weights)
    safe_total = jnp.where(total > 0, total, 1.0)
    return jnp.where(total > 0, jnp.sum(weights * x) / safe_total, 0.0)


def reinforce_loss(log_prob: Array, advantages: Array, mask: Array | None = None) -> Array:
    """REINFORCE (vanilla policy-gradient) loss, to minimise.

        L(θ) = − mean_t [ log π_θ(a_t | s_t) · A_t ],

    whose gradient is minus the likelihood-ratio policy gradient. The advantages are treated as
    constants (`stop_gradient`).

    Args:
      log_prob: `log π_θ(a_t | s_t)` of the actions taken, any shape.
      advantages: `A_t` (returns minus a baseline), same shape.
      mask: optional validity mask (1 = real step, 0 = padding), broadcastable to that shape.

    Returns:
      The scalar loss.

    Example:
      >>> reinforce_loss(jnp.log(jnp.array([0.5, 0.25])), jnp.array([1.0, -1.0]))
      Array(-0.3465736, dtype=float32)

    Reference: Williams, "Simple statistical gradient-following algorithms for connectionist
    reinforcement learning", Machine Learning 8 (1992); MAML's inner step (Finn et al. 2017 §5.3).
    """
    _check_same_shape(log_prob=log_prob, advantages=advantages)
    return -masked_mean(log_prob * jax.lax.stop_gradient(advantages), mask)


def importance_surrogate(
    new_log_prob: Array, old_log_prob: Array, advantages: Array, mask: Array | None = None
) -> Array:
    """TRPO's importance-sampled surrogate objective, to MAXIMISE.

        L_{θ_old}(θ) = mean_t [ π_θ(a_t | s_t) / π_θ_old(a_t | s_t) · A_t ].

    At θ = θ_old its gradient equals the policy gradient. The old log-probabilities and the
    advantages are treated as constants (`stop_gradient`). Pass its negation to `trpo_step`.

    Args:
      new_log_prob: `log π_θ(a_t | s_t)`, any shape.
      old_log_prob: `log π_θ_old(a_t | s_t)` recorded when sampling, same shape.
      advantages: `A_t`, same shape.
      mask: optional validity mask, broadcastable to that shape.

    Returns:
      The scalar surrogate objective.

    Example:
      >>> importance_surrogate(jnp.log(jnp.array([0.6])), jnp.log(jnp.array([0.5])),
      ...                      jnp.array([2.0]))
      Array(2.4, dtype=float32)

    Reference: Schulman et al., "Trust Region Policy Optimization", ICML 2015, §5 eq. 14.
    """
    _check_same_shape(new_log_prob=new_log_prob, old_log_prob=old_log_prob, advantages=advantages)
    ratio = jnp.exp(new_log_prob - jax.lax.stop_gradient(old_log_prob))
    return masked_mean(ratio * jax.lax.stop_gradient(advantages), mask)


def categorical_log_prob(logits: Array, a: Array) -> Array:
    """Log-probability of integer actions under a categorical distribution given by logits.

        log π(a) = logits_a − log Σ_b exp(logits_b).

    Args:
      logits: unnormalised log-probabilities, shape `[..., n_actions]`.
      a: integer actions, shape `[...]` (the leading shape of `logits`).

    Returns:
      `log π(a)`, shape `[...]`.

    Example:
      >>> categorical_log_prob(jnp.log(jnp.array([0.2, 0.8])), jnp.array(1))
      Array(-0.22314355, dtype=float32)
    """
    logits = jnp.asarray(logits)
    a = jnp.asarray(a)
    if a.shape != logits.shape[:-1]:
        raise ValueError(
            f"actions of shape {a.shape} must match the logits' leading shape "
            f"{logits.shape[:-1]} (logits shape {logits.shape})."
        )
    if not jnp.issubdtype(a.dtype, jnp.integer):
        raise ValueError(f"categorical actions must be integers, got dtype {a.dtype}.")
    log_p = jax.nn.log_softmax(logits, axis=-1)
    return jnp.take_along_axis(log_p, a[..., None], axis=-1)[..., 0]


def categorical_entropy(logits: Array) -> Array:
    """Entropy of a categorical distribution given by logits.

        H(π) = − Σ_a π(a) log π(a).

    Args:
      logits: shape `[..., n_actions]`.

    Returns:
      `H`, shape `[...]`, in nats.

    Example:
      >>> categorical_entropy(jnp.zeros(4))  # uniform over 4: log 4
      Array(1.3862944, dtype=float32)
    """
    log_p = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.sum(jnp.exp(log_p) * log_p, axis=-1)


def categorical_kl(logits_p: Array, logits_q: Array) -> Array:
    """KL divergence KL(p ‖ q) between two categorical distributions given by logits.

        KL(p ‖ q) = Σ_a p(a) (log p(a) − log q(a)).

    For TRPO's constraint pass the fixed old policy as `p` and the new one as `q`.

    Args:
      logits_p: shape `[..., n_actions]`.
      logits_q: same shape.

    Returns:
      `KL`, shape `[...]`, in nats.

    Example:
      >>> categorical_kl(jnp.log(jnp.array([0.5, 0.5])), jnp.log(jnp.array([0.25, 0.75])))
      Array(0.14384101, dtype=float32)
    """
    _check_same_shape(logits_p=logits_p, logits_q=logits_q)
    log_p = jax.nn.log_softmax(logits_p, axis=-1)
    log_q = jax.nn.log_softmax(logits_q, axis=-1)
    return jnp.sum(jnp.exp(log_p) * (log_p - log_q), axis=-1)


def gaussian_log_prob(mean: Array, log_std: Array, a: Array) -> Array:
    """Log-density of actions under a diagonal Gaussian, summed over the action dimensions.

        log π(a) = Σ_i [ −½ ((a_i − μ_i) / σ_i)² − log σ_i − ½ log 2π ].

    Args:
      mean: `μ`, shape `[..., action_dim]`.
      log_std: `log σ`, broadcastable to `mean` (e.g. a state-independent `[action_dim]`).
      a: actions, shape of `mean`.

    Returns:
      `log π(a)`, shape `[...]`.

    Example:
      >>> gaussian_log_prob(jnp.zeros(1), jnp.zeros(1), jnp.ones(1))  # −½ − ½ log 2π
      Array(-1.4189385, dtype=float32)
    """
    _check_same_shape(mean=mean, a=a)
    z = (a - mean) * jnp.exp(-log_std)
    per_dim = -0.5 * jnp.square(z) - log_std - 0.5 * _LOG_2PI
    return jnp.sum(jnp.broadcast_to(per_dim, jnp.shape(mean)), axis=-1)


def gaussian_entropy(log_std: Array) -> Array:
    """Entropy of a diagonal Gaussian, summed over the action dimensions.

        H = Σ_i [ log σ_i + ½ log(2π e) ].

    It does not depend on the mean; broadcast `log_std` to the batch shape first if one entropy
    per sample is wanted.

    Args:
      log_std: `log σ`, shape `[..., action_dim]`.

    Returns:
      `H`, shape `[...]`, in nats.

    Example:
      >>> gaussian_entropy(jnp.zeros(2))  # 2 · ½ log(2π e)
      Array(2.837877, dtype=float32)
    """
    return jnp.sum(log_std + 0.5 * (_LOG_2PI + 1.0), axis=-1)


def gaussian_kl(mean_p: Array, log_std_p: Array, mean_q: Array, log_std_q: Array) -> Array:
    """KL divergence KL(p ‖ q) between two diagonal Gaussians, summed over action dimensions.

        KL(p ‖ q) = Σ_i [ log(σ_q,i / σ_p,i) + (σ_p,i² + (μ_p,i − μ_q,i)²) / (2 σ_q,i²) − ½ ].

    For TRPO's constraint pass the fixed old policy as `p` and the new one as `q`.

    Args:
      mean_p: `μ_p`, shape `[..., action_dim]`.
      log_std_p: `log σ_p`, broadcastable to `mean_p`.
      mean_q: `μ_q`, shape of `mean_p`.
      log_std_q: `log σ_q`, broadcastable to `mean_p`.

    Returns:
      `KL`, shape `[...]`, in nats.

    Example:
      >>> gaussian_kl(jnp.zeros(1), jnp.zeros(1), jnp.ones(1), jnp.zeros(1))  # ½ (0 − 1)²
      Array(0.5, dtype=float32)
    """
    _check_same_shape(mean_p=mean_p, mean_q=mean_q)
    var_ratio = jnp.exp(2.0 * (log_std_p - log_std_q))
    mahalanobis = jnp.square((mean_p - mean_q) * jnp.exp(-log_std_q))
    per_dim = log_std_q - log_std_p + 0.5 * (var_ratio + mahalanobis) - 0.5
    return jnp.sum(jnp.broadcast_to(per_dim, jnp.shape(mean_p)), axis=-1)


def _check_same_shape(**arrays: Array) -> None:
    """Raise ValueError unless all arrays share one shape."""
    shapes = {name: jnp.shape(x) for name, x in arrays.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"inputs must have the same shape, got {shapes}.")
