"""RL²: a GRU actor-critic meta-trained over trials with PPO or TRPO (Duan et al. 2017).

One training iteration, compiled as a whole:

1. Collect B trials. Each starts from `Trial.reset_to_task` on a freshly drawn task with a
   zero hidden state and runs exactly one trial of T = n · horizon steps through `rollout`
   (vmapped over trials). The hidden state is carried across the n episode boundaries inside
   the trial; the done flag d_{t−1} reaches the policy only as an input (RL² §2.3).
2. GAE(γ, λ) over the whole trial, with `dones` = trial end only (RL² §3: γ = 0.99, λ = 0.3).
3. Update by backpropagation through the whole trial: the policy is recomputed by
   `RecurrentActorCritic.unroll` over the stored inputs x_t with resets r_0 = 1 (trial start)
   and r_t = trial_done_{t−1} (never inside a trial), then
     - PPO: `epochs` passes over `minibatches` minibatches of whole trials (clipped surrogate,
       Adam); the policy and value gradients are clipped to `max_grad_norm` separately.
     - TRPO: `trpo_step` on the policy parameters (mean KL ≤ δ = 0.01, RL² §3), then the separate
       GRU value baseline is fitted by `value_steps` full-batch Adam steps on the λ-returns.

`make_rl2` returns the `Learner` (`init(key)`, `run(state, n)` scanning n iterations in one
dispatch, the `train_phase` contract); the pieces it is made of (`collect`, `prepare`, `update`,
`iteration`) are functions of an `RL2Agent` (network, trial, settings). `evaluate`
plays one trial on each of a given set of tasks (e.g. `instances(env, 1000)`) and returns the
total reward per trial.

Departures (not stated in the paper): advantages are standardised per (mini)batch; the PPO
variant follows the independent PPO reproduction of RL² (REFERENCE.md); TRPO's CG damping is
`trpo_step`'s default 0.1 (rllab: 1e-5; see its docstring). Two options, off by default and off
at the `paper` preset: `value_norm` (the value network predicts λ-returns standardised by running
statistics, V = μ + σ·v, as in PopArt-style value normalisation without output preservation)
and `time_feature` (t/T is prepended to the policy input x_t; the paper gives no time feature).

Reference: Duan et al., "RL²: Fast reinforcement learning via slow reinforcement learning",
arXiv:1611.02779, §2–3; Schulman et al. 2015 (TRPO), 2016 (GAE), 2017 (PPO).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import optax

from adaptax._checks import require_int
from adaptax.envs.wrappers import Trial, TrialParams
from adaptax.nets.encoders import PixelEncoder
from adaptax.nets.recurrent import RecurrentActorCritic, RecurrentCarry
from adaptax.parallel import gather_batch, grouped, shard_batch
from adaptax.rl.losses import (
    categorical_entropy,
    categorical_kl,
    categorical_log_prob,
    importance_surrogate,
    masked_mean,
)
from adaptax.rl.ppo import normalize_advantages, ppo_loss
from adaptax.rl.rl2_data import (
    ReturnStats,
    RL2Batch,
    initial_return_stats,
    learner_inputs,
    normalise_targets,
    prepare_trials,
    trial_length,
    trial_rewards,
)
from adaptax.rl.rollout import RolloutCarry, Trajectory, rollout
from adaptax.rl.trpo import trpo_step
from adaptax.types import Array, Learner, Params, PRNGKey

__all__ = [
    "ReturnStats",
    "RL2Batch",
    "RL2Agent",
    "RL2Metrics",
    "RL2Settings",
    "RL2State",
    "learner_inputs",
    "collect",
    "evaluate",
    "init",
    "iteration",
    "make_rl2",
    "policy_step",
    "prepare",
    "rl2_agent",
    "rl2_learner",
    "trial_length",
    "update",
]


@dataclasses.dataclass(frozen=True)
class RL2Settings:
    """Hyper-parameters of the RL² learner (static: changing one recompiles).

    Attributes:
      hidden_size: GRU units (paper: 256).
      embed_size: width of the input embedding (paper: not stated; we use 256 with GRU 256).
      trials_per_batch: B, trials collected per iteration (paper: 250,000 steps / T).
      algorithm: "ppo" or "trpo" (paper: TRPO).
      gamma: discount γ (paper: 0.99).
      lam: GAE λ (paper: 0.3 for bandits and MDPs).
      lr: Adam step size of the PPO update (both networks) and of the TRPO value fit.
      epochs: PPO passes over the batch.
      minibatches: PPO minibatches of whole trials per pass (must divide B).
      clip_eps: PPO ratio clip ε.
      vf_coef: PPO value-loss weight.
      ent_coef: PPO entropy bonus.
      max_grad_norm: PPO gradient clip, applied to the policy and value gradients separately.
      max_kl: TRPO trust region δ (paper: 0.01).
      cg_iters: TRPO conjugate-gradient iterations.
      cg_damping: TRPO damping λ of the Fisher matrix.
      value_steps: TRPO: Adam steps fitting the value baseline per iteration.
      value_norm: the value network predicts λ-returns standardised by running statistics
        (`ReturnStats`), V = μ + σ·v; off, it predicts raw returns (paper: not stated).
      value_norm_decay: decay β of those statistics' exponential moving averages.
      time_feature: append t/T (the step within the trial) to the policy input (paper: no).
      lr_anneal_iterations: > 0: the Adam step size decays linearly from `lr` to 0 over this
        many iterations (then stays at 0); 0: constant.
      shared_torso: the value head reads the policy's GRU state instead of its own embedding and
        GRU (half the network compute; the value loss then shapes the policy torso too). Under
        TRPO the value fit trains only the value head (paper: separate networks).
      encoder: how the trial's `PolicyInput` reaches the embedding: ``"auto"`` (convolutions
        for an image observation, of rank 3, else the flattened vector), ``"flat"`` or
        ``"pixels"`` (`adaptax.nets.encoders.PixelEncoder`, the paper's maze agent).
    """

    hidden_size: int = 256
    embed_size: int = 256
    trials_per_batch: int = 256
    algorithm: Literal["ppo", "trpo"] = "ppo"
    gamma: float = 0.99
    lam: float = 0.3
    lr: float = 1e-3
    epochs: int = 4
    minibatches: int = 4
    clip_eps: float = 0.2
    vf_coef: float = 0.5
    ent_coef: float = 0.0
    max_grad_norm: float = 1.0
    max_kl: float = 0.01
    cg_iters: int = 10
    cg_damping: float = 0.1
    value_steps: int = 5
    value_norm: bool = False
    value_norm_decay: float = 0.9
    time_feature: bool = False
    lr_anneal_iterations: int = 0
    shared_torso: bool = False
    encoder: Literal["auto", "flat", "pixels"] = "auto"

    def __post_init__(self) -> None:
        for name in ("hidden_size", "embed_size", "trials_per_batch", "epochs", "minibatches",
                     "cg_iters", "value_steps"):
            require_int(name, getattr(self, name), minimum=1)
        if self.algorithm not in ("ppo", "trpo"):
            raise ValueError(f"algorithm must be 'ppo' or 'trpo', got {self.algorithm!r}")
        if self.encoder not in ("auto", "flat", "pixels"):
            raise ValueError(f"encoder must be 'auto', 'flat' or 'pixels', got {self.encoder!r}")
        if self.algorithm == "ppo" and self.trials_per_batch % self.minibatches:
            raise ValueError(f"minibatches ({self.minibatches}) must divide trials_per_batch "
                             f"({self.trials_per_batch})")
        require_int("lr_anneal_iterations", self.lr_anneal_iterations, minimum=0)
        if not 0.0 <= self.value_norm_decay < 1.0:
            raise ValueError(f"value_norm_decay must lie in [0, 1), got {self.value_norm_decay}")
        for name in ("gamma", "lam"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        for name in ("lr", "clip_eps", "max_grad_norm", "max_kl"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("vf_coef", "ent_coef", "cg_damping"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


class RL2State(NamedTuple):
    """The learner's state.

    Attributes:
      params: the actor-critic's variables (`{"params": {"policy_*": …, "value_*": …}}`).
      opt_state: Adam state (PPO: both networks; TRPO: used by the value fit only).
      key: PRNG key for task draws, rollouts and minibatch shuffles.
      iteration: number of iterations done (int32 scalar).
      return_stats: `ReturnStats` of the value targets (used when `value_norm`).
    """

    params: Params
    opt_state: Any
    key: PRNGKey
    iteration: Array
    return_stats: ReturnStats = None  # type: ignore[assignment]  # init always sets it


class RL2Metrics(NamedTuple):
    """Per-iteration diagnostics (scalars; `run` stacks them along a leading axis).

    Attributes:
      loss: PPO: the last minibatch's total loss; TRPO: surrogate loss after the step plus the
        value loss (the field `train_phase` watches for NaN).
      trial_return: mean total reward per trial of the batch collected this iteration.
      policy_loss: the policy surrogate loss.
      value_loss: ½ mean squared error of the value baseline.
      entropy: mean policy entropy (nats).
      kl: PPO: approximate KL of the last minibatch; TRPO: mean KL of the accepted step.
      env_steps: environment steps collected this iteration (B·T, counted inside the trials).
    """

    loss: Array
    trial_return: Array
    policy_loss: Array
    value_loss: Array
    entropy: Array
    kl: Array
    env_steps: Array


class RL2Agent(NamedTuple):
    """What RL²'s training and its evaluation share, fixed when they are built (`rl2_agent`).

    Attributes:
      network: the `RecurrentActorCritic` module.
      trial: the `Trial` wrapper over the inner environment.
      settings: the `RL2Settings` (hyper-parameters as data).
      trial_steps: T, steps per trial.
    """

    network: RecurrentActorCritic
    trial: Trial
    settings: RL2Settings
    trial_steps: int


class _WithinTrial:
    """A `Trial` whose `step` never draws the next task: `Trial.step_env` (no trial auto-reset).

    The rollout plays exactly one trial, so the auto-reset branch (a task draw at every step under
    vmap) would be computed and thrown away; the inner environment still auto-resets between
    episodes on the same task.
    """

    def __init__(self, trial: Trial):
        self.trial = trial

    def step(self, key: PRNGKey, state: Any, action: Array, params: Any) -> Any:
        del params
        return self.trial.step_env(key, state, action, TrialParams())


def _split_params(params: Params) -> tuple[Params, Params]:
    """({"params": policy_* subtrees}, {"params": value_* subtrees})."""
    inner = params["params"]
    policy = {k: v for k, v in inner.items() if k.startswith("policy")}
    value = {k: v for k, v in inner.items() if not k.startswith("policy")}
    return {"params": policy}, {"params": value}


def _merge_params(policy: Params, value: Params) -> Params:
    return {"params": {**policy["params"], **value["params"]}}


def _clip_by_norm(tree: Params, max_norm: float) -> Params:
    norm = optax.tree.norm(tree)
    scale = jnp.minimum(1.0, max_norm / jnp.maximum(norm, 1e-12))
    return jax.tree.map(lambda g: g * scale, tree)


def rl2_agent(
    env: Any,
    episodes: int,
    settings: RL2Settings = RL2Settings(),
    max_trial_steps: int | None = None,
) -> RL2Agent:
    """The RL² agent for trials of `episodes` episodes of a discrete-action `env`.

    Args:
      env: a gymnax-API inner environment with a `Discrete` action space and `sample_task`.
      episodes: n, episodes per trial.
      settings: `RL2Settings`.
      max_trial_steps: T; default `trial_length(env, episodes)`. Steps after an early trial end
        are masked out of every loss.
    """
    if not isinstance(settings, RL2Settings):
        raise ValueError(f"settings must be an RL2Settings, got {type(settings).__name__}")
    trial = Trial(env, episodes=episodes)
    space = trial.action_space()
    if not hasattr(space, "n"):
        raise ValueError("RL² here needs a Discrete action space (softmax policy)")
    steps = (
        trial_length(env, episodes)
        if max_trial_steps is None
        else require_int("max_trial_steps", max_trial_steps, minimum=1)
    )
    pixels = settings.encoder == "pixels" or (
        settings.encoder == "auto" and len(_example_input(trial).obs.shape) == 3)
    net = RecurrentActorCritic(
        action_dim=int(space.n), hidden_size=settings.hidden_size,
        embed_size=settings.embed_size, shared_torso=settings.shared_torso,
        encoder=PixelEncoder() if pixels else None,
    )
    return RL2Agent(network=net, trial=trial, settings=settings, trial_steps=steps)


def _optimizer(s: RL2Settings) -> optax.GradientTransformation:
    """Adam at `lr`, annealed linearly to 0 over `lr_anneal_iterations` when that is set."""
    if s.lr_anneal_iterations <= 0:
        return optax.adam(s.lr)
    # one Adam update per PPO minibatch (TRPO: per value-fit step)
    per_iter = s.epochs * s.minibatches if s.algorithm == "ppo" else s.value_steps
    return optax.adam(optax.linear_schedule(s.lr, 0.0, s.lr_anneal_iterations * per_iter))


def _example_input(trial: Trial, time_feature: bool = False) -> Any:
    """Zeros shaped like one step's `PolicyInput` (with the time feature when asked)."""
    task = trial.env.default_params
    shapes = jax.eval_shape(lambda k: trial.reset_to_task(k, task)[0], jax.random.PRNGKey(0))
    x = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), shapes)
    return x._replace(time=jnp.zeros((1,), jnp.float32)) if time_feature else x


