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

Three things meet here, each passed in: the hyper-parameters (`MAMLRL`, plain data), the policy
(``apply_fn(θ, s) -> (μ, log σ)``) and a sampler (`adaptax.rl.sampling`: a JAX environment, or
native MuJoCo on the CPU), the only part that sees an environment. Sampling is step 1 and 3;
advantages and the inner step (2) live in `adaptax.rl.maml_rl_inner`, step 4 (the surrogate
through the inner steps, its Fisher-vector products, the TRPO step) in
`adaptax.rl.maml_rl_outer`; both are re-exported here.

Cost: with the default ``hvp="gauss_newton"`` nearly all the time of an iteration goes into the
CG's Fisher-vector products, each a Hessian-vector product of the inner loss plus a
forward/backward pass on the post-adaptation states; ``fvp_subsample`` (rllab's
``subsample_factor``) computes them on a fraction of each task's trajectories, anchored at the
true adapted policies, which the `maml-rl-nav2d` experiment uses (0.25: about 3.5× faster).

With a traceable sampler everything from sampling to the update is one jittable
`meta_iteration`, and `make_maml_rl`'s ``run`` scans it; tasks and trajectories are batched with
`vmap`, time with `lax.scan`. The meta-batch's task axis is marked with
`adaptax.parallel.shard_batch`: called under a data mesh (`adaptax.parallel.on`), each device
samples and adapts to its share of the tasks and XLA averages TRPO's means across devices, with
the same numbers as on one device. With a host sampler (MuJoCo) the same `meta_iteration` runs in
Python, its processing, adaptation and TRPO step jitted.

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

from adaptax._checks import require_int
from adaptax.rl import linear_baseline
from adaptax.rl.maml_rl_inner import (
    Batch,
    adapt_chain,
    adapt_policy,
    adapt_sequence,
    adapt_tasks,
    adaptation_returns,
    inner_loss,
    process_batch,
    process_rollouts,
    sample_and_adapt,
)
from adaptax.rl.maml_rl_outer import (
    MetaMetrics,
    OuterProblem,
    fvp_sample,
    gauss_newton_fvp,
    outer_problem,
    outer_update,
    post_adaptation_surrogate,
)
from adaptax.rl.sampling import ApplyFn, EnvSampler, Sampler
from adaptax.types import Array, Learner, PRNGKey

__all__ = [
    "Batch",
    "MAMLRL",
    "MetaMetrics",
    "MetaState",
    "adapt_chain",
    "adapt_policy",
    "adapt_sequence",
    "adapt_tasks",
    "post_adaptation_surrogate",
    "adaptation_returns",
    "EnvSampler",
    "fvp_sample",
    "gauss_newton_fvp",
    "inner_loss",
    "make_maml_rl",
    "meta_iteration",
    "OuterProblem",
    "outer_problem",
    "outer_update",
    "process_batch",
    "process_rollouts",
    "sample_and_adapt",
    "sample_phase",
]

Params = Any


@dataclasses.dataclass(frozen=True)
class MAMLRL:
    """The hyper-parameters of MAML-RL: plain, hashable data (a jitted iteration closes over
    them). The policy and the sampler are passed beside them.

    Attributes:
      meta_batch: tasks per meta-iteration (paper, navigation: 20).
      num_trajs: trajectories per task per step K (paper: 20).
      inner_lr: α of the inner step (paper text: 0.1; the navigation code: 0.5).
      inner_steps: inner steps in training, each later step at ``later_lr_factor · α``
        (paper: 1); 0 gives multi-task TRPO without adaptation.
      later_lr_factor: step size factor of inner steps after the first (code at test: 1/2).
      meta_objective: ``"last"`` (the paper): the return after the last inner step;
        ``"all"``: the mean of the returns after each inner step 1…S, each scored on the
        trajectories its policy sampled (the next step's batch, or the post-adaptation one), with
        the trust region on the mean KL of all S adapted policies. Trains every step that is
        taken at test, not only the last.
      first_order: drop the second-order terms of the inner step (first-order MAML).
      inner_estimator: the inner loss differentiated through (`inner_loss`): ``"reinforce"``
        (the paper: −mean log π · Â) or ``"lvc"`` (ProMP's −mean π/⊥π · Â: the same inner step,
        plus the score term Â ∇log π ∇log πᵀ in the Hessian the meta-gradient goes through).
      discount: γ of the returns (rllab MAML code: 0.99).
      max_kl: TRPO's δ (paper: 0.01).
      cg_iters: conjugate-gradient iterations (rllab: 10).
      damping: λ of the Fisher matrix (rllab: 1e-5; adaptax's TRPO default 0.1).
      hvp: how Fisher-vector products are computed (all three agree at θ_old, see
        `gauss_newton_fvp`): ``"gauss_newton"`` (default: Jᵀ H J with the KL's
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
        evaluation, then the step is scaled by sqrt(δ / KL(full step))
        (`adaptax.rl.trpo.rescale_to_kl`). A
        subsampled Fisher through several inner steps can overestimate the curvature many times
        over, so the model's step has a KL far below δ and training stalls; this fills the trust
        region again. Off by default.
    """

    meta_batch: int = 20
    num_trajs: int = 20
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

    def __post_init__(self) -> None:
        require_int("meta_batch", self.meta_batch, minimum=1)
        require_int("num_trajs", self.num_trajs, minimum=2)
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

    @property
    def fvp_trajs(self) -> int:
        """Trajectories per task in the Fisher-vector products: ⌈fvp_subsample · K⌉."""
        return max(1, min(self.num_trajs, math.ceil(self.fvp_subsample * self.num_trajs - 1e-9)))

    def fvp_stride(self, horizon: int) -> int:
        """Time stride r of ``fvp_subsample_by="time"``: round(1 / fvp_subsample), at most T."""
        return max(1, min(horizon, round(1.0 / self.fvp_subsample)))

    def step_sizes(self, steps: int) -> tuple[float, ...]:
        """α for the first step, `later_lr_factor`·α for the others (the code's test protocol)."""
        return tuple(self.inner_lr * (1.0 if j == 0 else self.later_lr_factor)
                     for j in range(steps))


