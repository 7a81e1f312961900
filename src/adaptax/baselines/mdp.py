"""Classical agents of RL²'s tabular-MDP table (Duan et al. 2017, Table 2), as the authors ran them.

The setting: S = 10 states, A = 5 actions, episodes of H = 10 steps starting in state 0, rewards
r ~ N(μ(s, a), 1) with μ ~ N(1, 1), rows P(· | s, a) ~ Dirichlet(1); a trial is n episodes on one
MDP and its score the total reward. The agents are Ian Osband's TabulaRL agents with their default
settings, which is what the paper's numbers come from (REFERENCE.md, "How the paper ran its
baselines", Tabular MDPs):

- every agent keeps per (s, a) a Normal posterior on the mean reward (known noise precision τ = 1)
  and a Dirichlet posterior on the transition row, plans once per episode by finite-horizon
  backward induction over the H steps, and acts greedily on q[h, s] with uniform random ties;
- ``psrl``: one posterior sample per episode; ``opsrl(num_samples)``: the element-wise max of the
  q-values of N samples; ``beb(scaling)``: the posterior-mean MDP plus exploration bonuses;
  ``ucrl2(scaling)``: extended value iteration on empirical estimates with confidence slacks;
  ``epsilon_greedy(epsilon)``: the near-flat-prior posterior-mean MDP with ε-random actions;
  ``greedy``: ε = 0; ``random``: uniform actions.

Two modes. ``mode="paper"`` keeps the authors' quirks, on which their numbers depend:
  1. the reward prior of PSRL, OPSRL and BEB is N(0, 1), not the generating N(1, 1);
  2. the last transition of every episode is not counted in the Dirichlet posterior (TabulaRL's
     ``update_obs`` skips it when ``pContinue == 0``); its reward is counted;
  3. UCRL2's extended value iteration edits the estimated rows in place across the backward steps,
     so its optimism compounds (see `planning.extended_value_iteration`);
  4. BEB's transition bonus is β·H·(H - 1 - h)/(1 + Σα): TabulaRL's ``gen_bonus`` gives
     β·H/(1 + Σα) and ``compute_qVals_opt`` multiplies it by the steps still to go after this one,
     H - 1 - h. REFERENCE.md writes β·H_remaining/(1 + Σα); the extra factor H equals scaling × 10,
     i.e. a shift of the 21-point log grid by exactly 5 points, so best-of-grid cells agree unless
     the best scaling sits at the grid's end.
``mode="clean"`` removes them: prior N(1, 1) for the Bayesian agents, every transition counted,
Jaksch et al.'s extended value iteration on a fresh copy of the estimates at every step, BEB's
transition bonus β·(H - 1 - h)/(1 + Σα). UCRL2 and ε-greedy keep their near-flat priors in both
modes (they are part of those algorithms' definitions in TabulaRL).

Common random numbers, the priors and the posterior updates live in `mdp_model` (its docstring
lists the random streams); the episodes, the planners and the trial loop in `mdp_trials`. This
module holds the agents and their grids, and re-exports the public names of both.

Every agent takes n, the episodes per trial, or a sequence of them: no agent looks at n and the
random streams are drawn per episode, so the first n' episodes of a trial of n are exactly the
trial of n', and one run of the longest trial gives every row of Table 2 (a leading axis over n in
the result). The table's five rows then cost 100 episodes instead of 260.

Example:
  >>> mu, p = mdp_instances(100)
  >>> psrl(mu, p, n=10, seed=0).shape                 # total reward per trial
  (100,)
  >>> grid, table = run_mdp_grid("beb", mu, p, n=10, seed=0)
  >>> len(grid) == table.shape[0], table.shape[1]     # one row per grid point
  (True, 100)

Reference: Duan et al., "RL²: Fast reinforcement learning via slow reinforcement learning",
arXiv:1611.02779, §3.2 and Table 2; Osband, Van Roy & Russo, TabulaRL
(github.com/iosband/TabulaRL, ``finite_tabular_agents.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

from adaptax._checks import require_choice, require_int
from adaptax.baselines.mdp_model import (
    _EGREEDY_PRIOR,
    _TABULA_PRIOR,
    _TRUE_PRIOR,
    HORIZON,
    MODES,
    Counts,
    MDPOutcomes,
    mdp_instances,
    mdp_outcomes,
    optimal_value,
)
from adaptax.baselines.mdp_model import NOISE_PRECISION as NOISE_PRECISION
from adaptax.baselines.mdp_model import START_STATE as START_STATE
from adaptax.baselines.mdp_model import TIE_ATOL as TIE_ATOL
from adaptax.baselines.mdp_model import TIE_RTOL as TIE_RTOL
from adaptax.baselines.mdp_model import UCRL2_DELTA as UCRL2_DELTA
from adaptax.baselines.mdp_model import _count_exp as _count_exp
from adaptax.baselines.mdp_model import _count_segments as _count_segments
from adaptax.baselines.mdp_model import _shared_draws as _shared_draws
from adaptax.baselines.mdp_trials import Planner as Planner
from adaptax.baselines.mdp_trials import (
    _as_grid,
    _finish,
    _plan_beb_batch,
    _plan_mean_batch,
    _plan_ucrl2_batch,
    _posterior_sampling_planner,
    _prepare,
    _run_trials,
)
from adaptax.baselines.stats import map_grid
from adaptax.types import Array

__all__ = [
    "MDP_AGENTS",
    "MDP_GRIDS",
    "MODES",
    "MDPOutcomes",
    "beb",
    "epsilon_greedy",
    "greedy",
    "mdp_instances",
    "mdp_outcomes",
    "opsrl",
    "optimal_value",
    "psrl",
    "random",
    "run_mdp_agent",
    "run_mdp_grid",
    "ucrl2",
]

_LOG_SCALINGS = tuple(float(x) for x in np.logspace(-4.0, 0.0, 21))
MDP_GRIDS: dict[str, dict[str, tuple[Any, ...]]] = {
    "random": {},
    "greedy": {},
    "psrl": {},
    "epsilon_greedy": {"epsilon": tuple(round(0.1 * k, 1) for k in range(1, 11))},
    "opsrl": {"num_samples": tuple(range(1, 21))},
    "beb": {"scaling": _LOG_SCALINGS},
    "ucrl2": {"scaling": _LOG_SCALINGS},
}
"""The authors' hyper-parameter grids (REFERENCE.md, Tabular MDPs), per agent: {name: values}."""