def init(agent: RL2Agent, key: PRNGKey, params: Params | None = None) -> RL2State:
    """A fresh `RL2State`: the network initialised from `key` (unless `params` are given)."""
    key_init, key = jax.random.split(key)
    if params is None:
        net = agent.network
        x = _example_input(agent.trial, agent.settings.time_feature)
        params = net.init(key_init, net.init_carry(), x, jnp.array(True))
    return RL2State(params, _optimizer(agent.settings).init(params), key,
                    jnp.zeros((), jnp.int32), initial_return_stats())


def policy_step(
    agent: RL2Agent, params: Params, carry: RecurrentCarry, obs: Any, key: PRNGKey
) -> tuple[RecurrentCarry, Array, Array, Array]:
    """One step of one stream: `(carry, action, log_prob, value)` (a `rollout` policy)."""
    # reset = False: the rollout starts every trial from a zero carry (trial start).
    carry, logits, value = agent.network.apply(params, carry, obs, jnp.array(False))
    action = jax.random.categorical(key, logits)
    return carry, action, categorical_log_prob(logits, action), value


def _collect_one(agent: RL2Agent, params: Params, task: Any, key: PRNGKey) -> Trajectory:
    trial, steps = agent.trial, agent.trial_steps
    policy = functools.partial(policy_step, agent)
    key_reset, key_roll = jax.random.split(key)
    obs, state = trial.reset_to_task(key_reset, task)
    carry = RolloutCarry(state, obs, agent.network.init_carry(), key_roll)
    if not agent.settings.time_feature:
        _, traj = rollout(_WithinTrial(trial), None, policy, params, carry, steps)
        return traj
    # time feature: x_t = (t/T, Trial input); the Trial's state does not hold t, so the
    # rollout carries it in the policy carry.
    def timed_policy(p: Params, c: tuple[Any, Array], o: Any, k: PRNGKey) -> Any:
        inner, t = c
        x = o._replace(time=(t / steps)[None].astype(jnp.float32))
        inner, action, log_prob, value = policy(p, inner, x, k)
        return (inner, t + 1), action, log_prob, value

    carry = carry._replace(policy_carry=(carry.policy_carry, jnp.zeros((), jnp.int32)))
    _, traj = rollout(_WithinTrial(trial), None, timed_policy, params, carry, steps)
    time = (jnp.arange(steps) / steps).astype(jnp.float32)[:, None]
    return traj._replace(obs=traj.obs._replace(time=time))


