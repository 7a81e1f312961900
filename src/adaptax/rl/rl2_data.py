"""RL² data side: the batch the update sees, trial lengths, learner inputs, advantages.

Everything here is a pure function of collected trials (no network, no optimiser); the learner
that uses it is `adaptax.rl.rl2`. Per trial (RL² §2.3, §3):

    resets_0 = 1,  resets_t = trial_done_{t−1}      (the hidden state spans the whole trial)
    Â_t, R_t = GAE(γ, λ) over the trial, dones = trial end only
    V_t = μ + σ·v_t                                  (`value_norm`; μ = 0, σ = 1 otherwise)

Reference: Duan et al., "RL²: Fast reinforcement learning via slow reinforcement learning",
arXiv:1611.02779, §2–3; Schulman et al. 2016 (GAE).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from adaptax._checks import require_int
from adaptax.rl.losses import masked_mean
from adaptax.rl.returns import gae
from adaptax.rl.rollout import Trajectory
from adaptax.types import Array

__all__ = [
    "ReturnStats",
    "RL2Batch",
    "initial_return_stats",
    "learner_inputs",
    "normalise_targets",
    "prepare_trials",
    "trial_length",
    "trial_rewards",
]


class ReturnStats(NamedTuple):
    """Running statistics of the value targets (debiased exponential moving averages).

    Attributes:
      mean: μ, EMA of the batch mean of the λ-returns (float32 scalar).
      sq: EMA of the batch mean of their squares.
      weight: 1 − β^k after k updates (the debiasing weight; 0 before the first).
    """

    mean: Array
    sq: Array
    weight: Array

    def moments(self) -> tuple[Array, Array]:
        """(μ, σ) after debiasing; (0, 1) before the first update."""
        w = jnp.maximum(self.weight, 1e-12)
        mean = jnp.where(self.weight > 0, self.mean / w, 0.0)
        sq = jnp.where(self.weight > 0, self.sq / w, 1.0)
        return mean, jnp.sqrt(jnp.maximum(sq - mean**2, 1e-4))


def initial_return_stats() -> ReturnStats:
    """`ReturnStats` before the first update: (μ, σ) = (0, 1)."""
    return ReturnStats(jnp.zeros(()), jnp.zeros(()), jnp.zeros(()))


class RL2Batch(NamedTuple):
    """What the update sees, time-major: leading axes [T, B].

    Attributes:
      xs: the policy inputs x_t (`Trial` observations), [T, B, D].
      resets: r_t = 1 where the hidden state is zeroed before step t (trial starts only), [T, B].
      action: a_t, [T, B].
      log_prob: log π_old(a_t | ·) at sampling time, [T, B].
      value: V_old(x_≤t), [T, B].
      advantages: GAE advantages, [T, B].
      returns: λ-return targets, [T, B].
      mask: 1 for steps inside the trial (0 after an early trial end), [T, B].
    """

    xs: Array
    resets: Array
    action: Array
    log_prob: Array
    value: Array
    advantages: Array
    returns: Array
    mask: Array


def trial_length(env: Any, episodes: int) -> int:
    """T = steps in one trial of `episodes` fixed-length episodes of `env`.

        T = n · horizon   (bandit: horizon 1, so T = n pulls)

    Args:
      env: the inner environment: one with a `horizon` attribute, or a `BernoulliBandit`.
      episodes: n >= 1.

    Returns:
      T as an int.

    Example:
      >>> from adaptax.envs import TabularMDP
      >>> trial_length(TabularMDP(horizon=10), 25)
      250
    """
    from adaptax.envs.bandits import BernoulliBandit

    episodes = require_int("episodes", episodes, minimum=1)
    if isinstance(env, BernoulliBandit):
        return episodes
    horizon = getattr(env, "horizon", None)
    if horizon is None:
        raise ValueError(
            f"cannot tell the episode length of {env!r}: pass max_trial_steps to make_rl2"
        )
    return episodes * int(horizon)


def learner_inputs(traj: Trajectory) -> tuple[Array, Array, Array]:
    """The inputs the update's `unroll` receives for one collected trial, time-major.

        resets_0 = 1,  resets_t = trial_done_{t−1}   (never an inner episode's end)
        mask_t = 1 − [trial ended before t]

    Args:
      traj: a trajectory of one stream (leading axis T) whose `info` holds `"trial_done"`.

    Returns:
      `(xs [T, D], resets [T] bool, mask [T] float32)`.

    Example:
      >>> xs, resets, mask = learner_inputs(traj)   # doctest: +SKIP
      >>> resets.tolist()[:3]                        # [True, False, False]  # doctest: +SKIP
    """
    trial_done = traj.info["trial_done"].astype(bool)
    resets = jnp.concatenate([jnp.ones((1,), bool), trial_done[:-1]])
    ended_before = jnp.cumsum(trial_done.astype(jnp.int32)) - trial_done.astype(jnp.int32)
    mask = (ended_before == 0).astype(jnp.float32)
    return traj.obs, resets, mask



def prepare_trials(
    traj: Trajectory, stats: ReturnStats | None, gamma: float, lam: float
) -> RL2Batch:
    """The update's batch from B collected trials: advantages and λ-returns, time-major.

        V_t = μ + σ·v_t,  (Â, R) = GAE(γ, λ)(r·mask, V, trial_done, bootstrap 0)

    Args:
      traj: trajectories with leading axes [B, T] whose `info` holds `"trial_done"`.
      stats: `ReturnStats` de-normalising the stored values, or None (μ = 0, σ = 1).
      gamma: discount γ.
      lam: GAE λ.

    Returns:
      An `RL2Batch` with leading axes [T, B] (targets not yet standardised).

    Example:
      >>> batch = prepare_trials(traj, None, 0.99, 0.3)   # doctest: +SKIP
    """

    def prepare_one(traj: Trajectory, mean: Array, std: Array) -> RL2Batch:
        xs, resets, mask = learner_inputs(traj)
        # GAE over the whole trial; dones = trial end only (RL² §3: γ 0.99, λ 0.3). A trial cut
        # at T without ending bootstraps from 0: fixed-length trials always end at T.
        # value_norm: the network's v is standardised, V = μ + σ·v.
        values = mean + std * traj.value
        out = gae(traj.reward * mask, values, traj.info["trial_done"], 0.0, gamma, lam)
        return RL2Batch(xs, resets, traj.action, traj.log_prob, traj.value,
                        out.advantages * mask, out.returns, mask)

    mean, std = (jnp.zeros(()), jnp.ones(())) if stats is None else stats.moments()
    batch = jax.vmap(prepare_one, in_axes=(0, None, None))(traj, mean, std)  # [B, T, ...]
    return jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), batch)  # [T, B, ...]


def normalise_targets(
    batch: RL2Batch, stats: ReturnStats, decay: float,
) -> tuple[RL2Batch, ReturnStats]:
    """Updates the running statistics with this batch and standardises the targets.

        μ ← β·μ + (1 − β)·mean(R),  s ← β·s + (1 − β)·mean(R²),  w ← β·w + (1 − β)
        R ← (R − μ̂) / σ̂   with (μ̂, σ̂) = `ReturnStats.moments`

    Args:
      batch: an `RL2Batch` (targets in `returns`, masked by `mask`).
      stats: the running `ReturnStats`.
      decay: β in [0, 1).

    Returns:
      `(batch with standardised returns, updated stats)`.

    Example:
      >>> batch, stats = normalise_targets(batch, initial_return_stats(), 0.9)  # doctest: +SKIP
    """
    b = decay
    mean = masked_mean(batch.returns, batch.mask)
    sq = masked_mean(jnp.square(batch.returns), batch.mask)
    stats = ReturnStats(b * stats.mean + (1 - b) * mean, b * stats.sq + (1 - b) * sq,
                        b * stats.weight + (1 - b))
    mu, sigma = stats.moments()
    return batch._replace(returns=(batch.returns - mu) / sigma), stats


def trial_rewards(traj: Trajectory) -> Array:
    """Rewards of B trials [B, T] with steps after an early trial end zeroed."""
    return traj.reward * jax.vmap(lambda t: learner_inputs(t)[2])(traj)