# --------------------------------------------------------------------------- the agents


def random(
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    *,
    mode: str = "paper",
    horizon: int = HORIZON,
) -> np.ndarray:
    """Uniformly random actions: the floor of the table (about H·E[μ] = 10 per episode).

    a_h ~ Uniform{0, ..., A - 1}, from the same exploration stream ε-greedy uses, so
    ``random`` equals ``epsilon_greedy(epsilon=1)`` exactly.

    Args:
      reward_mean: [N, S, A] mean rewards μ of the N instances.
      transition: [N, S, A, S] transition rows.
      n: episodes per trial, an integer >= 1, or a sequence of them (module docstring).
      seed: an integer >= 0 (common random numbers: see the module docstring).
      mode: "paper" or "clean" (no difference for this agent).
      horizon: H, steps per episode.

    Returns:
      [N] total reward of each trial (float64); [L, N] for a sequence of L values of n.

    Example:
      >>> mu, p = mdp_instances(300)
      >>> bool(90 < random(mu, p, n=10, seed=0).mean() < 110)   # 10 episodes × 10 steps × E μ
      True

    Reference: Duan et al. 2017, Table 2 ("Random").
    """
    instances, outcomes, seed, episodes = _prepare(
        reward_mean, transition, n, seed, horizon, mode
    )
    totals = _run_trials(
        instances, outcomes, seed, np.ones(1), None, count_last=True, episodes=episodes
    )
    return totals[..., 0, :]