def collect(agent: RL2Agent, params: Params, tasks: Any, key: PRNGKey) -> Trajectory:
    """One trial on each task: a `Trajectory` with leading axes [B, T]."""
    num = jax.tree.leaves(tasks)[0].shape[0]
    tasks, keys = shard_batch((tasks, jax.random.split(key, num)))
    return jax.vmap(_collect_one, in_axes=(None, None, 0, 0))(agent, params, tasks, keys)


def evaluate(agent: RL2Agent, params: Params, tasks: Any, key: PRNGKey) -> Array:
    """The total reward of one trial on each task, [N] (sampled actions)."""
    return jnp.sum(trial_rewards(collect(agent, params, tasks, key)), axis=1)


def prepare(agent: RL2Agent, traj: Trajectory, stats: ReturnStats | None = None) -> RL2Batch:
    """Advantages and λ-returns (values de-normalised by `stats`), time-major inputs; targets
    not yet standardised."""
    return prepare_trials(traj, stats, agent.settings.gamma, agent.settings.lam)


def _unroll(agent: RL2Agent) -> Callable[[Params, RL2Batch], tuple[Array, Array]]:
    """`(params, batch) -> (logits, values)` over a time-major [T, B] batch; on a data mesh each
    device unrolls its own trials (`parallel.grouped`)."""
    net = agent.network

    def unroll_group(params: Params, batch: RL2Batch) -> tuple[Array, Array]:
        carry = net.init_carry(batch.resets.shape[1])
        _, logits, values = net.unroll(params, carry, batch.xs, batch.resets)
        return logits, values

    return grouped(unroll_group, batch_axis=1, out_axis=1)


