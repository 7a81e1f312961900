"""MAML for reinforcement learning: a REINFORCE inner step, a TRPO outer step through it.

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

Everything from sampling to the update is one jittable `meta_iteration`; tasks and trajectories
are batched with `vmap`, time with `lax.scan` (`adaptax.rl.rollout`).

With ``inner_steps=0`` the same iteration is plain multi-task TRPO (the "pretrained" baseline of
§5.3, and the oracle when the environment shows the goal).

Reference: Finn et al., "Model-Agnostic Meta-Learning for Fast Adaptation of Deep Networks",
ICML 2017, §5.3 and App. A.2; code cbfinn/maml_rl (rllab).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.flatten_util import ravel_pytree

from adaptax.envs.base import require_int
from adaptax.meta import maml
from adaptax.rl import linear_baseline
from adaptax.rl.losses import gaussian_kl, gaussian_log_prob, importance_surrogate, masked_mean
from adaptax.rl.returns import discounted_returns
from adaptax.rl.rollout import RolloutCarry, rollout
from adaptax.rl.trpo import TRPOInfo, backtracking_line_search, conjugate_gradient, trpo_step
from adaptax.types import Array, PRNGKey

__all__ = [
    "Batch",
    "MAMLRL",
    "MetaMetrics",
    "MetaState",
    "adapt_policy",
    "adapt_sequence",
    "post_adaptation_surrogate",
    "adaptation_returns",
    "gauss_newton_fvp",
    "inner_loss",
    "make_policy_fn",
    "make_runner",
    "meta_iteration",
    "process_batch",
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
    """

    obs: Array
    action: Array
    reward: Array
    mask: Array
    log_prob: Array
    advantage: Array
    episode_return: Array


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
      first_order: drop the second-order terms of the inner step (first-order MAML).
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
    """

    env: Any
    apply_fn: ApplyFn
    meta_batch: int = 20
    num_trajs: int = 20
    horizon: int = 100
    inner_lr: float = 0.1
    inner_steps: int = 1
    later_lr_factor: float = 0.5
    first_order: bool = False
    discount: float = 0.99
    max_kl: float = 0.01
    cg_iters: int = 10
    damping: float = 0.1
    hvp: Literal["gauss_newton", "exact", "finite_difference"] = "gauss_newton"
    baseline_reg: float = linear_baseline.REG_COEFF

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
        if self.hvp not in ("gauss_newton", "exact", "finite_difference"):
            raise ValueError(
                f"hvp must be 'gauss_newton', 'exact' or 'finite_difference', got {self.hvp!r}")

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
    """

    loss: Array
    pre_return: Array
    post_return: Array
    kl: Array
    step_fraction: Array
    std: Array
    inner_kl: Array


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
    adv = mask * (adv - mean) / (std + 1e-8)
    return Batch(obs=obs, action=action, reward=reward * mask, mask=mask, log_prob=log_prob,
                 advantage=adv, episode_return=jnp.sum(reward * mask, axis=1))


def sample_batch(algo: MAMLRL, params: Params, task: Any, key: PRNGKey,
                 num_trajs: int | None = None) -> Batch:
    """K trajectories of π_θ on one task, processed into a `Batch` (vmap for many tasks)."""
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


def inner_loss(apply_fn: ApplyFn, params: Params, batch: Batch) -> Array:
    """REINFORCE loss L(θ; D) = − mean_{valid} log π_θ(a|s) Â (advantages held constant).

    Its gradient is the policy-gradient estimate −(1/Σm) Σ_{n,t} m Â ∇ log π_θ(a_{n,t}|s_{n,t}).
    """
    mean, log_std = apply_fn(params, batch.obs)
    logp = gaussian_log_prob(mean, log_std, batch.action)
    return -masked_mean(logp * lax.stop_gradient(batch.advantage), batch.mask)


def adapt_policy(algo: MAMLRL, params: Params, batch: Batch, lr: float) -> Params:
    """One inner step θ' = θ − α ∇_θ L(θ; D) (`adaptax.maml.adapt`, second order unless
    ``algo.first_order``)."""
    return maml.adapt(lambda p, b: inner_loss(algo.apply_fn, p, b), params, batch, lr=lr,
                      steps=1, first_order=algo.first_order)


