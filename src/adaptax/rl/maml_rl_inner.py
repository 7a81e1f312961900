"""MAML-RL's inner loop: advantages, the policy-gradient adaptation step, the test chain.

For one task and a policy π_θ(a|s) = N(μ_θ(s), σ²), K trajectories of T steps from a sampler
(`adaptax.rl.sampling`) are turned into a `Batch`:

    m_{n,t} = Π_{s<t} (1 − d_{n,s})                      (valid up to the first episode end)
    G_{n,t} = Σ_{k≥0} γ^k r_{n,t+k}                       (discounted return within the episode)
    A = G − b,  b = rllab's linear feature baseline refitted on these K trajectories
    Â = m (A − mean A) / (std A + 1e-8)                   (rllab's ``center_adv``)

and the inner REINFORCE loss on it is L(θ; D) = − mean_{valid} log π_θ(a|s) Â, the inner step
θ' = θ − α ∇_θ L(θ; D) (`adapt_policy`), and the test protocol `adaptation_returns`.

Nothing here sees an environment: the functions take the policy's ``apply_fn`` and the data.
`sample_and_adapt` and `adaptation_returns` take a sampler and a batch of tasks; with a
traceable sampler they can be jitted whole, with a host sampler (MuJoCo) they run in Python and
jit their pieces. The outer loop (meta-objective through these steps, TRPO) is
`adaptax.rl.maml_rl`; ``algo`` below is its `MAMLRL` settings.

Reference: Finn et al. 2017, §5.3 and App. A.2; code cbfinn/maml_rl (rllab's sampler, baseline
and ``center_adv``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from adaptax.meta import maml
from adaptax.parallel import shard_batch
from adaptax.rl import linear_baseline
from adaptax.rl.losses import gaussian_log_prob, masked_mean
from adaptax.rl.returns import discounted_returns
from adaptax.rl.sampling import ApplyFn, Rollouts, Sampler
from adaptax.types import Array

__all__ = [
    "ApplyFn",
    "Batch",
    "adapt_policy",
    "adapt_chain",
    "adapt_sequence",
    "adapt_tasks",
    "adaptation_returns",
    "inner_loss",
    "process_batch",
    "process_rollouts",
    "sample_and_adapt",
]

Params = Any


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


def process_rollouts(algo: Any, rollouts: Rollouts) -> Batch:
    """`process_batch` for every task of a sampler's `Rollouts` (axes [tasks, K, T, …])."""
    return jax.vmap(lambda o, a, r, d, lp: process_batch(
        o, a, r, d, lp, algo.discount, algo.baseline_reg))(*rollouts)


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


def adapt_policy(algo: Any, apply_fn: ApplyFn, params: Params, batch: Batch,
                 lr: float) -> Params:
    """One inner step θ' = θ − α ∇_θ L(θ; D) (`adaptax.maml.adapt`, second order unless
    ``algo.first_order``)."""
    return maml.adapt(lambda p, b: inner_loss(apply_fn, p, b, algo.inner_estimator), params,
                      batch, lr=lr, steps=1, first_order=algo.first_order)


def adapt_tasks(algo: Any, apply_fn: ApplyFn, params: Params, batch: Batch, lr: Any,
                shared: bool = False) -> Params:
    """`adapt_policy` on every task of a task-batched `Batch`: θ'_i = θ_i − α ∇L(θ_i; D_i)
    (``shared``: one θ for all tasks)."""
    return jax.vmap(lambda p, b: adapt_policy(algo, apply_fn, p, b, lr),
                    (None if shared else 0, 0))(params, batch)


def adapt_sequence(algo: Any, apply_fn: ApplyFn, params: Params, batches: tuple[Batch, ...],
                   lrs: tuple[float, ...]) -> Params:
    """θ_j+1 = θ_j − α_j ∇L(θ_j; D_j) for the given batches D_0, D_1, … and step sizes α_j."""
    for batch, lr in zip(batches, lrs, strict=True):
        params = adapt_policy(algo, apply_fn, params, batch, lr)
    return params


