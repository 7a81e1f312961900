"""MAML for reinforcement learning: a TRPO outer step through a REINFORCE inner step.

For a meta-batch of tasks T_i ~ p(T) (Finn et al. 2017, Algorithm 3):

1. sample K trajectories D_i with π_θ on each task;
2. inner step (§5.3): θ'_i = θ − α ∇_θ L_i(θ; D_i), with the REINFORCE loss

       L_i(θ; D) = − mean_{valid (n,t)} log π_θ(a_{n,t} | s_{n,t}) Â_{n,t},
       Â = standardise(G − b),  G the discounted return, b rllab's linear feature baseline
       refitted on D (`linear_baseline`); standardising is rllab's ``center_adv``;

3. sample D'_i with π_θ'_i;
4. outer step: TRPO on the post-adaptation surrogate, differentiated through the inner step,

       max_θ  mean_i mean_{D'_i} [π_θ'_i(θ)(a|s) / π_θ'_i(θ_old)(a|s) · Â'_i]
       s.t.   mean_i mean_{D'_i} KL(π_θ'_i(θ_old) ‖ π_θ'_i(θ)) ≤ δ = 0.01,

   with Fisher-vector products of that KL (itself a function of θ through the inner step) by
   conjugate gradient and a backtracking line search (`adaptax.rl.trpo.trpo_step`).

Steps 1–3 (sampling, advantages, the inner step) live in `adaptax.rl.maml_rl_inner` and are
re-exported here. Cost: with the default ``hvp="gauss_newton"`` nearly all the time of an
iteration goes into the CG's Fisher-vector products, each a Hessian-vector product of the inner
loss plus a forward/backward pass on the post-adaptation states; ``fvp_subsample`` (rllab's
``subsample_factor``) computes them on a fraction of each task's trajectories, anchored at the
true adapted policies, which the `maml-rl-nav2d` experiment uses (0.25: about 3.5× faster).

Everything from sampling to the update is one jittable `meta_iteration`; tasks and trajectories
are batched with `vmap`, time with `lax.scan` (`adaptax.rl.rollout`). With ``devices > 1`` the
meta-batch is split over that many devices (`make_runner`): each samples and adapts to its own
tasks, and the gradient, the Fisher-vector products and the line search's loss and KL are
averaged across them (`outer_update`), so every device takes the same step.

With ``inner_steps=0`` the same iteration is plain multi-task TRPO (the "pretrained" baseline of
§5.3, and the oracle when the environment shows the goal).

Reference: Finn et al., "Model-Agnostic Meta-Learning for Fast Adaptation of Deep Networks",
ICML 2017, §5.3 and App. A.2; code cbfinn/maml_rl (rllab).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.flatten_util import ravel_pytree

from adaptax.envs.base import require_int
from adaptax.rl import linear_baseline
from adaptax.rl.losses import gaussian_kl, gaussian_log_prob, importance_surrogate, masked_mean
from adaptax.rl.maml_rl_inner import (
    ApplyFn,
    Batch,
    adapt_chain,
    adapt_policy,
    adapt_sequence,
    adaptation_returns,
    inner_loss,
    make_policy_fn,
    process_batch,
    sample_and_adapt,
    sample_batch,
)
from adaptax.rl.trpo import TRPOInfo, backtracking_line_search, conjugate_gradient, trpo_step
from adaptax.types import Array, PRNGKey

__all__ = [
    "Batch",
    "MAMLRL",
    "MetaMetrics",
    "MetaState",
    "adapt_chain",
    "adapt_policy",
    "adapt_sequence",
    "post_adaptation_surrogate",
    "adaptation_returns",
    "fvp_sample",
    "gauss_newton_fvp",
    "inner_loss",
    "make_policy_fn",
    "make_runner",
    "meta_iteration",
    "OuterProblem",
    "outer_problem",
    "outer_update",
    "process_batch",
    "rescale_to_kl",
    "sample_and_adapt",
    "sample_batch",
    "sample_phase",
]

Params = Any
AXIS = "devices"  # the mesh axis of data-parallel meta-training


@dataclasses.dataclass(frozen=True)
class MAMLRL:
    """The static settings of MAML-RL (hashable, so a jitted iteration closes over them).

    Attributes:
      env: a gymnax-API environment with `sample_task(key)`.
      apply_fn: ``(params, obs) -> (mean, log_std)``, e.g. ``GaussianMLP(...).apply``.
      meta_batch: tasks per meta-iteration (paper, navigation: 20).
      num_trajs: trajectories per task per step K (paper: 20).
      horizon: steps per trajectory T (paper: 100).
      inner_lr: α of the inner step (paper text: 0.1; the navigation code: 0.5).
      inner_steps: inner steps in training, each later step at ``later_lr_factor · α``
        (paper: 1); 0 gives multi-task TRPO without adaptation.
      later_lr_factor: step size factor of inner steps after the first (code at test: 1/2).
      meta_objective: ``"last"`` (the paper): the return after the last inner step;
        ``"all"``: the mean of the returns after each inner step 1…S, each scored on the
        trajectories its policy sampled (the next step's batch, or the post-adaptation one), with
        the trust region on the mean KL of all S adapted policies. Trains every step that is
        taken at test, not only the last (the α/2 overshoot: docs/maml-rl-nav2d.md).
      first_order: drop the second-order terms of the inner step (first-order MAML).
      inner_estimator: the inner loss differentiated through (`inner_loss`): ``"reinforce"``
        (the paper: −mean log π · Â) or ``"lvc"`` (ProMP's −mean π/⊥π · Â: the same inner step,
        plus the score term Â ∇log π ∇log πᵀ in the Hessian the meta-gradient goes through).
      discount: γ of the returns (rllab MAML code: 0.99).
      max_kl: TRPO's δ (paper: 0.01).
      cg_iters: conjugate-gradient iterations (rllab: 10).
      damping: λ of the Fisher matrix (rllab: 1e-5; adaptax's TRPO default 0.1).
      hvp: how Fisher-vector products are computed (all three agree at θ_old, see
        `_gauss_newton_trpo_step`): ``"gauss_newton"`` (default: Jᵀ H J with the KL's
        output-space Hessian H, one linearisation per iteration, fastest), ``"exact"``
        (forward-over-reverse Hessian of the KL through the inner step) or
        ``"finite_difference"`` (central differences of KL gradients, as the paper's code).
      baseline_reg: ridge coefficient of the linear baseline (rllab: 1e-5).
      fvp_subsample: fraction of each task's trajectories (pre- and post-adaptation) that the
        ``"gauss_newton"`` Fisher-vector products use (rllab's ``subsample_factor``; 1 = all).
        The products stay anchored at the true adapted policies (`_anchored_outputs`), so only
        the curvature estimate is subsampled; the gradient and the line search use all data.
      fvp_subsample_by: how the subsample is drawn. ``"trajectory"`` (rllab): the first
        ⌈fvp_subsample · K⌉ trajectories of each task. ``"time"``: every r-th time step of all K
        trajectories, r = round(1 / fvp_subsample), trajectory n starting at step n mod r (so
        every step of the horizon is covered by some trajectory); the same number of (state,
        action) pairs, spread over more independent trajectories (`fvp_sample`).
      measured_step: set the length of the conjugate-gradient step from the true mean KL (all
        data) along its direction instead of from the Fisher's quadratic model: one extra KL
        evaluation, then the step is scaled by sqrt(δ / KL(full step)) (`rescale_to_kl`). A
        subsampled Fisher through several inner steps overestimates the curvature many times
        over (docs/maml-rl-nav2d.md), so the model's step has a KL far below δ and training
        stalls. On 2D navigation this fills the trust region again but did not improve the test
        returns after 2–3 steps (measured in the doc), so it is off by default.
      devices: data-parallel devices; each samples, adapts to and differentiates through
        ``meta_batch / devices`` tasks of its own, and the means that TRPO needs are averaged
        across them (``hvp="gauss_newton"`` only). The same algorithm on a different random
        stream: each device draws its own tasks (`make_runner`).
    """

    env: Any
    apply_fn: ApplyFn
    meta_batch: int = 20
    num_trajs: int = 20
    horizon: int = 100
    inner_lr: float = 0.1
    inner_steps: int = 1
    later_lr_factor: float = 0.5
    meta_objective: Literal["last", "all"] = "last"
    first_order: bool = False
    inner_estimator: Literal["reinforce", "lvc"] = "reinforce"
    discount: float = 0.99
    max_kl: float = 0.01
    cg_iters: int = 10
    damping: float = 0.1
    hvp: Literal["gauss_newton", "exact", "finite_difference"] = "gauss_newton"
    baseline_reg: float = linear_baseline.REG_COEFF
    fvp_subsample: float = 1.0
    fvp_subsample_by: Literal["trajectory", "time"] = "trajectory"
    measured_step: bool = False
    devices: int = 1

    def __post_init__(self) -> None:
        require_int("meta_batch", self.meta_batch, minimum=1)
        require_int("num_trajs", self.num_trajs, minimum=2)
        require_int("horizon", self.horizon, minimum=1)
        require_int("inner_steps", self.inner_steps, minimum=0)
        require_int("cg_iters", self.cg_iters, minimum=1)
        if not self.inner_lr > 0:
            raise ValueError(f"inner_lr must be positive, got {self.inner_lr}")
        if not 0.0 <= self.discount <= 1.0:
            raise ValueError(f"discount must lie in [0, 1], got {self.discount}")
        if not self.max_kl > 0:
            raise ValueError(f"max_kl must be positive, got {self.max_kl}")
        if self.meta_objective not in ("last", "all"):
            raise ValueError(f"meta_objective must be 'last' or 'all', got {self.meta_objective!r}")
        if self.hvp not in ("gauss_newton", "exact", "finite_difference"):
            raise ValueError(
                f"hvp must be 'gauss_newton', 'exact' or 'finite_difference', got {self.hvp!r}")
        if not 0.0 < self.fvp_subsample <= 1.0:
            raise ValueError(f"fvp_subsample must lie in (0, 1], got {self.fvp_subsample}")
        if self.inner_estimator not in ("reinforce", "lvc"):
            raise ValueError("inner_estimator must be 'reinforce' or 'lvc', got "
                             f"{self.inner_estimator!r}")
        if self.fvp_subsample_by not in ("trajectory", "time"):
            raise ValueError("fvp_subsample_by must be 'trajectory' or 'time', got "
                             f"{self.fvp_subsample_by!r}")
        if self.fvp_subsample < 1.0 and self.hvp != "gauss_newton":
            raise ValueError("fvp_subsample < 1 needs hvp='gauss_newton'")
        if self.measured_step and self.hvp != "gauss_newton":
            raise ValueError("measured_step needs hvp='gauss_newton'")
        require_int("devices", self.devices, minimum=1)
        if self.meta_batch % self.devices:
            raise ValueError(f"meta_batch ({self.meta_batch}) must be a multiple of devices "
                             f"({self.devices})")
        if self.devices > 1 and self.hvp != "gauss_newton":
            raise ValueError("devices > 1 needs hvp='gauss_newton'")

    @property
    def tasks_per_device(self) -> int:
        """Tasks each device samples and adapts to: meta_batch / devices."""
        return self.meta_batch // self.devices

    @property
    def fvp_trajs(self) -> int:
        """Trajectories per task in the Fisher-vector products: ⌈fvp_subsample · K⌉."""
        return max(1, min(self.num_trajs, math.ceil(self.fvp_subsample * self.num_trajs - 1e-9)))

    @property
    def fvp_stride(self) -> int:
        """Time stride r of ``fvp_subsample_by="time"``: round(1 / fvp_subsample), at most T."""
        return max(1, min(self.horizon, round(1.0 / self.fvp_subsample)))

    def step_sizes(self, steps: int) -> tuple[float, ...]:
        """α for the first step, `later_lr_factor`·α for the others (the code's test protocol)."""
        return tuple(self.inner_lr * (1.0 if j == 0 else self.later_lr_factor)
                     for j in range(steps))


class MetaState(NamedTuple):
    """Training state: policy parameters θ, PRNG key, meta-iterations done."""

    params: Params
    key: PRNGKey
    iteration: Array


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


def scored_steps(algo: MAMLRL, num_inner: int) -> tuple[int, ...]:
    """Indices j of the chain θ_0 … θ_S whose returns the meta-objective scores."""
    if algo.meta_objective == "all" and num_inner > 0:
        return tuple(range(1, num_inner + 1))
    return (num_inner,)


def _sampled_by(pre_batches: tuple[Batch, ...], post_batch: Batch, j: int) -> Batch:
    """The trajectories θ_j sampled: the inner batch D_j for j < S, the post batch for j = S."""
    return pre_batches[j] if j < len(pre_batches) else post_batch


def post_adaptation_surrogate(algo: MAMLRL, params: Params, pre_batches: tuple[Batch, ...],
                              post_batch: Batch, lrs: tuple[float, ...]) -> Array:
    """The meta-objective of one task as a function of θ, through the inner steps.

        L'(θ) = mean_{j ∈ scored} mean_{D_j} [π_θj(θ)(a|s) / π_old(a|s) · Â_j],
        θ_j(θ) = adapt(θ; D_0, …, D_{j−1}),

    with π_old the policy that sampled D_j (its recorded log-probabilities); scored = {S} (the
    paper, D_S = the post-adaptation batch) or {1, …, S} (``meta_objective="all"``). At θ = θ_old
    its gradient is the MAML policy gradient (Finn et al. 2017, Algorithm 3, line 10).

    Args:
      algo: the settings.
      params: θ.
      pre_batches: the inner steps' batches (sampled with θ_old and its adaptations).
      post_batch: D_S, sampled with θ_S(θ_old).
      lrs: the inner step sizes.

    Returns:
      The scalar surrogate, to maximise.
    """
    chain = adapt_chain(algo, params, pre_batches, lrs)
    values = []
    for j in scored_steps(algo, len(pre_batches)):
        batch = _sampled_by(pre_batches, post_batch, j)
        mean, log_std = algo.apply_fn(chain[j], batch.obs)
        logp = gaussian_log_prob(mean, log_std, batch.action)
        values.append(importance_surrogate(logp, batch.log_prob, batch.advantage, batch.mask))
    return jnp.mean(jnp.stack(values))


def _anchored_outputs(algo: MAMLRL, params: Params, pre_batches: tuple[Batch, ...], obs: Any,
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
            jnp.subtract, a1, adapt_policy(algo, a0, batch, lr)))
        anchored.append(jax.tree_util.tree_map(
            jnp.add, adapt_policy(algo, anchored[-1], batch, lr), shift))
    if steps is None:
        return algo.apply_fn(anchored[-1], obs)
    return tuple(algo.apply_fn(anchored[j], o) for j, o in zip(steps, obs, strict=True))


def fvp_sample(algo: MAMLRL, batch: Batch) -> Batch:
    """The part of a task-batched `Batch` (axes [tasks, K, T, …]) that the Fisher products use.

    ``fvp_subsample_by="trajectory"``: trajectories 0 … ⌈fvp_subsample · K⌉ − 1 of each task.
    ``"time"``: of every trajectory n the steps n mod r, n mod r + r, … (⌊T / r⌋ of them,
    r = `MAMLRL.fvp_stride`); the per-trajectory fields (`episode_return`, `adv_scale`) are kept
    whole. The advantages were computed on the whole trajectories before the cut.
    """
    if algo.fvp_subsample_by == "trajectory":
        return jax.tree_util.tree_map(lambda x: x[:, :algo.fvp_trajs], batch)
    stride = algo.fvp_stride
    if stride == 1:
        return batch
    trajs = jnp.arange(algo.num_trajs)[:, None]
    times = trajs % stride + stride * jnp.arange(algo.horizon // stride)[None, :]  # [K, T // r]
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


def sample_phase(algo: MAMLRL, theta: Params, key_tasks: PRNGKey,
                 key_sample: PRNGKey) -> tuple[Any, Batch, Any]:
    """Samples a meta-batch of tasks and adapts to each: steps 1–3 of the meta-iteration.

    Args:
      algo: the settings.
      theta: the pre-adaptation parameters θ.
      key_tasks: PRNG key of the task draw.
      key_sample: PRNG key of the trajectories.

    Returns:
      ``(pre, post, chain)`` with a leading task axis (`MAMLRL.tasks_per_device` tasks): the
      inner steps' batches (a tuple, one per step), the post-adaptation batch, and the chain
      θ_0 = θ, θ_1, … (gradient stopped).
    """
    tasks = jax.vmap(algo.env.sample_task)(jax.random.split(key_tasks, algo.tasks_per_device))
    lrs = algo.step_sizes(algo.inner_steps)

    def task_phase(task, key_task):
        keys = jax.random.split(key_task, len(lrs) + 1)
        chain, batches = [theta], []
        for j, lr in enumerate(lrs):  # a static handful of inner steps, not a hot loop
            batches.append(sample_batch(algo, chain[-1], task, keys[j]))
            chain.append(adapt_policy(algo, chain[-1], batches[-1], lr))
        post = sample_batch(algo, chain[-1], task, keys[-1])
        return tuple(batches), post, tuple(chain)

    pre, post, chain = jax.vmap(task_phase)(
        tasks, jax.random.split(key_sample, algo.tasks_per_device))
    return pre, post, lax.stop_gradient(chain)


def outer_problem(algo: MAMLRL, pre: Any, post: Batch, chain: Any) -> OuterProblem:
    """Step 4's objective, trust region and Fisher outputs for the data of `sample_phase`."""
    lrs = algo.step_sizes(algo.inner_steps)
    steps = scored_steps(algo, len(lrs))

    def loss_fn(p: Params) -> Array:
        surrogate = jax.vmap(lambda b, c: post_adaptation_surrogate(algo, p, b, c, lrs))
        return -jnp.mean(surrogate(pre, post))

    def kl_fn(p: Params) -> Array:
        def one(pre_batches, post_batch, old):
            new = adapt_chain(algo, p, pre_batches, lrs)
            return jnp.mean(jnp.stack([
                _policy_kl(algo.apply_fn, old[j], new[j], _sampled_by(pre_batches, post_batch, j))
                for j in steps]))

        return jnp.mean(jax.vmap(one)(pre, post, chain))

    if algo.hvp != "gauss_newton":
        return OuterProblem(loss_fn, kl_fn, None, None)
    pre_s = tuple(fvp_sample(algo, b) for b in pre)
    post_s = fvp_sample(algo, post)
    targets = tuple(_sampled_by(pre_s, post_s, j) for j in steps)

    def outputs(p: Params) -> Any:
        return jax.vmap(lambda b, t, a: _anchored_outputs(
            algo, p, b, tuple(x.obs for x in t), lrs, a, steps))(pre_s, targets, chain)

    old_out = tuple(jax.vmap(lambda a, t: algo.apply_fn(a, t.obs))(chain[j], t)
                    for j, t in zip(steps, targets, strict=True))

    def kl_of_outputs(out: Any) -> Array:
        kls = []
        for (m_old, s_old), (m_new, s_new), t in zip(old_out, out, targets, strict=True):
            kl = gaussian_kl(m_old, s_old[:, None, None], m_new, s_new[:, None, None])
            kls.append(jnp.mean(jax.vmap(masked_mean)(kl, t.mask)))
        return jnp.mean(jnp.stack(kls))

    return OuterProblem(loss_fn, kl_fn, outputs, kl_of_outputs)


def meta_iteration(algo: MAMLRL, state: MetaState) -> tuple[MetaState, MetaMetrics]:
    """One meta-iteration: sample, adapt, sample again, TRPO step through the adaptation.

    With ``algo.devices > 1`` it runs inside `make_runner`'s `shard_map`: each device folds its
    index into the sampling keys and so draws its own tasks.

    Args:
      algo: the settings.
      state: the `MetaState` (θ, key, iteration).

    Returns:
      ``(new_state, MetaMetrics)``.

    Example:
      >>> from adaptax.envs import Navigation2D
      >>> from adaptax.nets.gaussian_mlp import GaussianMLP
      >>> algo = MAMLRL(Navigation2D(), GaussianMLP().apply, meta_batch=4, num_trajs=4)
      >>> step = jax.jit(lambda s: meta_iteration(algo, s))
      >>> state, metrics = step(MetaState(params, key, jnp.zeros((), jnp.int32)))  # doctest: +SKIP

    Reference: Finn et al. 2017, Algorithm 3 with TRPO as the meta-optimiser (§5.3).
    """
    key, key_tasks, key_sample = jax.random.split(state.key, 3)
    if algo.devices > 1:
        index = lax.axis_index(AXIS)
        key_tasks = jax.random.fold_in(key_tasks, index)
        key_sample = jax.random.fold_in(key_sample, index)
    pre, post, chain = sample_phase(algo, state.params, key_tasks, key_sample)
    new_params, metrics = outer_update(algo, state.params, pre, post, chain)
    return MetaState(new_params, key, state.iteration + 1), metrics


def _across_devices(algo: MAMLRL) -> Callable[[Any], Any]:
    """The mean over the data-parallel devices (the identity on one device)."""
    if algo.devices > 1:
        return lambda tree: lax.pmean(tree, AXIS)
    return lambda tree: tree


def outer_update(algo: MAMLRL, theta: Params, pre: Any, post: Batch,
                 chain: Any) -> tuple[Params, MetaMetrics]:
    """Step 4: the TRPO step through the inner steps on this device's part of the meta-batch.

    Every mean over tasks that TRPO needs (the surrogate and its gradient, the Fisher-vector
    products, the line search's loss and KL) is the mean of the devices' means under
    ``algo.devices > 1`` (equal task counts), so each device computes the same step.

    Args:
      algo: the settings.
      theta: θ (the same on every device).
      pre, post, chain: `sample_phase`'s output for this device's tasks.

    Returns:
      ``(new θ, MetaMetrics)``.
    """
    reduce = _across_devices(algo)
    problem = outer_problem(algo, pre, post, chain)
    if algo.hvp == "gauss_newton":
        new_params, info, step_scale = _gauss_newton_trpo_step(
            algo, problem.loss_fn, problem.kl_fn, problem.outputs, problem.kl_of_outputs, theta,
            reduce)
    else:
        new_params, info = trpo_step(problem.loss_fn, problem.kl_fn, theta, max_kl=algo.max_kl,
                                     cg_iters=algo.cg_iters, damping=algo.damping,
                                     hvp=algo.hvp)
        step_scale = jnp.ones(())
    _, log_std = algo.apply_fn(theta, post.obs[0, 0, 0])
    if algo.inner_steps:  # diagnostic on the first fvp_trajs trajectories of each task (cheap)
        last = jax.tree_util.tree_map(lambda x: x[:, :algo.fvp_trajs], pre[-1])
        inner_kl = jnp.mean(jax.vmap(
            lambda a, b, batch: _policy_kl(algo.apply_fn, a, b, batch))(chain[-2], chain[-1],
                                                                       last))
        pre_return = jnp.mean(pre[0].episode_return)
    else:
        inner_kl = jnp.zeros(())
        pre_return = jnp.mean(post.episode_return)
    pre_return, post_return, inner_kl = reduce(
        (pre_return, jnp.mean(post.episode_return), inner_kl))
    metrics = MetaMetrics(
        loss=info.loss_after,
        pre_return=pre_return,
        post_return=post_return,
        kl=info.kl,
        step_fraction=info.step_fraction,
        std=jnp.mean(jnp.exp(log_std)),
        inner_kl=inner_kl,
        step_scale=step_scale,
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


def rescale_to_kl(kl_fn: Callable[[Array], Array], theta: Array, step: Array, max_kl: float,
                  max_factor: float = 10.0) -> tuple[Array, Array]:
    """The step along `step`'s direction whose true KL is δ, read off one KL evaluation.

    Near the old policy KL(θ + t·d) ≈ ½ t² dᵀFd, so with κ = KL(θ + step) measured on all data

        step' = c · step,   c = min(sqrt(δ / κ), max_factor)   (c = 1 when κ is 0 or not finite)

    has KL ≈ δ whatever the curvature estimate that produced `step` (`max_factor` bounds the
    extrapolation of a KL too small to read in float32). The line search then checks it as usual.

    Args:
      kl_fn: flat θ -> mean KL from the old policy.
      theta: the old parameters (flat).
      step: the proposed full step (flat).
      max_kl: δ.
      max_factor: the largest scale-up (10: a 100-fold curvature overestimate).

    Returns:
      ``(c · step, c)``.

    Example:
      >>> kl = lambda t: jnp.sum(t ** 2)          # the model's step has KL 0.04, four times δ
      >>> step, c = rescale_to_kl(kl, jnp.zeros(2), jnp.array([0.2, 0.0]), max_kl=0.01)
      >>> round(float(c), 3), round(float(kl(step)), 4)
      (0.5, 0.01)
    """
    kl = kl_fn(theta + step)
    ok = jnp.isfinite(kl) & (kl > 0)
    factor = jnp.where(ok, jnp.sqrt(max_kl / jnp.where(ok, kl, 1.0)), 1.0)
    factor = jnp.minimum(factor, max_factor)
    return factor * step, factor


def _gauss_newton_trpo_step(algo: MAMLRL, loss_fn, kl_fn, outputs, kl_of_outputs,
                            params: Params, reduce: Callable[[Any], Any] = lambda t: t
                            ) -> tuple[Params, TRPOInfo, Array]:
    """TRPO step whose Fisher-vector products are Jᵀ H J through the inner step.

    With o(θ) the adapted policies' outputs (means and log σ on the post-adaptation states) and
    KL(θ) = k(o(θ)), the Hessian at θ_old is

        ∇²KL = Jᵀ ∇²k J + Σ ∂k/∂o · ∇²o = Jᵀ ∇²k J,     J = ∂o/∂θ,

    because ∂k/∂o = 0 where the new policy equals the old one (KL is minimal there). So the
    exact Fisher-vector product needs only a Jacobian-vector product through the inner step, the
    (diagonal, cheap) output-space Hessian ∇²k, and its transpose. `jax.linearize` evaluates the
    inner step once per iteration; each CG product is then one forward and one transposed sweep
    of the linearisation, instead of the third-order sweep of "exact" or the two second-order
    gradients of "finite_difference". Same CG, scaling and line search as `trpo_step`.

    `reduce` averages a device's values over the data-parallel devices: the functions given are
    this device's means, each differentiated before it is reduced.
    """
    theta, unravel = ravel_pytree(params)
    loss_before, g = reduce(jax.value_and_grad(lambda t: loss_fn(unravel(t)))(theta))
    local_matvec = gauss_newton_fvp(lambda t: outputs(unravel(t)), kl_of_outputs, theta,
                                    algo.damping)
    matvec = lambda v: reduce(local_matvec(v))  # noqa: E731
    flat_loss = lambda t: reduce(loss_fn(unravel(t)))  # noqa: E731
    flat_kl = lambda t: reduce(kl_fn(unravel(t)))  # noqa: E731

    direction, cg_info = conjugate_gradient(matvec, -g, algo.cg_iters)
    curvature = jnp.vdot(direction, matvec(direction))
    beta = jnp.where(curvature > 0,
                     jnp.sqrt(2.0 * algo.max_kl / jnp.where(curvature > 0, curvature, 1.0)), 0.0)
    step, scale = beta * direction, jnp.ones(())
    if algo.measured_step:
        step, scale = rescale_to_kl(flat_kl, theta, step, algo.max_kl)
    search = backtracking_line_search(flat_loss, flat_kl, theta, step, loss_before,
                                      max_kl=algo.max_kl)
    info = TRPOInfo(loss_before=loss_before, loss_after=search.loss, kl=search.kl,
                    step_fraction=search.step_fraction, cg_residual=cg_info.residual,
                    accepted=search.accepted)
    return unravel(search.params), info, scale


def make_runner(algo: MAMLRL) -> Callable[[MetaState, int], tuple[MetaState, MetaMetrics]]:
    """``run(state, n)``: n meta-iterations under one jitted `lax.scan` (for `train_phase`).

    With ``algo.devices > 1`` the scan runs under `jax.shard_map` on the first that many local
    devices, the state replicated; on a CPU, start Python with
    ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` (``adaptax run`` does it).
    """
    def scan(state: MetaState, length_marker: Array) -> tuple[MetaState, MetaMetrics]:
        return lax.scan(lambda s, _: meta_iteration(algo, s), state, length_marker)

    if algo.devices > 1:
        if jax.local_device_count() < algo.devices:
            raise ValueError(
                f"devices={algo.devices} but JAX sees {jax.local_device_count()} local "
                f"device(s); on a CPU start Python with XLA_FLAGS="
                f"--xla_force_host_platform_device_count={algo.devices}")
        mesh = jax.make_mesh((algo.devices,), (AXIS,),
                             devices=jax.local_devices()[:algo.devices])
        replicated = jax.sharding.PartitionSpec()
        scan = jax.shard_map(scan, mesh=mesh, in_specs=replicated, out_specs=replicated,
                             check_vma=False)
    compiled = jax.jit(scan)

    def run(state: MetaState, n: int) -> tuple[MetaState, MetaMetrics]:
        return compiled(state, jnp.zeros((n,), jnp.int32))

    return run