def adapt_sequence(algo: MAMLRL, params: Params, batches: tuple[Batch, ...],
                   lrs: tuple[float, ...]) -> Params:
    """θ_j+1 = θ_j − α_j ∇L(θ_j; D_j) for the given batches D_0, D_1, … and step sizes α_j."""
    for batch, lr in zip(batches, lrs, strict=True):
        params = adapt_policy(algo, params, batch, lr)
    return params


def post_adaptation_surrogate(algo: MAMLRL, params: Params, pre_batches: tuple[Batch, ...],
                              post_batch: Batch, lrs: tuple[float, ...]) -> Array:
    """The meta-objective of one task as a function of θ, through the inner steps.

        L'(θ) = mean_{D'} [π_θ'(θ)(a|s) / π_old(a|s) · Â'],   θ'(θ) = adapt(θ; D_0, …)

    with π_old the policy that sampled D' (its recorded log-probabilities). At θ = θ_old its
    gradient is the MAML policy gradient (Finn et al. 2017, Algorithm 3, line 10).

    Args:
      algo: the settings.
      params: θ.
      pre_batches: the inner steps' batches (sampled with θ_old and its adaptations).
      post_batch: D', sampled with θ'(θ_old).
      lrs: the inner step sizes.

    Returns:
      The scalar surrogate, to maximise.
    """
    mean, log_std = algo.apply_fn(adapt_sequence(algo, params, pre_batches, lrs),
                                  post_batch.obs)
    logp = gaussian_log_prob(mean, log_std, post_batch.action)
    return importance_surrogate(logp, post_batch.log_prob, post_batch.advantage,
                                post_batch.mask)


def _policy_kl(apply_fn: ApplyFn, old: Params, new: Params, batch: Batch) -> Array:
    m_old, s_old = apply_fn(old, batch.obs)
    m_new, s_new = apply_fn(new, batch.obs)
    return masked_mean(gaussian_kl(m_old, s_old, m_new, s_new), batch.mask)


def meta_iteration(algo: MAMLRL, state: MetaState) -> tuple[MetaState, MetaMetrics]:
    """One meta-iteration: sample, adapt, sample again, TRPO step through the adaptation.

    Args:
      algo: the settings.
      state: the `MetaState` (θ, key, iteration).

    Returns:
      ``(new_state, MetaMetrics)``.

    Example:
      >>> algo = MAMLRL(Navigation2D(), GaussianMLP().apply, meta_batch=4, num_trajs=4)
      >>> step = jax.jit(lambda s: meta_iteration(algo, s))
      >>> state, metrics = step(MetaState(params, key, jnp.zeros((), jnp.int32)))  # doctest: +SKIP

    Reference: Finn et al. 2017, Algorithm 3 with TRPO as the meta-optimiser (§5.3).
    """
    key, key_tasks, key_sample = jax.random.split(state.key, 3)
    tasks = jax.vmap(algo.env.sample_task)(jax.random.split(key_tasks, algo.meta_batch))
    lrs = algo.step_sizes(algo.inner_steps)
    theta = state.params

    def task_phase(task, key_task):
        """Pre-batches for each inner step and the final post-adaptation batch of one task."""
        keys = jax.random.split(key_task, len(lrs) + 1)
        params, previous, batches = theta, theta, []
        for j, lr in enumerate(lrs):  # a static handful of inner steps, not a hot loop
            batch = sample_batch(algo, params, task, keys[j])
            batches.append(batch)
            previous, params = params, adapt_policy(algo, params, batch, lr)
        post = sample_batch(algo, params, task, keys[-1])
        return tuple(batches), post, params, previous

    pre, post, adapted_old, before_last = jax.vmap(task_phase)(
        tasks, jax.random.split(key_sample, algo.meta_batch))

    def adapted(p: Params, pre_batches: tuple[Batch, ...]) -> Params:
        return adapt_sequence(algo, p, pre_batches, lrs)

    def loss_fn(p: Params) -> Array:
        surrogate = jax.vmap(lambda b, c: post_adaptation_surrogate(algo, p, b, c, lrs))
        return -jnp.mean(surrogate(pre, post))

    old = lax.stop_gradient(adapted_old)

    def kl_fn(p: Params) -> Array:
        def one(pre_batches, post_batch, old_i):
            return _policy_kl(algo.apply_fn, old_i, adapted(p, pre_batches), post_batch)

        return jnp.mean(jax.vmap(one)(pre, post, old))

    if algo.hvp == "gauss_newton":
        def outputs(p: Params) -> tuple[Array, Array]:
            return jax.vmap(lambda b, c: algo.apply_fn(adapted(p, b), c.obs))(pre, post)

        def kl_of_outputs(out: tuple[Array, Array]) -> Array:
            (m_new, s_new), (m_old, s_old) = out, lax.stop_gradient(outputs(theta))
            kl = gaussian_kl(m_old, s_old[:, None, None], m_new, s_new[:, None, None])
            return jnp.mean(jax.vmap(masked_mean)(kl, post.mask))

        new_params, info = _gauss_newton_trpo_step(algo, loss_fn, kl_fn, outputs,
                                                   kl_of_outputs, theta)
    else:
        new_params, info = trpo_step(loss_fn, kl_fn, theta, max_kl=algo.max_kl,
                                     cg_iters=algo.cg_iters, damping=algo.damping,
                                     hvp=algo.hvp)
    _, log_std = algo.apply_fn(theta, post.obs[0, 0, 0])
    if lrs:
        inner_kl = jnp.mean(jax.vmap(
            lambda a, b, batch: _policy_kl(algo.apply_fn, a, b, batch))(before_last, adapted_old,
                                                                       pre[-1]))
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
    )
    return MetaState(new_params, key, state.iteration + 1), metrics


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