def _ppo_update(agent: RL2Agent, state: RL2State, batch: RL2Batch,
                key: PRNGKey) -> tuple[RL2State, RL2Metrics]:
    s, optimizer, unroll = agent.settings, _optimizer(agent.settings), _unroll(agent)
    batch = gather_batch(batch)  # minibatches in random order: each device reads them whole
    num_trials = batch.resets.shape[1]
    size = num_trials // s.minibatches

    def minibatch_loss(params: Params, mb: RL2Batch) -> tuple[Array, Any]:
        logits, values = unroll(params, mb)
        advantages = normalize_advantages(mb.advantages, mb.mask)
        return ppo_loss(
            categorical_log_prob(logits, mb.action), mb.log_prob, advantages, values, mb.value,
            mb.returns, categorical_entropy(logits), clip_eps=s.clip_eps, vf_coef=s.vf_coef,
            ent_coef=s.ent_coef, clip_value=False, mask=mb.mask,
        )

    def minibatch(carry: tuple[Params, Any], idx: Array) -> tuple[Any, Any]:
        params, opt_state = carry
        mb = jax.tree.map(lambda x: x[:, idx], batch)
        (loss, info), grads = jax.value_and_grad(minibatch_loss, has_aux=True)(params, mb)
        g_pi, g_v = _split_params(grads)
        grads = _merge_params(_clip_by_norm(g_pi, s.max_grad_norm),
                              _clip_by_norm(g_v, s.max_grad_norm))
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), (loss, info)

    def epoch(carry: tuple[Params, Any], k: PRNGKey) -> tuple[Any, Any]:
        order = jax.random.permutation(k, num_trials).reshape(s.minibatches, size)
        return jax.lax.scan(minibatch, carry, order)

    (params, opt_state), (losses, infos) = jax.lax.scan(
        epoch, (state.params, state.opt_state), jax.random.split(key, s.epochs)
    )
    metrics = RL2Metrics(
        loss=losses[-1, -1], trial_return=jnp.zeros(()),
        policy_loss=infos.policy_loss[-1, -1], value_loss=infos.value_loss[-1, -1],
        entropy=infos.entropy[-1, -1], kl=infos.approx_kl[-1, -1], env_steps=jnp.zeros(()),
    )
    return state._replace(params=params, opt_state=opt_state), metrics