def epsilon_greedy(
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    epsilon: float | Sequence[float],
    *,
    mode: str = "paper",
    horizon: int = HORIZON,
) -> np.ndarray:
    """ε-greedy: optimal for the posterior-mean MDP under a near-flat prior, ε-random actions.

    Each episode: μ̂ = Σr/(10⁻⁴ + n), p̂ = (10⁻⁴ + c)/Σ(10⁻⁴ + c) (TabulaRL's EpsilonGreedy,
    alpha0 = tau0 = 1e-4, mu0 = 0: empirical means, uniform rows when unvisited), then
    backward induction; at each step a uniform random action with probability ε, else the greedy
    action (uniform among ties). Paper mode does not count the last transition of an episode;
    clean mode counts it.

    Args:
      reward_mean: [N, S, A] mean rewards μ.
      transition: [N, S, A, S] transition rows.
      n: episodes per trial, or a sequence of them (module docstring).
      seed: an integer >= 0.
      epsilon: ε in [0, 1], or a sequence of them (run together as one batch).
      mode: "paper" or "clean".
      horizon: H.

    Returns:
      [N] totals for a scalar ε, [G, N] for a sequence of G values; a leading axis over n
      for a sequence of n.

    Example:
      >>> mu, p = mdp_instances(100)
      >>> epsilon_greedy(mu, p, n=10, seed=0, epsilon=[0.1, 0.2]).shape    # [grid, instances]
      (2, 100)

    Reference: TabulaRL ``EpsilonGreedy``; Duan et al. 2017, Table 2 (grid ε ∈ {0.1, ..., 1}).
    """
    instances, outcomes, seed, episodes = _prepare(
        reward_mean, transition, n, seed, horizon, mode
    )
    eps, scalar = _as_grid("epsilon", epsilon, 0.0, 1.0)

    def planner(counts: Counts, episode: int) -> Array:
        return _plan_mean_batch(counts, _EGREEDY_PRIOR, horizon)

    totals = _run_trials(
        instances, outcomes, seed, eps, planner, count_last=mode == "clean", episodes=episodes
    )
    return _finish(totals, scalar)


def greedy(
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    *,
    mode: str = "paper",
    horizon: int = HORIZON,
) -> np.ndarray:
    """Greedy: `epsilon_greedy` with ε = 0 (always the posterior-mean MDP's optimal action).

    Args:
      reward_mean: [N, S, A]; transition: [N, S, A, S];
      n: episodes per trial (or a sequence); seed: >= 0;
      mode: "paper" or "clean"; horizon: H.

    Returns:
      [N] totals ([L, N] for a sequence of n).

    Example:
      >>> mu, p = mdp_instances(300)
      >>> bool(120 < greedy(mu, p, n=10, seed=0).mean() < 150)   # 134.8 in the paper's table
      True

    Reference: Duan et al. 2017, Table 2 ("Greedy").
    """
    return epsilon_greedy(reward_mean, transition, n, seed, 0.0, mode=mode, horizon=horizon)


def opsrl(
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    num_samples: int | Sequence[int],
    *,
    mode: str = "paper",
    horizon: int = HORIZON,
) -> np.ndarray:
    """Optimistic PSRL: act on the element-wise max of the q-values of N posterior samples.

    Posterior per (s, a): mean reward ~ N(m, 1/τ_post) with τ_post = τ0 + n, m = (μ0τ0 + Σr)/τ_post,
    and row ~ Dirichlet(1 + c). Each episode draws N MDPs, plans each by backward induction and
    acts greedily on max_j q_j[h, s, a] (TabulaRL ``OptimisticPSRL``). Paper mode: prior N(0, 1),
    last transition not counted. Clean mode: prior N(1, 1) (the generating one), all counted.

    Args:
      reward_mean: [N, S, A]; transition: [N, S, A, S];
      n: episodes per trial (or a sequence); seed: >= 0.
      num_samples: N >= 1, or a sequence of them (run together; sample j's draws are shared).
      mode: "paper" or "clean".
      horizon: H.

    Returns:
      [N] totals for a scalar num_samples, [G, N] for a sequence of G values; a leading axis
      over n for a sequence of n.

    Example:
      >>> mu, p = mdp_instances(100)
      >>> opsrl(mu, p, n=10, seed=0, num_samples=5).shape
      (100,)

    Reference: Osband & Van Roy, "Why is posterior sampling better than optimism for reinforcement
    learning?", ICML 2017 (optimistic PSRL); TabulaRL ``OptimisticPSRL``.
    """
    instances, outcomes, seed, episodes = _prepare(
        reward_mean, transition, n, seed, horizon, mode
    )
    values, scalar = _as_grid("num_samples", num_samples, 1, math.inf)
    if not np.all(values == np.round(values)):
        raise ValueError(f"num_samples must be integers >= 1, got {num_samples!r}")
    prior = _TABULA_PRIOR if mode == "paper" else _TRUE_PRIOR
    planner = _posterior_sampling_planner(tuple(int(v) for v in values), prior, seed, horizon)
    totals = _run_trials(
        instances, outcomes, seed, np.zeros(len(values)), planner, count_last=mode == "clean",
        episodes=episodes,
    )
    return _finish(totals, scalar)