def adapt_chain(algo: Any, apply_fn: ApplyFn, params: Params, batches: tuple[Batch, ...],
                lrs: tuple[float, ...]) -> tuple[Params, ...]:
    """(θ_0, θ_1, …, θ_S): θ_0 = params, θ_j+1 = θ_j − α_j ∇L(θ_j; D_j)."""
    chain = [params]
    for batch, lr in zip(batches, lrs, strict=True):
        chain.append(adapt_policy(algo, apply_fn, chain[-1], batch, lr))
    return tuple(chain)


# A host sampler (MuJoCo) runs in Python between these; inside a traced iteration the plain
# functions are used.
_process_jit = jax.jit(process_rollouts, static_argnums=0)
_adapt_tasks_jit = jax.jit(adapt_tasks, static_argnums=(0, 1, 5))


def sample_and_adapt(algo: Any, apply_fn: ApplyFn, sampler: Sampler, params: Params,
                     tasks: Any, keys: Array, step_sizes: tuple[Any, ...], num_trajs: int
                     ) -> tuple[list[Batch], list[Params]]:
    """The adaptation chain on a batch of tasks: D_j ~ π_{θ_j}, θ_{j+1} = θ_j − α_j ∇L(θ_j; D_j).

    Task i's key is split into S + 1, one per sampling round j (S = len(step_sizes)). The task
    axis is split across the devices of a mesh in use (`adaptax.parallel.shard_batch`).

    Args:
      algo: the settings (discount, baseline, inner estimator, first order).
      apply_fn: the policy, ``(θ, s) -> (μ, log σ)``.
      sampler: an `adaptax.rl.sampling.Sampler`.
      params: θ_0, shared by all tasks.
      tasks: the tasks (leading axis B).
      keys: ``[B, 2]`` PRNG keys, one per task.
      step_sizes: α_0 … α_{S−1} (numbers or traced scalars).
      num_trajs: trajectories per task per round K.

    Returns:
      ``([D_0, …, D_S], [θ_0, …, θ_S])`` with a leading task axis (θ_0 the shared θ; D_S the
      trajectories of the final policy, which no step uses).
    """
    if sampler.traceable:
        process, adapt = process_rollouts, adapt_tasks
        tasks, keys = shard_batch((tasks, keys))
    else:
        process, adapt = _process_jit, _adapt_tasks_jit
    steps = len(step_sizes)
    round_keys = jax.vmap(lambda k: jax.random.split(k, steps + 1))(keys)
    batches, chain = [], [params]
    for j in range(steps + 1):  # a static handful of adaptation steps
        rollouts = sampler(apply_fn, chain[-1], tasks, round_keys[:, j], num_trajs, j == 0)
        batches.append(process(algo, rollouts))
        if j < steps:
            chain.append(adapt(algo, apply_fn, chain[-1], batches[-1], step_sizes[j], j == 0))
    return batches, chain


def adaptation_returns(algo: Any, apply_fn: ApplyFn, sampler: Sampler, params: Params,
                       tasks: Any, keys: Array, steps: int, num_trajs: int,
                       step_sizes: tuple[Any, ...] | None = None) -> Array:
    """Mean return on each task after 0, 1, …, `steps` inner steps (the §5.3 test protocol).

        R_j = mean over `num_trajs` trajectories of π_{θ_j},  θ_{j+1} = θ_j − α_j ∇L(θ_j; D_j)

    with α_0 = α and α_j = α/2 after (`algo.step_sizes`), D_j the trajectories of step j
    (`sample_and_adapt`).

    Args:
      algo: the settings (discount, baseline, step sizes).
      apply_fn: the policy.
      sampler: the sampler of the tasks' environment.
      params: θ_0.
      tasks: the tasks (leading axis B).
      keys: ``[B, 2]`` PRNG keys.
      steps: number of inner steps.
      num_trajs: trajectories per step (paper: 40).
      step_sizes: override of α_0 … α_{steps−1}.

    Returns:
      ``[B, steps + 1]`` mean returns.
    """
    lrs = algo.step_sizes(steps) if step_sizes is None else tuple(step_sizes)
    if len(lrs) != steps:
        raise ValueError(f"step_sizes must have {steps} entries, got {len(lrs)}")
    batches, _ = sample_and_adapt(algo, apply_fn, sampler, params, tasks, keys, lrs, num_trajs)
    return jnp.stack([jnp.mean(b.episode_return, axis=1) for b in batches], axis=1)
