"""PPO-clip loss (Schulman et al. 2017) on arrays, with an optional clipped value loss.

RL² was trained with TRPO; an independent PPO reproduction matched its tables (REFERENCE.md), so
PPO is an accepted trainer beside TRPO. The loss is written on per-step arrays of any shape; a
mask leaves padded steps out of every mean.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from adaptax.rl.losses import masked_mean

Array = jax.Array

__all__ = ["PPOInfo", "normalize_advantages", "ppo_loss"]


class PPOInfo(NamedTuple):
    """Diagnostics of `ppo_loss` (all scalars, means over the unmasked steps).

    Attributes:
      policy_loss: the clipped surrogate loss −L^CLIP.
      value_loss: the (clipped) squared-error value loss, including its factor ½.
      entropy: mean policy entropy.
      approx_kl: estimate of KL(π_old ‖ π_new), mean of (r − 1) − log r (unbiased, ≥ 0).
      clip_fraction: fraction of steps whose ratio lies outside [1 − ε, 1 + ε].
    """

    policy_loss: Array
    value_loss: Array
    entropy: Array
    approx_kl: Array
    clip_fraction: Array


def ppo_loss(
    new_log_prob: Array,
    old_log_prob: Array,
    advantages: Array,
    values: Array,
    old_values: Array,
    returns: Array,
    entropy: Array,
    *,
    clip_eps: float = 0.2,
    vf_coef: float = 0.5,
    ent_coef: float = 0.0,
    clip_value: bool = True,
    mask: Array | None = None,
) -> tuple[Array, PPOInfo]:
    """PPO's clipped surrogate plus value loss minus entropy bonus, to minimise.

    With r_t = π_θ(a_t|s_t) / π_old(a_t|s_t) = exp(new_log_prob − old_log_prob):

        L^CLIP  = mean_t [ min(r_t A_t, clip(r_t, 1 − ε, 1 + ε) A_t) ]               (eq. 7)
        L^VF    = ½ mean_t [ max((V_t − R_t)², (V_old,t + clip(V_t − V_old,t, −ε, ε) − R_t)²) ]
        loss    = −L^CLIP + c_vf L^VF − c_ent mean_t H_t                              (eq. 9)

    The clipped value term (`clip_value=True`) is not in the paper: it is the OpenAI Baselines
    implementation detail that reuses ε for the value function; with `clip_value=False`
    L^VF = ½ mean_t (V_t − R_t)². The old log-probabilities, advantages, old values and returns
    are treated as constants (`stop_gradient`). Where the ratio is clipped on the side that
    would increase the objective, the policy term's gradient is zero.

    Args:
      new_log_prob: log π_θ(a_t|s_t) under the parameters being optimised, any shape.
      old_log_prob: log π_old(a_t|s_t) recorded when sampling, same shape.
      advantages: A_t (normalise with `normalize_advantages` if wanted), same shape.
      values: V_θ(s_t) under the parameters being optimised, same shape.
      old_values: V_old(s_t) recorded when sampling, same shape.
      returns: value targets R_t (e.g. GAE's λ-returns), same shape.
      entropy: policy entropy H_t at each step, same shape.
      clip_eps: ε > 0 (paper: 0.2).
      vf_coef: c_vf ≥ 0 (paper's Atari setting: 1; Baselines: 0.5).
      ent_coef: c_ent ≥ 0 (paper's Atari setting: 0.01).
      clip_value: whether to clip the value loss as above.
      mask: optional validity mask (1 = real step, 0 = padding) broadcastable to the shape.

    Returns:
      `(loss, PPOInfo)`.

    Example:
      >>> loss, info = ppo_loss(jnp.log(jnp.array([1.5])), jnp.zeros(1), jnp.ones(1),
      ...                       jnp.zeros(1), jnp.zeros(1), jnp.zeros(1), jnp.zeros(1))
      >>> loss  # ratio 1.5 clipped to 1.2: −min(1.5·1, 1.2·1)
      Array(-1.2, dtype=float32)

    Reference: Schulman et al., "Proximal Policy Optimization Algorithms", arXiv:1707.06347,
    §3 eq. 7 and §5 eq. 9.
    """
    arrays = dict(
        new_log_prob=new_log_prob,
        old_log_prob=old_log_prob,
        advantages=advantages,
        values=values,
        old_values=old_values,
        returns=returns,
        entropy=entropy,
    )
    shapes = {name: jnp.shape(x) for name, x in arrays.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"all per-step inputs must have the same shape, got {shapes}.")
    if not clip_eps > 0:
        raise ValueError(f"clip_eps must be positive, got {clip_eps}.")
    if vf_coef < 0 or ent_coef < 0:
        raise ValueError(f"vf_coef and ent_coef must be >= 0, got {vf_coef} and {ent_coef}.")

    sg = jax.lax.stop_gradient
    advantages, old_log_prob, old_values, returns = (
        sg(advantages),
        sg(old_log_prob),
        sg(old_values),
        sg(returns),
    )

    log_ratio = new_log_prob - old_log_prob
    ratio = jnp.exp(log_ratio)
    unclipped = ratio * advantages
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    policy_loss = -masked_mean(jnp.minimum(unclipped, clipped), mask)

    value_error = jnp.square(values - returns)
    if clip_value:
        values_clipped = old_values + jnp.clip(values - old_values, -clip_eps, clip_eps)
        value_error = jnp.maximum(value_error, jnp.square(values_clipped - returns))
    value_loss = 0.5 * masked_mean(value_error, mask)

    mean_entropy = masked_mean(entropy, mask)
    loss = policy_loss + vf_coef * value_loss - ent_coef * mean_entropy

    info = PPOInfo(
        policy_loss=policy_loss,
        value_loss=value_loss,
        entropy=mean_entropy,
        approx_kl=sg(masked_mean((ratio - 1.0) - log_ratio, mask)),
        clip_fraction=sg(masked_mean((jnp.abs(ratio - 1.0) > clip_eps).astype(ratio.dtype), mask)),
    )
    return loss, info


def normalize_advantages(advantages: Array, mask: Array | None = None, eps: float = 1e-8) -> Array:
    """Standardise advantages to zero mean and unit standard deviation over the valid steps.

        Â_t = (A_t − mean(A)) / (std(A) + eps),

    with the mean and (population) standard deviation taken over the entries where `mask` is
    non-zero; masked entries come back as 0.

    Args:
      advantages: A_t, any shape.
      mask: optional validity mask broadcastable to that shape.
      eps: added to the standard deviation to avoid dividing by zero.

    Returns:
      Â, the shape of `advantages`.

    Example:
      >>> normalize_advantages(jnp.array([1.0, 3.0]))  # mean 2, std 1
      Array([-1.,  1.], dtype=float32)

    Reference: common practice in PPO implementations (OpenAI Baselines `ppo2`); not in the paper.
    """
    advantages = jnp.asarray(advantages)
    mean = masked_mean(advantages, mask)
    std = jnp.sqrt(masked_mean(jnp.square(advantages - mean), mask))
    normalised = (advantages - mean) / (std + eps)
    if mask is None:
        return normalised
    return jnp.where(jnp.broadcast_to(mask, advantages.shape) > 0, normalised, 0.0)