def psrl(
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    *,
    mode: str = "paper",
    horizon: int = HORIZON,
) -> np.ndarray:
    """Posterior sampling for RL: one posterior sample per episode, then act optimally for it.

    Exactly `opsrl` with num_samples = 1 (TabulaRL's OptimisticPSRL with nSamp = 1 is PSRL).

    Args:
      reward_mean: [N, S, A]; transition: [N, S, A, S];
      n: episodes per trial (or a sequence); seed: >= 0;
      mode: "paper" (prior N(0, 1), paper: 138.1 at n = 10) or "clean" (prior N(1, 1));
      horizon: H.

    Returns:
      [N] totals ([L, N] for a sequence of n).

    Example:
      >>> mu, p = mdp_instances(300)
      >>> bool(125 < psrl(mu, p, n=10, seed=0).mean() < 155)   # 138.1 in the paper's table
      True

    Reference: Osband, Russo & Van Roy, "(More) efficient reinforcement learning via posterior
    sampling", NeurIPS 2013; TabulaRL ``PSRL``.
    """
    return opsrl(reward_mean, transition, n, seed, 1, mode=mode, horizon=horizon)


def beb(
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    scaling: float | Sequence[float],
    *,
    mode: str = "paper",
    horizon: int = HORIZON,
) -> np.ndarray:
    """Bayesian exploration bonus: plan on the posterior-mean MDP plus bonuses.

        q_h(s, a) = m(s, a) + 1/(n(s, a) + 2) + b(s, a)·(H - 1 - h) + Σ_s' p̄(s' | s, a) v_{h+1}(s'),

    m the posterior mean reward (prior N(0, 1) in paper mode, N(1, 1) in clean), p̄ = α/Σα with
    α = 1 + counts, β = 2H²·scaling, and b = β·H/(1 + Σα) in paper mode (TabulaRL ``BEB``; see the
    module docstring, quirk 4) or β/(1 + Σα) in clean mode.

    Args:
      reward_mean: [N, S, A]; transition: [N, S, A, S];
      n: episodes per trial (or a sequence); seed: >= 0.
      scaling: >= 0, or a sequence of them (run together as one batch).
      mode: "paper" or "clean".
      horizon: H.

    Returns:
      [N] totals for a scalar scaling, [G, N] for a sequence of G values; a leading axis over
      n for a sequence of n.

    Example:
      >>> mu, p = mdp_instances(100)
      >>> beb(mu, p, n=10, seed=0, scaling=[0.1, 1.0]).shape    # [grid, instances]
      (2, 100)

    Reference: Kolter & Ng, "Near-Bayesian exploration in polynomial time", ICML 2009;
    TabulaRL ``BEB``.
    """
    instances, outcomes, seed, episodes = _prepare(
        reward_mean, transition, n, seed, horizon, mode
    )
    scalings, scalar = _as_grid("scaling", scaling, 0.0, math.inf)
    prior = _TABULA_PRIOR if mode == "paper" else _TRUE_PRIOR
    scale = jnp.asarray(scalings, jnp.float32)

    def planner(counts: Counts, episode: int) -> Array:
        return _plan_beb_batch(counts, scale, prior, horizon, mode == "paper")

    totals = _run_trials(
        instances, outcomes, seed, np.zeros(len(scalings)), planner, count_last=mode == "clean",
        episodes=episodes,
    )
    return _finish(totals, scalar)