def _trpo_update(agent: RL2Agent, state: RL2State, batch: RL2Batch) -> tuple[RL2State,
                                                                            RL2Metrics]:
    s, optimizer, unroll = agent.settings, _optimizer(agent.settings), _unroll(agent)
    policy_params, value_params = _split_params(state.params)
    old_logits, _ = unroll(state.params, batch)
    old_logits = jax.lax.stop_gradient(old_logits)
    advantages = normalize_advantages(batch.advantages, batch.mask)

    def policy_logits(p: Params) -> Array:
        return unroll(_merge_params(p, value_params), batch)[0]

    def loss_fn(p: Params) -> Array:
        logp = categorical_log_prob(policy_logits(p), batch.action)
        return -importance_surrogate(logp, batch.log_prob, advantages, batch.mask)

    def kl_fn(p: Params) -> Array:
        return masked_mean(categorical_kl(old_logits, policy_logits(p)), batch.mask)

    policy_params, info = trpo_step(
        loss_fn, kl_fn, policy_params, max_kl=s.max_kl, cg_iters=s.cg_iters, damping=s.cg_damping,
    )

    def value_loss(vp: Params) -> Array:
        _, values = unroll(_merge_params(policy_params, vp), batch)
        return 0.5 * masked_mean(jnp.square(values - batch.returns), batch.mask)

    def fit(carry: tuple[Params, Any], _: None) -> tuple[Any, Array]:
        vp, opt_state = carry
        loss, g = jax.value_and_grad(value_loss)(vp)
        # Adam over the full tree with zero policy gradients leaves the policy unchanged.
        full_g = _merge_params(jax.tree.map(jnp.zeros_like, policy_params), g)
        full_p = _merge_params(policy_params, vp)
        updates, opt_state = optimizer.update(full_g, opt_state, full_p)
        return (_split_params(optax.apply_updates(full_p, updates))[1], opt_state), loss

    (value_params, opt_state), v_losses = jax.lax.scan(
        fit, (value_params, state.opt_state), None, length=s.value_steps
    )
    entropy = masked_mean(categorical_entropy(old_logits), batch.mask)
    metrics = RL2Metrics(
        loss=info.loss_after + v_losses[-1], trial_return=jnp.zeros(()),
        policy_loss=info.loss_after, value_loss=v_losses[-1], entropy=entropy, kl=info.kl,
        env_steps=jnp.zeros(()),
    )
    params = _merge_params(policy_params, value_params)
    return state._replace(params=params, opt_state=opt_state), metrics


