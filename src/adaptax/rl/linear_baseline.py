"""rllab's linear feature baseline: a ridge regression of returns on time and observation features.

For one task, fitted on all its sampled trajectories (each of length T, padded and masked):

    φ(s_t, t) = [clip(s_t, −10, 10), clip(s_t, −10, 10)², t/100, (t/100)², (t/100)³, 1]
    w = argmin_w Σ_{valid (n,t)} (φ_{n,t}·w − G_{n,t})² + λ ‖w‖²  =  (ΦᵀMΦ + λI)⁻¹ ΦᵀM G

with M the diagonal validity mask and λ = 1e-5 (rllab's ``reg_coeff``). MAML-RL refits it on
every task's batch before computing the advantages A_{n,t} = G_{n,t} − φ_{n,t}·w.
As rllab, when the solve is not finite (a singular ΦᵀMΦ: e.g. the oracle's goal coordinates are
constant within a task, so they, their squares and the bias are collinear) it retries with 10λ,
up to 5 times (all five solves are computed and the first finite one is kept, so it jits).

Reference: rllab ``rllab/baselines/linear_feature_baseline.py`` (used by cbfinn/maml_rl);
Finn et al. 2017, §5.3 and App. A.2.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from adaptax.types import Array

__all__ = ["features", "fit", "predict", "fit_predict"]

OBS_CLIP = 10.0  # rllab clips observations to [-10, 10] before building features
TIME_SCALE = 100.0  # rllab: t / 100
REG_COEFF = 1e-5  # rllab's reg_coeff
RETRIES = 5  # rllab: up to 5 solves, multiplying reg_coeff by 10 after a non-finite one


def features(obs: Array) -> Array:
    """Features of one trajectory, time-major.

        φ_t = [o_t, o_t², t/100, (t/100)², (t/100)³, 1],   o_t = clip(obs_t, −10, 10)

    Args:
      obs: observations ``[T, d]``.

    Returns:
      ``[T, 2d + 4]`` features.

    Example:
      >>> [round(float(v), 6) for v in features(jnp.array([[0.5], [2.0]]))[1]]
      [2.0, 4.0, 0.01, 0.0001, 1e-06, 1.0]
    """
    obs = jnp.asarray(obs)
    if obs.ndim != 2:
        raise ValueError(f"obs must be [T, obs_dim], got shape {obs.shape}")
    o = jnp.clip(obs, -OBS_CLIP, OBS_CLIP)
    t = (jnp.arange(obs.shape[0], dtype=o.dtype) / TIME_SCALE)[:, None]
    return jnp.concatenate([o, o**2, t, t**2, t**3, jnp.ones_like(t)], axis=1)


def fit(phi: Array, returns: Array, mask: Array | None = None, reg: float = REG_COEFF) -> Array:
    """Ridge least squares of `returns` on features `phi` over the valid rows.

        w = (ΦᵀMΦ + λI)⁻¹ ΦᵀM G

    Args:
      phi: features ``[..., F]`` (e.g. ``[N, T, F]`` for N trajectories of one task).
      returns: targets G of shape ``phi.shape[:-1]``.
      mask: optional validity weights of the shape of `returns` (padding after an episode end).
      reg: ridge coefficient λ ≥ 0 (rllab: 1e-5).

    Returns:
      coefficients ``[F]``.

    Example:
      >>> obs = jnp.linspace(-1.0, 1.0, 20)[:, None]      # one trajectory of 20 steps
      >>> phi = features(obs)
      >>> returns = phi @ jnp.arange(6.0)                  # exactly linear in the features
      >>> baseline = predict(fit(phi, returns), phi)
      >>> bool(jnp.abs(baseline - returns).max() < 1e-2)
      True
    """
    if reg < 0:
        raise ValueError(f"reg must be non-negative, got {reg}")
    x = phi.reshape(-1, phi.shape[-1])
    y = returns.reshape(-1)
    m = jnp.ones_like(y) if mask is None else jnp.asarray(mask, x.dtype).reshape(-1)
    xtx = (x * m[:, None]).T @ x
    xty = (x * m[:, None]).T @ y
    eye = jnp.eye(x.shape[1], dtype=x.dtype)
    regs = reg * 10.0 ** jnp.arange(RETRIES, dtype=x.dtype)
    solves = jax.vmap(lambda r: jnp.linalg.solve(xtx + r * eye, xty))(regs)
    finite = jnp.all(jnp.isfinite(solves), axis=1)
    first = jnp.argmax(finite)  # 0 when none is finite: the NaN then reaches the NaN guard
    return solves[first]


def predict(coeffs: Array, phi: Array) -> Array:
    """Baseline values φ·w, of shape ``phi.shape[:-1]``."""
    return phi @ coeffs


def fit_predict(
    obs: Array, returns: Array, mask: Array | None = None, reg: float = REG_COEFF
) -> Array:
    """Fit on a task's trajectories and return the baseline at every step.

    Args:
      obs: ``[N, T, d]`` observations of N trajectories.
      returns: ``[N, T]`` discounted returns.
      mask: ``[N, T]`` validity (optional).
      reg: ridge coefficient λ.

    Returns:
      ``[N, T]`` baseline values b(s_t, t).
    """
    if obs.ndim != 3:
        raise ValueError(f"obs must be [N, T, obs_dim], got shape {obs.shape}")
    phi = jax.vmap(features)(obs)
    return predict(fit(phi, returns, mask, reg), phi)