def ucrl2(
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    scaling: float | Sequence[float],
    *,
    mode: str = "paper",
    horizon: int = HORIZON,
) -> np.ndarray:
    """UCRL2 with finite-horizon extended value iteration (TabulaRL ``UCRL2``).

    Estimates with near-flat priors (alpha0 = 1e-5, tau0 = 1e-4: empirical means, uniform rows
    when unvisited); at episode t (0-based) the reward slack is scaling·sqrt(4 ln(2SA(t+1)/δ) /
    max(n, 1)) and the transition slack scaling·sqrt(4S ln(2SA(t+1)/δ) / max(n_P, 1)), δ = 0.05;
    extended value iteration moves slack/2 of each row's mass to the best next state. Paper mode
    compounds the row edits across the backward steps as the authors' code did and does not count
    the last transition of an episode; clean mode runs Jaksch et al.'s inner loop on a fresh copy
    at every step and counts every transition.

    Args:
      reward_mean: [N, S, A]; transition: [N, S, A, S];
      n: episodes per trial (or a sequence); seed: >= 0.
      scaling: >= 0, or a sequence of them (run together as one batch).
      mode: "paper" or "clean".
      horizon: H.

    Returns:
      [N] totals for a scalar scaling, [G, N] for a sequence of G values; a leading axis over
      n for a sequence of n.

    Example:
      >>> mu, p = mdp_instances(100)
      >>> ucrl2(mu, p, n=10, seed=0, scaling=0.05).shape
      (100,)

    Reference: Jaksch, Ortner & Auer, JMLR 2010; TabulaRL ``UCRL2`` and ``compute_qVals_EVI``.
    """
    instances, outcomes, seed, episodes = _prepare(
        reward_mean, transition, n, seed, horizon, mode
    )
    scalings, scalar = _as_grid("scaling", scaling, 0.0, math.inf)
    scale = jnp.asarray(scalings, jnp.float32)

    def planner(counts: Counts, episode: int) -> Array:
        return _plan_ucrl2_batch(counts, scale, jnp.float32(episode), horizon, mode == "paper")

    totals = _run_trials(
        instances, outcomes, seed, np.zeros(len(scalings)), planner, count_last=mode == "clean",
        episodes=episodes,
    )
    return _finish(totals, scalar)


MDP_AGENTS: dict[str, Callable[..., np.ndarray]] = {
    "random": random,
    "greedy": greedy,
    "epsilon_greedy": epsilon_greedy,
    "psrl": psrl,
    "opsrl": opsrl,
    "beb": beb,
    "ucrl2": ucrl2,
}
"""Agent name -> function(reward_mean, transition, n, seed, [hyper-parameter], mode=...)."""


def run_mdp_agent(
    name: str,
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    mode: str = "paper",
    **hparams: Any,
) -> np.ndarray:
    """Runs one agent of the MDP table by name.

    Args:
      name: one of `MDP_AGENTS` ("random", "greedy", "epsilon_greedy", "psrl", "opsrl", "beb",
        "ucrl2").
      reward_mean: [N, S, A] mean rewards of the N instances.
      transition: [N, S, A, S] transition rows.
      n: episodes per trial, or a sequence of them (module docstring).
      seed: an integer >= 0 shared by every agent (common random numbers).
      mode: "paper" (the authors' quirks) or "clean".
      **hparams: the agent's hyper-parameter (`epsilon`, `num_samples` or `scaling`), a value or a
        sequence of values; `horizon` may be given too.

    Returns:
      [N] totals, or [G, N] when the hyper-parameter is a sequence of G values; a leading axis
      over n for a sequence of n.

    Example:
      >>> mu, p = mdp_instances(100)
      >>> run_mdp_agent("opsrl", mu, p, 10, 0, num_samples=3).shape
      (100,)

    Reference: Duan et al. 2017, Table 2.
    """
    require_choice("MDP agent", name, sorted(MDP_AGENTS))
    require_choice("mode", mode, MODES)
    expected = set(MDP_GRIDS[name]) | {"horizon"}
    unknown = set(hparams) - expected
    missing = set(MDP_GRIDS[name]) - set(hparams)
    if unknown or missing:
        raise ValueError(
            f"{name} takes hyper-parameters {sorted(MDP_GRIDS[name])}; got {sorted(hparams)}"
        )
    return MDP_AGENTS[name](reward_mean, transition, n, seed, mode=mode, **hparams)