def update(agent: RL2Agent, state: RL2State, batch: RL2Batch,
           key: PRNGKey) -> tuple[RL2State, RL2Metrics]:
    """The PPO or TRPO update (`RL2Settings.algorithm`) on a prepared batch."""
    if agent.settings.algorithm == "ppo":
        return _ppo_update(agent, state, batch, key)
    return _trpo_update(agent, state, batch)


def iteration(agent: RL2Agent, state: RL2State) -> tuple[RL2State, RL2Metrics]:
    """One training iteration: draw tasks, collect one trial each, prepare, update."""
    s = agent.settings
    key, key_task, key_roll, key_update = jax.random.split(state.key, 4)
    env = agent.trial.env
    tasks = jax.vmap(env.sample_task)(jax.random.split(key_task, s.trials_per_batch))
    traj = collect(agent, state.params, tasks, key_roll)
    batch = prepare(agent, traj, state.return_stats if s.value_norm else None)
    stats = state.return_stats
    if s.value_norm:
        batch, stats = normalise_targets(batch, stats, s.value_norm_decay)
    state, metrics = update(agent, state._replace(return_stats=stats), batch, key_update)
    trial_return = jnp.mean(jnp.sum(trial_rewards(traj), axis=1))
    env_steps = jnp.sum(batch.mask)  # float32: exact up to 2²⁴ steps per iteration
    metrics = metrics._replace(trial_return=trial_return, env_steps=env_steps)
    return state._replace(key=key, iteration=state.iteration + 1), metrics


def rl2_learner(agent: RL2Agent) -> Learner:
    """RL²'s training as a `Learner`: `init(key, params=None)`, `run(state, n)` (jitted)."""

    def run(state: RL2State, num_iters: int) -> tuple[RL2State, RL2Metrics]:
        return jax.lax.scan(lambda c, _: iteration(agent, c), state, None, length=num_iters)

    return Learner(init=functools.partial(init, agent), run=jax.jit(run, static_argnums=1))


def make_rl2(
    env: Any,
    episodes: int,
    settings: RL2Settings = RL2Settings(),
    max_trial_steps: int | None = None,
) -> Learner:
    """The RL² learner for trials of `episodes` episodes of a discrete-action `env`.

    Objective (RL² §2.2): maximise E_task E_trial [Σ_{t<T} γ^t r_t] over a policy π(a_t | h_t),
    h_t = GRU(h_{t−1}, embed(o_t, a_{t−1}, r_{t−1}, d_{t−1})), h reset only at trial starts.
    Shorthand for ``rl2_learner(rl2_agent(env, episodes, settings, max_trial_steps))``; build
    the agent yourself to evaluate with the same network (`evaluate`).

    Example:
      >>> from adaptax.envs import BernoulliBandit, instances
      >>> agent = rl2_agent(BernoulliBandit(5), 10, RL2Settings(hidden_size=32, embed_size=32))
      >>> learner = rl2_learner(agent)
      >>> state = learner.init(jax.random.PRNGKey(0))
      >>> state, metrics = learner.run(state, 10)          # 10 iterations, one dispatch
      >>> scores = jax.jit(functools.partial(evaluate, agent))(
      ...     state.params, instances(BernoulliBandit(5), 1000), jax.random.PRNGKey(1))
      >>> scores.shape
      (1000,)

    Reference: Duan et al. 2017, §2–3.
    """
    return rl2_learner(rl2_agent(env, episodes, settings, max_trial_steps))
