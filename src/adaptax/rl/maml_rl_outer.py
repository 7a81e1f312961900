"""MAML-RL's outer step: the post-adaptation surrogate through the inner steps, and TRPO on it.

For the data of one meta-batch (`adaptax.rl.maml_rl.sample_phase`: the inner steps' batches
D_0 … D_{S−1}, the post-adaptation batch D_S and the chain θ_0 = θ, θ_1, … θ_S):

    max_θ  mean_i mean_{j ∈ scored} mean_{D_j} [π_θj(θ)(a|s) / π_old(a|s) · Â_j]
    s.t.   mean_i mean_{j ∈ scored} mean_{D_j} KL(π_θj(θ_old) ‖ π_θj(θ)) ≤ δ,

with θ_j(θ) the inner steps applied to θ (`post_adaptation_surrogate`, `outer_problem`); its
Fisher-vector products are Jᵀ H J through the inner steps (`gauss_newton_fvp`), optionally on
a subsample anchored at the true adapted policies (`fvp_sample`); `outer_update` hands them to
`adaptax.rl.trpo.trpo_step`. Only the policy's ``apply_fn`` and the sampled data are needed; with
the task axis split across devices (`adaptax.parallel`), XLA inserts the cross-device means of
the loss, the KL and the Fisher products. ``algo`` below is `adaptax.rl.maml_rl.MAMLRL`.

Reference: Finn et al. 2017, Algorithm 3 with TRPO as the meta-optimiser (§5.3); code
cbfinn/maml_rl (rllab).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.flatten_util import ravel_pytree

from adaptax.rl.losses import gaussian_kl, gaussian_log_prob, importance_surrogate, masked_mean
from adaptax.rl.maml_rl_inner import ApplyFn, Batch, adapt_chain, adapt_policy
from adaptax.rl.trpo import trpo_step
from adaptax.types import Array

__all__ = [
    "MetaMetrics",
    "OuterProblem",
    "fvp_sample",
    "gauss_newton_fvp",
    "outer_problem",
    "outer_update",
    "post_adaptation_surrogate",
    "scored_steps",
]

Params = Any


class MetaMetrics(NamedTuple):
    """Per-iteration diagnostics.

    Attributes:
      loss: the TRPO surrogate loss after the update (the NaN guard watches it).
      pre_return: mean undiscounted return of the trajectories sampled with θ (before adapting).
      post_return: mean return with the adapted θ'_i (after ``inner_steps`` steps).
      kl: mean KL of the accepted outer step.
      step_fraction: accepted line-search fraction (0: step rejected).
      std: mean policy standard deviation σ = exp(log σ) of θ.
      inner_kl: mean KL(π_θ ‖ π_θ'_i) over the pre-adaptation states (how far the last inner
        step moves the policy; the α/2 diagnosis watches it).
      step_scale: the factor ``measured_step`` applied to the model's step (1 without it; > 1
        where the Fisher's model overestimated the KL).
    """

    loss: Array
    pre_return: Array
    post_return: Array
    kl: Array
    step_fraction: Array
    std: Array
    inner_kl: Array
    step_scale: Array


def scored_steps(algo: Any, num_inner: int) -> tuple[int, ...]:
    """Indices j of the chain θ_0 … θ_S whose returns the meta-objective scores."""
    if algo.meta_objective == "all" and num_inner > 0:
        return tuple(range(1, num_inner + 1))
    return (num_inner,)


def _sampled_by(pre_batches: tuple[Batch, ...], post_batch: Batch, j: int) -> Batch:
    """The trajectories θ_j sampled: the inner batch D_j for j < S, the post batch for j = S."""
    return pre_batches[j] if j < len(pre_batches) else post_batch


def post_adaptation_surrogate(algo: Any, apply_fn: ApplyFn, params: Params,
                              pre_batches: tuple[Batch, ...], post_batch: Batch,
                              lrs: tuple[float, ...]) -> Array:
    """The meta-objective of one task as a function of θ, through the inner steps.

        L'(θ) = mean_{j ∈ scored} mean_{D_j} [π_θj(θ)(a|s) / π_old(a|s) · Â_j],
        θ_j(θ) = adapt(θ; D_0, …, D_{j−1}),

    with π_old the policy that sampled D_j (its recorded log-probabilities); scored = {S} (the
    paper, D_S = the post-adaptation batch) or {1, …, S} (``meta_objective="all"``). At θ = θ_old
    its gradient is the MAML policy gradient (Finn et al. 2017, Algorithm 3, line 10).

    Args:
      algo: the settings.
      apply_fn: the policy.
      params: θ.
      pre_batches: the inner steps' batches (sampled with θ_old and its adaptations).
      post_batch: D_S, sampled with θ_S(θ_old).
      lrs: the inner step sizes.

    Returns:
      The scalar surrogate, to maximise.
    """
    chain = adapt_chain(algo, apply_fn, params, pre_batches, lrs)
    values = []
    for j in scored_steps(algo, len(pre_batches)):
        batch = _sampled_by(pre_batches, post_batch, j)
        mean, log_std = apply_fn(chain[j], batch.obs)
        logp = gaussian_log_prob(mean, log_std, batch.action)
        values.append(importance_surrogate(logp, batch.log_prob, batch.advantage, batch.mask))
    return jnp.mean(jnp.stack(values))


def _anchored_outputs(algo: Any, apply_fn: ApplyFn, params: Params,
                      pre_batches: tuple[Batch, ...], obs: Any,
                      lrs: tuple[float, ...], chain: tuple[Params, ...],
                      steps: tuple[int, ...] | None = None) -> Any:
    """Policy outputs on `obs` after inner steps that pass through the given chain θ_0, θ_1, …

        θ̃_{j+1}(θ) = θ̃_j − α_j ∇L(θ̃_j; B_j) + c_j,   c_j = θ_{j+1} − (θ_j − α_j ∇L(θ_j; B_j)),
        θ̃_0 = θ,   output = π_{θ̃_n}(· | obs)

    with c_j held constant. At θ = θ_0 every θ̃_j equals θ_j exactly, and the Jacobian of the chain
    is Π_j (I − α_j ∇²L(θ_j; B_j)). With B_j the full inner batches c_j = 0 and this is
    `adapt_sequence`; with a subsample of them (``fvp_subsample``) it keeps the linearisation at
    the true adapted policy and estimates only the inner Hessians from the subsample. With
    `steps`, `obs` is a tuple (one array per step) and the outputs of θ̃_j on them are returned.
    """
    anchored = [params]
    for batch, lr, a0, a1 in zip(pre_batches, lrs, chain[:-1], chain[1:], strict=True):
        shift = lax.stop_gradient(jax.tree_util.tree_map(
            jnp.subtract, a1, adapt_policy(algo, apply_fn, a0, batch, lr)))
        anchored.append(jax.tree_util.tree_map(
            jnp.add, adapt_policy(algo, apply_fn, anchored[-1], batch, lr), shift))
    if steps is None:
        return apply_fn(anchored[-1], obs)
    return tuple(apply_fn(anchored[j], o) for j, o in zip(steps, obs, strict=True))


def fvp_sample(algo: Any, batch: Batch) -> Batch:
    """The part of a task-batched `Batch` (axes [tasks, K, T, …]) that the Fisher products use.

    ``fvp_subsample_by="trajectory"``: trajectories 0 … ⌈fvp_subsample · K⌉ − 1 of each task.
    ``"time"``: of every trajectory n the steps n mod r, n mod r + r, … (⌊T / r⌋ of them,
    r = `MAMLRL.fvp_stride` of the batch's horizon); the per-trajectory fields
    (`episode_return`, `adv_scale`) are kept whole. The advantages were computed on the whole
    trajectories before the cut.
    """
    if algo.fvp_subsample_by == "trajectory":
        return jax.tree_util.tree_map(lambda x: x[:, :algo.fvp_trajs], batch)
    num_trajs, horizon = batch.mask.shape[1:3]
    stride = algo.fvp_stride(horizon)
    if stride == 1:
        return batch
    trajs = jnp.arange(num_trajs)[:, None]
    times = trajs % stride + stride * jnp.arange(horizon // stride)[None, :]  # [K, T // r]
    return batch._replace(**{name: getattr(batch, name)[:, trajs, times]
                             for name in ("obs", "action", "reward", "mask", "log_prob",
                                          "advantage")})


def _policy_kl(apply_fn: ApplyFn, old: Params, new: Params, batch: Batch) -> Array:
    m_old, s_old = apply_fn(old, batch.obs)
    m_new, s_new = apply_fn(new, batch.obs)
    return masked_mean(gaussian_kl(m_old, s_old, m_new, s_new), batch.mask)


class OuterProblem(NamedTuple):
    """The outer TRPO problem of one meta-batch, as functions of the pre-adaptation θ.

    Attributes:
      loss_fn: θ -> −(post-adaptation surrogate), averaged over tasks (to minimise).
      kl_fn: θ -> mean KL of the adapted policies from those that sampled the data (all data).
      outputs: θ -> the adapted policies' outputs on the Fisher-vector products' (sub)sample,
        anchored at the sampled chain (``hvp="gauss_newton"`` only, else `None`).
      kl_of_outputs: outputs -> mean KL from the old outputs (``"gauss_newton"`` only).
    """

    loss_fn: Callable[[Params], Array]
    kl_fn: Callable[[Params], Array]
    outputs: Callable[[Params], Any] | None
    kl_of_outputs: Callable[[Any], Array] | None


def outer_problem(algo: Any, apply_fn: ApplyFn, pre: Any, post: Batch,
                  chain: Any) -> OuterProblem:
    """Step 4's objective, trust region and Fisher outputs for the data of `sample_phase`."""
    lrs = algo.step_sizes(algo.inner_steps)
    steps = scored_steps(algo, len(lrs))

    def loss_fn(p: Params) -> Array:
        surrogate = jax.vmap(lambda b, c: post_adaptation_surrogate(algo, apply_fn, p, b, c,
                                                                    lrs))
        return -jnp.mean(surrogate(pre, post))

    def kl_fn(p: Params) -> Array:
        def one(pre_batches, post_batch, old):
            new = adapt_chain(algo, apply_fn, p, pre_batches, lrs)
            return jnp.mean(jnp.stack([
                _policy_kl(apply_fn, old[j], new[j], _sampled_by(pre_batches, post_batch, j))
                for j in steps]))

        return jnp.mean(jax.vmap(one)(pre, post, chain))

    if algo.hvp != "gauss_newton":
        return OuterProblem(loss_fn, kl_fn, None, None)
    pre_s = tuple(fvp_sample(algo, b) for b in pre)
    post_s = fvp_sample(algo, post)
    targets = tuple(_sampled_by(pre_s, post_s, j) for j in steps)

    def outputs(p: Params) -> Any:
        return jax.vmap(lambda b, t, a: _anchored_outputs(
            algo, apply_fn, p, b, tuple(x.obs for x in t), lrs, a, steps))(pre_s, targets, chain)

    old_out = tuple(jax.vmap(lambda a, t: apply_fn(a, t.obs))(chain[j], t)
                    for j, t in zip(steps, targets, strict=True))

    def kl_of_outputs(out: Any) -> Array:
        kls = []
        for (m_old, s_old), (m_new, s_new), t in zip(old_out, out, targets, strict=True):
            kl = gaussian_kl(m_old, s_old[:, None, None], m_new, s_new[:, None, None])
            kls.append(jnp.mean(jax.vmap(masked_mean)(kl, t.mask)))
        return jnp.mean(jnp.stack(kls))

    return OuterProblem(loss_fn, kl_fn, outputs, kl_of_outputs)


def outer_update(algo: Any, apply_fn: ApplyFn, theta: Params, pre: Any, post: Batch,
                 chain: Any) -> tuple[Params, MetaMetrics]:
    """Step 4: the TRPO step through the inner steps on the meta-batch.

    With ``hvp="gauss_newton"`` the Fisher-vector products handed to `trpo_step` are
    `gauss_newton_fvp` of the (sub)sampled adapted outputs; otherwise `trpo_step` differentiates
    the KL through the inner steps itself (``"exact"`` or ``"finite_difference"``).

    Args:
      algo: the settings.
      apply_fn: the policy.
      theta: θ.
      pre, post, chain: `sample_phase`'s output (every chain entry with a leading task axis).

    Returns:
      ``(new θ, MetaMetrics)``.
    """
    problem = outer_problem(algo, apply_fn, pre, post, chain)
    fvp = None
    if algo.hvp == "gauss_newton":
        unravel = ravel_pytree(theta)[1]

        def fvp(flat: Array):
            return gauss_newton_fvp(lambda t: problem.outputs(unravel(t)), problem.kl_of_outputs,
                                    flat, algo.damping)

    new_params, info = trpo_step(
        problem.loss_fn, problem.kl_fn, theta, max_kl=algo.max_kl, cg_iters=algo.cg_iters,
        damping=algo.damping, hvp="exact" if fvp else algo.hvp, fvp=fvp,
        measured_step=algo.measured_step)
    _, log_std = apply_fn(theta, post.obs[0, 0, 0])
    if algo.inner_steps:  # diagnostic on the first fvp_trajs trajectories of each task (cheap)
        last = jax.tree_util.tree_map(lambda x: x[:, :algo.fvp_trajs], pre[-1])
        inner_kl = jnp.mean(jax.vmap(
            lambda a, b, batch: _policy_kl(apply_fn, a, b, batch))(chain[-2], chain[-1], last))
        pre_return = jnp.mean(pre[0].episode_return)
    else:
        inner_kl = jnp.zeros(())
        pre_return = jnp.mean(post.episode_return)
    metrics = MetaMetrics(
        loss=info.loss_after,
        pre_return=pre_return,
        post_return=jnp.mean(post.episode_return),
        kl=info.kl,
        step_fraction=info.step_fraction,
        std=jnp.mean(jnp.exp(log_std)),
        inner_kl=inner_kl,
        step_scale=info.step_scale,
    )
    return new_params, metrics


def gauss_newton_fvp(outputs: Callable[[Array], Any], kl_of_outputs: Callable[[Any], Array],
                     theta: Array, damping: float) -> Callable[[Array], Array]:
    """v ↦ (Jᵀ ∇²k J + λI) v at θ, J = ∂o/∂θ, for a KL written as k(o(θ)) (flat θ).

    Equal to the Hessian-vector product of k∘o at a point where ∂k/∂o = 0 (the old policy).
    The outputs are linearised once; each product is a forward and a transposed sweep.

    Args:
      outputs: flat θ -> policy outputs o(θ) (any pytree).
      kl_of_outputs: o -> mean KL from the fixed old outputs.
      theta: the point (old parameters), flat.
      damping: λ ≥ 0.

    Returns:
      The damped product as a function of a flat vector.
    """
    out0, j_v = jax.linearize(outputs, theta)
    j_t = jax.linear_transpose(j_v, theta)
    _, h_out = jax.linearize(jax.grad(kl_of_outputs), out0)
    return lambda v: j_t(h_out(j_v(v)))[0] + damping * v