def _gauss_newton_trpo_step(algo: MAMLRL, loss_fn, kl_fn, outputs, kl_of_outputs,
                            params: Params) -> tuple[Params, TRPOInfo]:
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
    """
    theta, unravel = ravel_pytree(params)
    loss_before, g = jax.value_and_grad(lambda t: loss_fn(unravel(t)))(theta)
    matvec = gauss_newton_fvp(lambda t: outputs(unravel(t)), kl_of_outputs, theta, algo.damping)

    direction, cg_info = conjugate_gradient(matvec, -g, algo.cg_iters)
    curvature = jnp.vdot(direction, matvec(direction))
    beta = jnp.where(curvature > 0,
                     jnp.sqrt(2.0 * algo.max_kl / jnp.where(curvature > 0, curvature, 1.0)), 0.0)
    search = backtracking_line_search(lambda t: loss_fn(unravel(t)), lambda t: kl_fn(unravel(t)),
                                      theta, beta * direction, loss_before, max_kl=algo.max_kl)
    info = TRPOInfo(loss_before=loss_before, loss_after=search.loss, kl=search.kl,
                    step_fraction=search.step_fraction, cg_residual=cg_info.residual,
                    accepted=search.accepted)
    return unravel(search.params), info


def make_runner(algo: MAMLRL) -> Callable[[MetaState, int], tuple[MetaState, MetaMetrics]]:
    """``run(state, n)``: n meta-iterations under one jitted `lax.scan` (for `train_phase`)."""

    @jax.jit
    def _scan(state: MetaState, length_marker: Array) -> tuple[MetaState, MetaMetrics]:
        return lax.scan(lambda s, _: meta_iteration(algo, s), state, length_marker)

    def run(state: MetaState, n: int) -> tuple[MetaState, MetaMetrics]:
        return _scan(state, jnp.zeros((n,), jnp.int32))

    return run


def adaptation_returns(algo: MAMLRL, params: Params, task: Any, key: PRNGKey, steps: int,
                       num_trajs: int, step_sizes: tuple[float, ...] | None = None) -> Array:
    """Mean return on one task after 0, 1, …, `steps` inner steps (the §5.3 test protocol).

        R_j = mean over `num_trajs` trajectories of π_{θ_j},  θ_{j+1} = θ_j − α_j ∇L(θ_j; D_j)

    with α_0 = α and α_j = α/2 after (`algo.step_sizes`), D_j the trajectories of step j.

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
    keys = jax.random.split(key, steps + 1)
    out, p = [], params
    for j in range(steps + 1):  # a static handful of adaptation steps
        batch = sample_batch(algo, p, task, keys[j], num_trajs)
        out.append(jnp.mean(batch.episode_return))
        if j < steps:
            p = adapt_policy(algo, p, batch, lrs[j])
    return jnp.stack(out)
