"""MAML-RL's inner loop: sampling, REINFORCE advantages, the policy-gradient adaptation step.

For one task and a policy π_θ(a|s) = N(μ_θ(s), σ²), K rollouts of T steps are turned into a
`Batch`:

    m_{n,t} = Π_{s<t} (1 − d_{n,s})                      (valid up to the first episode end)
    G_{n,t} = Σ_{k≥0} γ^k r_{n,t+k}                       (discounted return within the episode)
    A = G − b,  b = rllab's linear feature baseline refitted on these K trajectories
    Â = m (A − mean A) / (std A + 1e-8)                   (rllab's ``center_adv``)

and the inner REINFORCE loss on it is L(θ; D) = − mean_{valid} log π_θ(a|s) Â, the inner step
θ' = θ − α ∇_θ L(θ; D) (`adapt_policy`), and the test protocol `adaptation_returns`.

The outer loop (meta-objective through these steps, TRPO) is `adaptax.rl.maml_rl`; ``algo`` below
is its `MAMLRL` settings.

Reference: Finn et al. 2017, §5.3 and App. A.2; code cbfinn/maml_rl (rllab's sampler, baseline
and ``center_adv``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from adaptax.meta import maml
from adaptax.rl import linear_baseline
from adaptax.rl.losses import gaussian_log_prob, masked_mean
from adaptax.rl.returns import discounted_returns
from adaptax.rl.rollout import RolloutCarry, rollout
from adaptax.types import Array, PRNGKey

__all__ = [
    "ApplyFn",
    "Batch",
    "adapt_policy",
    "adapt_chain",
    "adapt_sequence",
    "adaptation_returns",
    "inner_loss",
    "make_policy_fn",
    "process_batch",
    "sample_and_adapt",
    "sample_batch",
]

Params = Any
ApplyFn = Callable[[Params, Array], tuple[Array, Array]]  # params, obs -> (mean, log_std)


class Batch(NamedTuple):
    """K trajectories of one task, padded to the horizon T (leading axes [K, T]).

    Attributes:
      obs: s_{n,t}, ``[K, T, obs_dim]``.
      action: a_{n,t}, ``[K, T, action_dim]``.
      reward: r_{n,t}, ``[K, T]``.
      mask: 1 up to and including the first episode end, 0 after it (``[K, T]``).
      log_prob: log π(a|s) under the sampling policy, ``[K, T]``.
      advantage: standardised Â = G − b, ``[K, T]`` (0 where masked).
      episode_return: undiscounted return Σ_t r_{n,t} of each trajectory, ``[K]``.
      adv_scale: the divisor s = std A + 1e-8 that standardised the advantages, repeated per
        trajectory (``[K]``, so that a batch slices along K like its other fields).
    """

    obs: Array
    action: Array
    reward: Array
    mask: Array
    log_prob: Array
    advantage: Array
    episode_return: Array
    adv_scale: Array


def make_policy_fn(apply_fn: ApplyFn):
    """The `rollout` policy: a ~ N(μ_θ(s), σ²), returning (None, a, log π(a|s), 0)."""

    def policy_fn(params: Params, carry: None, obs: Array, key: PRNGKey):
        mean, log_std = apply_fn(params, obs)
        action = mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape, mean.dtype)
        return carry, action, gaussian_log_prob(mean, log_std, action), jnp.zeros((), mean.dtype)

    return policy_fn


def _valid_mask(done: Array) -> Array:
    """1 for t ≤ the first done, 0 after: m_t = Π_{s<t} (1 − d_s)."""
    alive = jnp.cumprod(1.0 - done.astype(jnp.float32))
    return jnp.concatenate([jnp.ones((1,), jnp.float32), alive[:-1]])


def process_batch(obs, action, reward, done, log_prob, discount: float,
                  baseline_reg: float = linear_baseline.REG_COEFF) -> Batch:
    """Masks, discounted returns, baseline fit and standardised advantages for one task.

        G_{n,t} = Σ_{k≥0} γ^k r_{n,t+k} (up to the episode end),  Â = (A − mean A) / (std A + 1e-8),
        A = G − b,  b = linear feature baseline refitted on this batch (mean/std over valid steps).

    Args:
      obs, action, reward, done, log_prob: ``[K, T, ...]`` arrays from K rollouts.
      discount: γ.
      baseline_reg: ridge coefficient of the baseline.

    Returns:
      A `Batch`.
    """
    mask = jax.vmap(_valid_mask)(done)
    returns = jax.vmap(lambda r, d: discounted_returns(r, d, discount))(reward * mask, done)
    baseline = linear_baseline.fit_predict(obs, returns, mask, baseline_reg)
    adv = returns - baseline
    mean = masked_mean(adv, mask)
    std = jnp.sqrt(masked_mean(jnp.square(adv - mean), mask))
    scale = std + 1e-8
    adv = mask * (adv - mean) / scale
    return Batch(obs=obs, action=action, reward=reward * mask, mask=mask, log_prob=log_prob,
                 advantage=adv, episode_return=jnp.sum(reward * mask, axis=1),
                 adv_scale=jnp.full(mask.shape[:1], scale))


def sample_batch(algo: Any, params: Params, task: Any, key: PRNGKey,
                 num_trajs: int | None = None) -> Batch:
    """K trajectories of π_θ on one task, processed into a `Batch` (vmap for many tasks).

    Args:
      algo: the settings (`adaptax.rl.maml_rl.MAMLRL`: env, apply_fn, horizon, num_trajs,
        discount, baseline_reg).
      params: θ.
      task: the task (EnvParams).
      key: PRNG key.
      num_trajs: K (default ``algo.num_trajs``).

    Returns:
      A `Batch` with leading axes ``[K, horizon]``.
    """
    k = algo.num_trajs if num_trajs is None else num_trajs
    policy_fn = make_policy_fn(algo.apply_fn)

    def one(key_traj: PRNGKey):
        key_reset, key_roll = jax.random.split(key_traj)
        obs, state = algo.env.reset(key_reset, task)
        _, traj = rollout(algo.env, task, policy_fn, params,
                          RolloutCarry(state, obs, None, key_roll), algo.horizon)
        return traj

    traj = jax.vmap(one)(jax.random.split(key, k))
    return process_batch(traj.obs, traj.action, traj.reward, traj.done, traj.log_prob,
                         algo.discount, algo.baseline_reg)


ESTIMATORS = ("reinforce", "lvc")


def inner_loss(apply_fn: ApplyFn, params: Params, batch: Batch,
               estimator: str = "reinforce") -> Array:
    """The inner loss whose gradient is the policy-gradient estimate (advantages held constant).

        "reinforce" (the paper):  L(θ; D) = − mean_{valid} log π_θ(a|s) Â
        "lvc" (Rothfuss et al. 2019, ProMP's low-variance curvature):
                                  L(θ; D) = − mean_{valid} π_θ(a|s) / ⊥π_θ(a|s) · Â

    with ⊥ stop-gradient. Both have the gradient −(1/Σm) Σ_{n,t} m Â ∇ log π_θ(a_{n,t}|s_{n,t}),
    so one inner step moves the policy identically; they differ in the Hessian that the
    meta-gradient differentiates through. REINFORCE's is −mean Â ∇² log π, which misses the
    score term of the expected return's Hessian; LVC's adds the per-step part of it,
    −mean Â ∇log π ∇log πᵀ (ProMP §4: it credits the pre-adaptation policy for the data its inner
    step learns from).
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    mean, log_std = apply_fn(params, batch.obs)
    logp = gaussian_log_prob(mean, log_std, batch.action)
    term = jnp.exp(logp - lax.stop_gradient(logp)) if estimator == "lvc" else logp
    return -masked_mean(term * lax.stop_gradient(batch.advantage), batch.mask)


def adapt_policy(algo: Any, params: Params, batch: Batch, lr: float) -> Params:
    """One inner step θ' = θ − α ∇_θ L(θ; D) (`adaptax.maml.adapt`, second order unless
    ``algo.first_order``)."""
    return maml.adapt(lambda p, b: inner_loss(algo.apply_fn, p, b, algo.inner_estimator), params,
                      batch, lr=lr, steps=1, first_order=algo.first_order)


def adapt_sequence(algo: Any, params: Params, batches: tuple[Batch, ...],
                   lrs: tuple[float, ...]) -> Params:
    """θ_j+1 = θ_j − α_j ∇L(θ_j; D_j) for the given batches D_0, D_1, … and step sizes α_j."""
    for batch, lr in zip(batches, lrs, strict=True):
        params = adapt_policy(algo, params, batch, lr)
    return params


def adapt_chain(algo: Any, params: Params, batches: tuple[Batch, ...],
                lrs: tuple[float, ...]) -> tuple[Params, ...]:
    """(θ_0, θ_1, …, θ_S): θ_0 = params, θ_j+1 = θ_j − α_j ∇L(θ_j; D_j)."""
    chain = [params]
    for batch, lr in zip(batches, lrs, strict=True):
        chain.append(adapt_policy(algo, chain[-1], batch, lr))
    return tuple(chain)


def sample_and_adapt(algo: Any, params: Params, task: Any, key: PRNGKey,
                     step_sizes: tuple[float, ...], num_trajs: int
                     ) -> tuple[list[Batch], list[Params]]:
    """The test-time chain on one task: D_j ~ π_{θ_j}, θ_{j+1} = θ_j − α_j ∇L(θ_j; D_j).

    Returns:
      ``([D_0, …, D_S], [θ_0, …, θ_S])`` for S = len(step_sizes) (D_S: the trajectories of the
      final policy, which no step uses).
    """
    keys = jax.random.split(key, len(step_sizes) + 1)
    batches, chain = [], [params]
    for j in range(len(step_sizes) + 1):  # a static handful of adaptation steps
        batches.append(sample_batch(algo, chain[-1], task, keys[j], num_trajs))
        if j < len(step_sizes):
            chain.append(adapt_policy(algo, chain[-1], batches[-1], step_sizes[j]))
    return batches, chain


def adaptation_returns(algo: Any, params: Params, task: Any, key: PRNGKey, steps: int,
                       num_trajs: int, step_sizes: tuple[float, ...] | None = None) -> Array:
    """Mean return on one task after 0, 1, …, `steps` inner steps (the §5.3 test protocol).

        R_j = mean over `num_trajs` trajectories of π_{θ_j},  θ_{j+1} = θ_j − α_j ∇L(θ_j; D_j)

    with α_0 = α and α_j = α/2 after (`algo.step_sizes`), D_j the trajectories of step j
    (`sample_and_adapt`).

    Args:
      algo: the settings (env, policy, horizon, discount, step sizes).
      params: θ_0.
      task: the task (EnvParams).
      key: PRNG key.
      steps: number of inner steps.
      num_trajs: trajectories per step (paper: 40).
      step_sizes: override of α_0 … α_{steps−1}.

    Returns:
      ``[steps + 1]`` mean returns; vmap over tasks.
    """
    lrs = algo.step_sizes(steps) if step_sizes is None else tuple(step_sizes)
    if len(lrs) != steps:
        raise ValueError(f"step_sizes must have {steps} entries, got {len(lrs)}")
    batches, _ = sample_and_adapt(algo, params, task, key, lrs, num_trajs)
    return jnp.stack([jnp.mean(b.episode_return) for b in batches])