class MetaState(NamedTuple):
    """Training state: policy parameters θ, PRNG key, meta-iterations done."""

    params: Params
    key: PRNGKey
    iteration: Array


def sample_phase(algo: MAMLRL, apply_fn: ApplyFn, sampler: Sampler, theta: Params,
                 key_tasks: PRNGKey, key_sample: PRNGKey) -> tuple[Any, Batch, Any]:
    """Samples a meta-batch of tasks and adapts to each: steps 1–3 of the meta-iteration.

    Args:
      algo: the settings.
      apply_fn: the policy.
      sampler: the environment's sampler.
      theta: the pre-adaptation parameters θ.
      key_tasks: PRNG key of the task draw.
      key_sample: PRNG key of the trajectories.

    Returns:
      ``(pre, post, chain)`` with a leading task axis (`MAMLRL.meta_batch` tasks): the
      inner steps' batches (a tuple, one per step), the post-adaptation batch, and the chain
      θ_0 = θ, θ_1, … (θ repeated per task; gradient stopped).
    """
    tasks = sampler.sample_tasks(key_tasks, algo.meta_batch)
    keys = jax.random.split(key_sample, algo.meta_batch)
    batches, chain = sample_and_adapt(algo, apply_fn, sampler, theta, tasks, keys,
                                      algo.step_sizes(algo.inner_steps), algo.num_trajs)
    first = jax.tree_util.tree_map(
        lambda x: jnp.broadcast_to(x, (algo.meta_batch, *jnp.shape(x))), theta)
    return tuple(batches[:-1]), batches[-1], lax.stop_gradient((first, *chain[1:]))


def meta_iteration(algo: MAMLRL, apply_fn: ApplyFn, sampler: Sampler,
                   state: MetaState) -> tuple[MetaState, MetaMetrics]:
    """One meta-iteration: sample, adapt, sample again, TRPO step through the adaptation.

    Jittable whole when the sampler is traceable; with a host sampler it runs in Python and its
    pieces are jitted.

    Args:
      algo: the settings.
      apply_fn: the policy.
      sampler: the environment's sampler.
      state: the `MetaState` (θ, key, iteration).

    Returns:
      ``(new_state, MetaMetrics)``.

    Reference: Finn et al. 2017, Algorithm 3 with TRPO as the meta-optimiser (§5.3).
    """
    key, key_tasks, key_sample = jax.random.split(state.key, 3)
    pre, post, chain = sample_phase(algo, apply_fn, sampler, state.params, key_tasks, key_sample)
    update = outer_update if sampler.traceable else _outer_update_jit
    new_params, metrics = update(algo, apply_fn, state.params, pre, post, chain)
    return MetaState(new_params, key, state.iteration + 1), metrics


_outer_update_jit = jax.jit(outer_update, static_argnums=(0, 1))


def make_maml_rl(algo: MAMLRL, apply_fn: ApplyFn, sampler: Sampler,
                 init_params: Callable[[PRNGKey], Params] | None = None) -> Learner:
    """MAML-RL's meta-training as a `Learner`.

    ``init(key, params=None)`` returns the `MetaState` (θ = ``params``, or ``init_params(key)``
    when none are given; ``key`` starts the task and trajectory stream). ``run(state, n)`` does
    n meta-iterations: under one jitted `lax.scan` when the sampler is traceable (under
    `adaptax.parallel.on` the meta-batch is split across the mesh's devices), else one
    `meta_iteration` after another.

    Example:
      >>> from adaptax.envs import Navigation2D
      >>> from adaptax.nets.gaussian_mlp import GaussianMLP
      >>> net = GaussianMLP(action_dim=2)
      >>> algo = MAMLRL(meta_batch=2, num_trajs=2)
      >>> learner = make_maml_rl(algo, net.apply, EnvSampler(Navigation2D(horizon=5)),
      ...                        lambda k: net.init(k, jnp.zeros((2,))))
      >>> state, metrics = learner.run(learner.init(jax.random.PRNGKey(0)), 2)
      >>> metrics.pre_return.shape
      (2,)
    """
    def init(key: PRNGKey, params: Params | None = None) -> MetaState:
        if params is None:
            if init_params is None:
                raise ValueError("init needs params, or build the learner with init_params")
            params = init_params(key)
        return MetaState(params, key, jnp.zeros((), jnp.int32))

    def iteration(state: MetaState) -> tuple[MetaState, MetaMetrics]:
        return meta_iteration(algo, apply_fn, sampler, state)

    if not sampler.traceable:
        def run_host(state: MetaState, n: int) -> tuple[MetaState, MetaMetrics]:
            history = []
            for _ in range(n):
                state, metrics = iteration(state)
                history.append(metrics)
            return state, jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *history)

        return Learner(init=init, run=run_host)

    def scan(state: MetaState, length_marker: Array) -> tuple[MetaState, MetaMetrics]:
        return lax.scan(lambda s, _: iteration(s), state, length_marker)
    compiled = jax.jit(scan)

    def run(state: MetaState, n: int) -> tuple[MetaState, MetaMetrics]:
        return compiled(state, jnp.zeros((n,), jnp.int32))

    run.compiled = compiled  # type: ignore[attr-defined]  (tests count its compilations)
    return Learner(init=init, run=run)