def run_mdp_grid(
    name: str,
    reward_mean: Any,
    transition: Any,
    n: int,
    seed: int,
    mode: str = "paper",
    *,
    grid: Sequence[Any] | None = None,
    horizon: int = HORIZON,
    workers: int = 1,
) -> tuple[tuple[Any, ...], np.ndarray]:
    """Runs an agent over its whole hyper-parameter grid (the authors' by default).

    The grid points run as one batch, or as `workers` batches on as many threads (NumPy and XLA
    release the GIL). The agents' random streams do not depend on which grid points share a batch,
    so the totals are the same for any `workers`. Agents without a hyper-parameter give a grid of
    one point, ().

    Args:
      name: an agent of `MDP_AGENTS`.
      reward_mean: [N, S, A]; transition: [N, S, A, S]; seed: >= 0.
      n: episodes per trial, or a sequence of L of them: then one run of the longest gives the
        totals after each (the first n' episodes of a trial are exactly the trial of n').
      mode: "paper" or "clean".
      grid: the values of the agent's hyper-parameter (default: `MDP_GRIDS[name]`).
      horizon: H.
      workers: threads, an integer >= 1 (at most the number of free cores).

    Returns:
      (values, totals): the grid values and the totals [G, N], row g for values[g]; [L, G, N]
      for a sequence of n.

    Example:
      >>> mu, p = mdp_instances(100)
      >>> values, totals = run_mdp_grid("ucrl2", mu, p, n=10, seed=0, workers=2)
      >>> best = values[int(totals.mean(axis=1).argmax())]   # the best scaling on these instances
      >>> run_mdp_grid("ucrl2", mu, p, n=(10, 25), seed=0)[1].shape   # Table 2's first two rows
      (2, 21, 100)

    Reference: REFERENCE.md, "How the paper ran its baselines" (best mean per setting).
    """
    require_choice("MDP agent", name, sorted(MDP_AGENTS))
    require_choice("mode", mode, MODES)
    workers = require_int("workers", workers, minimum=1)
    agent = MDP_AGENTS[name]
    if not MDP_GRIDS[name]:
        if grid is not None and len(grid) != 0:
            raise ValueError(f"{name} has no hyper-parameter; leave grid unset")
        totals = agent(reward_mean, transition, n, seed, mode=mode, horizon=horizon)
        return ((),), totals[..., None, :]
    (param,) = MDP_GRIDS[name]
    values = tuple(MDP_GRIDS[name][param] if grid is None else grid)
    if len(values) == 0:
        raise ValueError(f"the {param} grid of {name} is empty; give at least one value")
    # deal the grid points round-robin, costliest first (OPSRL's cost grows with num_samples)
    order = sorted(range(len(values)), key=lambda g: -float(values[g]) if name == "opsrl" else g)
    groups = [order[w::workers] for w in range(min(workers, len(values)))]

    def run(group: list[int]) -> np.ndarray:
        return agent(
            reward_mean, transition, n, seed, [values[g] for g in group], mode=mode, horizon=horizon
        )

    parts = map_grid(run, groups, len(groups))
    totals = np.empty((*parts[0].shape[:-2], len(values), parts[0].shape[-1]))
    for group, part in zip(groups, parts, strict=True):
        totals[..., group, :] = part
    return values, totals
