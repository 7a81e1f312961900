"""Classical agents for Bernoulli bandits, as RL²'s Table 1 ran them, vectorised over instances.

Setting (RL² §3.1): k arms with success probabilities p ~ U[0, 1]; a trial is n pulls; the score is
the total reward, averaged over instances. Every agent keeps Beta pseudo-counts (a, b) per arm,
starting from Beta(1, 1) ("one success and one failure"), and breaks ties towards the lowest arm.

Common random numbers. The reward of pulling arm j at step t in instance i is
    r = 1[U[i, t, j] < p[i, j]],
with ONE uniform array U [N, n, k] drawn from `seed` (`bandit_outcomes`), shared by every agent and
every grid point. An agent's own randomness comes from its own stream of the same seed
(`numpy.random.SeedSequence([seed, stream])`), identical across its grid points:
  * random, ε-greedy: arrays drawn up front, instance-major (coin flips u[i, t] ~ U[0, 1) and arms
    j[i, t] ~ U{0..k−1}); they do not depend on the agent's state or on ε, so ε-greedy at every ε
    sees the same coins and arms;
  * TS: posterior draws Beta(a, b) = G_a/(G_a + G_b) with G ~ Gamma (numpy's `standard_gamma`),
    drawn step by step, for all instances at once, in a fixed order;
  * OTS: the same posterior, with G_a and G_b sums of Exp(1) variables cut from blocks shared by
    every grid point (`adaptax.baselines.ots`).

Each agent is a loop over the n steps whose body is vectorised over instances and arms (NumPy);
the environment, the counts and the loop are in `adaptax.baselines.bandit_model`.

Paper mode vs clean mode (`run_bandit_agent`): the two differ only for Gittins. `paper` reproduces
the authors' agents, quirks included: the better per setting of (a) the closed-form approximate
index with γ = 1 and (b) a calibration table that was in fact always computed with γ = 0.9999 and
was read at (a+1, b+1). `clean` uses the finite-horizon Gittins index with the remaining horizon.

Reference: Duan et al., "RL²", arXiv:1611.02779, §3.1 and Table 1; REFERENCE.md, "How the paper
ran its baselines" (Bandits).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from adaptax._checks import require_choice, require_int
from adaptax.baselines import gittins as _gittins
from adaptax.baselines.bandit_model import ENV_STREAM as ENV_STREAM
from adaptax.baselines.bandit_model import (
    EPSILON_STREAM,
    RANDOM_STREAM,
    THOMPSON_STREAM,
    BetaCounts,
    _check_outcomes,
    _check_probs,
    _gamma_pair,
    _play,
    _posterior_mean,
    _stream,
    bandit_outcomes,
)
from adaptax.baselines.bandit_model import _initial_counts as _initial_counts
from adaptax.baselines.bandit_model import _observe as _observe
from adaptax.baselines.bandit_model import bandit_uniforms as bandit_uniforms
from adaptax.baselines.ots import optimistic_thompson_grid
from adaptax.baselines.stats import map_grid

__all__ = [
    "BANDIT_AGENTS",
    "BANDIT_GRIDS",
    "BetaCounts",
    "bandit_grid",
    "bandit_outcomes",
    "bandit_uniforms",
    "epsilon_greedy",
    "gittins",
    "greedy",
    "optimistic_thompson",
    "random",
    "run_bandit_agent",
    "run_bandit_grid",
    "thompson",
    "ucb1",
]

# The authors' tuning grids (REFERENCE.md, Bandits).
BANDIT_GRIDS: dict[str, dict[str, tuple]] = {
    "random": {},
    "greedy": {},
    "epsilon_greedy": {"eps": tuple(i / 10 for i in range(11))},
    "ucb1": {"c": tuple(i / 10 for i in range(11))},
    "thompson": {},
    "optimistic_thompson": {"num_samples": tuple(range(1, 21))},
    "gittins": {"variant": ("approx", "table")},
}
# In clean mode Gittins is the finite-horizon index; nothing to tune.
_CLEAN_GITTINS_GRID = {"variant": ("horizon",)}

BANDIT_AGENTS = tuple(BANDIT_GRIDS)

# The paper's table (b): truncation a + b <= 1000, 5000 retirement rates, γ = 0.9999 (quirk).
PAPER_TABLE_GAMMA = 0.9999
PAPER_TABLE_MAX_PULLS = 1000
PAPER_TABLE_GRID_SIZE = 5000


# ----------------------------------------------------------------------------- agents


def random(outcomes: np.ndarray, seed: int) -> np.ndarray:
    """Pulls a uniformly random arm at every step.

    j_t ~ U{0..k−1}, drawn up front as one [N, n] array from the seed's random-agent stream.

    Args:
      outcomes: bool [N, n, k] from `bandit_outcomes`.
      seed: integer >= 0.

    Returns:
      int64 [N] total rewards.

    Example:
      >>> r = bandit_outcomes(np.full((200, 5), 0.5), n=10, seed=0)
      >>> bool(abs(random(r, seed=0).mean() - 5.0) < 0.5)
      True

    Reference: RL² Table 1 ("Random").
    """
    out = _check_outcomes(outcomes)
    num, n, k = out.shape
    rng = _stream(require_int("seed", seed, minimum=0), RANDOM_STREAM)
    arms = rng.integers(0, k, size=(num, n))
    return np.take_along_axis(out, arms[:, :, None], axis=2)[:, :, 0].sum(axis=1, dtype=np.int64)


def greedy(outcomes: np.ndarray) -> np.ndarray:
    """Pulls the arm with the highest posterior mean a/(a+b) (ties: lowest arm).

    Args:
      outcomes: bool [N, n, k] from `bandit_outcomes`.

    Returns:
      int64 [N] total rewards.

    Example:
      >>> r = bandit_outcomes(np.array([[0.0, 1.0]]), n=10, seed=0)
      >>> int(greedy(r)[0])   # arm 0 fails once, then arm 1 pays 9 times
      9

    Reference: REFERENCE.md, Bandits ("Greedy").
    """
    out = _check_outcomes(outcomes)
    return _play(out, lambda t, s: np.argmax(_posterior_mean(s), axis=1))


def epsilon_greedy(outcomes: np.ndarray, seed: int, eps: float) -> np.ndarray:
    """With probability ε a uniformly random arm, else the greedy arm.

    Pull j_t = J[i, t] if u[i, t] < ε else argmax_j a_j/(a_j+b_j), with u ~ U[0, 1) and
    J ~ U{0..k−1} drawn up front (coins first, then arms) from the seed's ε-greedy stream; ε = 0 is
    greedy, ε = 1 is random. The random arm may be the greedy one, as in the authors' code.

    Args:
      outcomes: bool [N, n, k] from `bandit_outcomes`.
      seed: integer >= 0.
      eps: ε in [0, 1].

    Returns:
      int64 [N] total rewards.

    Example:
      >>> r = bandit_outcomes(np.array([[0.0, 1.0]]), n=10, seed=0)
      >>> bool((epsilon_greedy(r, seed=0, eps=0.0) == greedy(r)).all())
      True

    Reference: REFERENCE.md, Bandits ("ε-greedy"; grid ε ∈ {0, 0.1, …, 1}).
    """
    out = _check_outcomes(outcomes)
    eps = float(eps)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"eps must lie in [0, 1], got {eps}")
    num, n, k = out.shape
    rng = _stream(require_int("seed", seed, minimum=0), EPSILON_STREAM)
    coin = rng.random((num, n))
    arm = rng.integers(0, k, size=(num, n))

    def choose(t: int, s: BetaCounts) -> np.ndarray:
        return np.where(coin[:, t] < eps, arm[:, t], np.argmax(_posterior_mean(s), axis=1))

    return _play(out, choose)


def ucb1(outcomes: np.ndarray, c: float) -> np.ndarray:
    """UCB1 on the Beta pseudo-counts: argmax_j a_j/m_j + c·sqrt(2 ln t / m_j), m_j = a_j + b_j.

    t is the 0-based step; at t = 0 the bonus is undefined (ln 0) and arm 0 is pulled, as in the
    authors' code (where the NaN indices made `argmax` return 0). At t = 1 the bonus is 0.

    Args:
      outcomes: bool [N, n, k] from `bandit_outcomes`.
      c: exploration weight >= 0 (the paper's best: 0.1 at n = 10, 0.2 otherwise).

    Returns:
      int64 [N] total rewards.

    Example:
      >>> r = bandit_outcomes(np.array([[0.0, 1.0]]), n=10, seed=0)
      >>> int(ucb1(r, c=0.0)[0])
      9

    Reference: Auer, Cesa-Bianchi & Fischer (2002); REFERENCE.md, Bandits ("UCB1").
    """
    out = _check_outcomes(outcomes)
    c = float(c)
    if not c >= 0.0:
        raise ValueError(f"UCB1 exploration weight c must be >= 0, got {c}")

    def choose(t: int, s: BetaCounts) -> np.ndarray:
        if t == 0:
            return np.zeros(s.total.shape, np.int64)
        m = s.successes + s.failures
        return np.argmax(s.successes / m + c * np.sqrt(2 * np.log(t) / m), axis=1)

    return _play(out, choose)


def thompson(outcomes: np.ndarray, seed: int) -> np.ndarray:
    """Thompson sampling: one draw θ_j ~ Beta(a_j, b_j) per arm, pull argmax_j θ_j.

    θ_j = G_a/(G_a + G_b) with G_a ~ Gamma(a_j), G_b ~ Gamma(b_j), drawn each step as two [N, k]
    arrays (all G_a, then all G_b) from the seed's TS stream.

    Args:
      outcomes: bool [N, n, k] from `bandit_outcomes`.
      seed: integer >= 0.

    Returns:
      int64 [N] total rewards.

    Example:
      >>> r = bandit_outcomes(np.array([[0.1, 0.9]] * 100), n=50, seed=0)
      >>> bool(thompson(r, seed=0).mean() > 40)
      True

    Reference: Thompson (1933); REFERENCE.md, Bandits ("TS").
    """
    out = _check_outcomes(outcomes)
    num, _, k = out.shape
    rng = _stream(require_int("seed", seed, minimum=0), THOMPSON_STREAM)

    def choose(t: int, s: BetaCounts) -> np.ndarray:
        g_a, g_b = _gamma_pair(rng, s.successes, s.failures, (num, k))
        return np.argmax(g_a / (g_a + g_b), axis=1)

    return _play(out, choose)


def optimistic_thompson(outcomes: np.ndarray, seed: int, num_samples: int) -> np.ndarray:
    """The RL² authors' "optimistic" TS: the most probable of N joint posterior draws, greedily.

    Each step draws S = `num_samples` joint samples θ^(s) ~ Π_j Beta(a_j, b_j), keeps
        s* = argmax_s log p(θ^(s)) = argmax_s Σ_j (a_j−1) ln θ_j^(s) + (b_j−1) ln(1−θ_j^(s))
    (the normalising constant Σ_j ln B(a_j, b_j) is the same for every s and is left out), and
    pulls argmax_j θ_j^(s*). Ties go to the first sample and the lowest arm. S = 1 is TS (but from
    its own stream). This is not May et al.'s optimistic TS (which takes max(θ, mean) per arm).
    The draws are sums of Exp(1) variables shared by every S of a grid, as documented in
    `adaptax.baselines.ots` (`optimistic_thompson_grid` runs a whole grid in one pass).

    Args:
      outcomes: bool [N, n, k] from `bandit_outcomes`.
      seed: integer >= 0.
      num_samples: S >= 1 (the paper's grid: 1..20).

    Returns:
      int64 [N] total rewards.

    Example:
      >>> r = bandit_outcomes(np.array([[0.1, 0.9]] * 100), n=50, seed=0)
      >>> bool(optimistic_thompson(r, seed=0, num_samples=5).mean() > 40)
      True

    Reference: REFERENCE.md, Bandits ("OTS (the authors' variant)").
    """
    require_int("num_samples", num_samples, minimum=1)
    return optimistic_thompson_grid(outcomes, seed, [num_samples])[0]


def gittins(
    outcomes: np.ndarray,
    variant: str = "approx",
    *,
    gamma: float | None = None,
    lookup: str = "correct",
    max_pulls: int = PAPER_TABLE_MAX_PULLS,
    grid_size: int | None = None,
) -> np.ndarray:
    """Pulls the arm with the highest Gittins index (ties: lowest arm).

    Variants:
      "approx":  closed-form approximate index (`gittins.approx_gittins_index`), γ default 1;
      "table":   calibration table ν_γ (`gittins.gittins_table`, truncation M = `max_pulls`,
                 G = `grid_size` retirement rates, default 5000), γ required. `lookup="correct"`
                 reads ν_γ(a, b); `lookup="paper"` reads ν_γ(a+1, b+1), the authors' off-by-one;
      "horizon": finite-horizon index ν_h(a, b) with h = n − t pulls left
                 (`gittins.cached_finite_horizon_table`, G = `grid_size`, default 33).
    Tables are cached on disk (`adaptax.storage.cache`).

    Args:
      outcomes: bool [N, n, k] from `bandit_outcomes`.
      variant: "approx", "table" or "horizon".
      gamma: discount for "approx" (in (0, 1], default 1) and "table" (in (0, 1)).
      lookup: "correct" or "paper", for "table" only.
      max_pulls: truncation M of the table, at least n + 1 (n + 3 with the paper lookup).
      grid_size: retirement-rate grid of "table" or "horizon".

    Returns:
      int64 [N] total rewards.

    Example:
      >>> r = bandit_outcomes(np.array([[0.2, 0.8]] * 100), n=30, seed=0)
      >>> bool(gittins(r, "approx").mean() > 20)
      True

    Reference: Gittins, Glazebrook & Weber (2011); REFERENCE.md, Bandits ("Gittins").
    """
    out = _check_outcomes(outcomes)
    n = out.shape[1]
    if variant == "approx":
        g = _gittins._check_gamma(1.0 if gamma is None else gamma, allow_one=True)

        def choose(t: int, s: BetaCounts) -> np.ndarray:
            return np.argmax(_gittins.approx_gittins_index(s.successes, s.failures, g), axis=1)

    elif variant == "table":
        if gamma is None:
            raise ValueError("gittins variant='table' needs a discount gamma in (0, 1)")
        if lookup not in ("correct", "paper"):
            raise ValueError(f"lookup must be 'correct' or 'paper', got {lookup!r}")
        shift = 1 if lookup == "paper" else 0
        # Indices are read before each pull, so a + b <= n + 1 (+ 2 with the shifted lookup).
        needed = n + 1 + 2 * shift
        if max_pulls < needed:
            raise ValueError(
                f"n = {n} pulls need a Gittins table with max_pulls >= {needed}, got {max_pulls}"
            )
        grid = PAPER_TABLE_GRID_SIZE if grid_size is None else grid_size
        nu = _gittins.gittins_table(gamma, max_pulls, grid)

        def choose(t: int, s: BetaCounts) -> np.ndarray:
            index = nu[s.successes + shift, s.failures + shift]
            if np.isnan(index).any():  # cannot happen after the max_pulls check above
                raise RuntimeError("gittins: read outside the calibration table")
            return np.argmax(index, axis=1)

    elif variant == "horizon":
        table = _gittins.cached_finite_horizon_table(n, 33 if grid_size is None else grid_size)

        def choose(t: int, s: BetaCounts) -> np.ndarray:
            return np.argmax(
                _gittins.finite_horizon_index(table, n - t, s.successes, s.failures), axis=1
            )

    else:
        raise ValueError(f"gittins variant must be 'approx', 'table' or 'horizon', got {variant!r}")
    return _play(out, choose)


# ----------------------------------------------------------------------------- dispatch


def bandit_grid(name: str, mode: str = "paper") -> list[dict[str, Any]]:
    """The hyper-parameter settings the authors tried for agent `name`, as keyword dicts.

    Args:
      name: one of `BANDIT_AGENTS`.
      mode: "paper" or "clean" (clean Gittins is the finite-horizon index, nothing to tune).

    Returns:
      A list of dicts to pass as `**hparams` to `run_bandit_agent` ([{}] when there is no grid).

    Example:
      >>> [g["eps"] for g in bandit_grid("epsilon_greedy")][:3]
      [0.0, 0.1, 0.2]

    Reference: REFERENCE.md, Bandits (grids).
    """
    require_choice("mode", mode, ("paper", "clean"))
    if name not in BANDIT_GRIDS:
        raise ValueError(f"unknown bandit agent {name!r}; choose from {', '.join(BANDIT_AGENTS)}")
    grid = _CLEAN_GITTINS_GRID if (name == "gittins" and mode == "clean") else BANDIT_GRIDS[name]
    if not grid:
        return [{}]
    (key, values), = grid.items()
    return [{key: v} for v in values]


_ALLOWED_HPARAMS: Mapping[str, Sequence[str]] = {
    "random": (),
    "greedy": (),
    "epsilon_greedy": ("eps",),
    "ucb1": ("c",),
    "thompson": (),
    "optimistic_thompson": ("num_samples",),
    "gittins": ("variant", "gamma", "lookup", "max_pulls", "grid_size"),
}


_REQUIRED_HPARAM: Mapping[str, str] = {
    "epsilon_greedy": "eps",
    "ucb1": "c",
    "optimistic_thompson": "num_samples",
}


def run_bandit_agent(
    name: str,
    probs: Any,
    n: int,
    seed: int,
    mode: str = "paper",
    *,
    outcomes: np.ndarray | None = None,
    **hparams: Any,
) -> np.ndarray:
    """Runs one agent at one hyper-parameter setting on N bandit instances; totals per instance.

    The rewards are `bandit_outcomes(probs, n, seed)` (pass `outcomes` to reuse them across calls);
    the agent's own randomness comes from its stream of `seed`.

    Gittins in `paper` mode reproduces the authors' agents: `variant="approx"` is the closed-form
    index with γ = 1; `variant="table"` is the calibration table (M = 1000, G = 5000) computed with
    γ = 0.9999 whatever `gamma` was asked (in their code a global variable overrode the γ argument)
    and read at (a+1, b+1) (their table's row r held a = r + 1). The paper's cell is the better of
    the two (`bandit_grid("gittins")`). In `clean` mode the default is `variant="horizon"`, the
    finite-horizon index with the remaining horizon; "table" there uses the γ asked and the correct
    lookup. The other agents are the same in both modes.

    Args:
      name: one of `BANDIT_AGENTS`.
      probs: [N, k] success probabilities.
      n: pulls per trial.
      seed: integer >= 0 shared by all agents (common random numbers).
      mode: "paper" or "clean".
      outcomes: optional precomputed `bandit_outcomes(probs, n, seed)`.
      **hparams: eps (ε-greedy), c (UCB1), num_samples (OTS), variant/gamma/... (Gittins).

    Returns:
      int64 [N] total rewards.

    Example:
      >>> probs = np.random.default_rng(0).uniform(size=(100, 5))
      >>> run_bandit_agent("ucb1", probs, n=10, seed=0, c=0.1).shape
      (100,)

    Reference: REFERENCE.md, "How the paper ran its baselines" (Bandits).
    """
    outcomes, seed = _prepare(name, probs, n, seed, mode, outcomes, hparams)
    if name == "random":
        return random(outcomes, seed)
    if name == "greedy":
        return greedy(outcomes)
    if name == "epsilon_greedy":
        return epsilon_greedy(outcomes, seed, hparams["eps"])
    if name == "ucb1":
        return ucb1(outcomes, hparams["c"])
    if name == "thompson":
        return thompson(outcomes, seed)
    if name == "optimistic_thompson":
        return optimistic_thompson(outcomes, seed, hparams["num_samples"])
    return _run_gittins(outcomes, mode, **hparams)


def run_bandit_grid(
    name: str,
    probs: Any,
    n: int,
    seed: int,
    mode: str = "paper",
    grid: Sequence[Mapping[str, Any]] | None = None,
    *,
    outcomes: np.ndarray | None = None,
    workers: int = 1,
) -> list[np.ndarray]:
    """`run_bandit_agent` at every grid point (default `bandit_grid(name, mode)`), in grid order.

    OTS's grid points that differ only in `num_samples` run in one pass sharing their draws
    (`optimistic_thompson_grid`, the same totals as one call per point); other agents' grid
    points run on `workers` threads.

    Example:
      >>> probs = np.random.default_rng(0).uniform(size=(50, 3))
      >>> [t.shape for t in run_bandit_grid("ucb1", probs, 10, 0, grid=[{"c": 0.1}, {"c": 0.2}])]
      [(50,), (50,)]
    """
    grid = list(bandit_grid(name, mode) if grid is None else grid)
    if not grid:
        raise ValueError(f"the grid of {name} is empty; give at least one setting")
    for hparams in grid:
        outcomes, seed = _prepare(name, probs, n, seed, mode, outcomes, hparams)
    if name == "optimistic_thompson":
        samples = [h["num_samples"] for h in grid]
        return list(optimistic_thompson_grid(outcomes, seed, samples, workers=workers))

    def run(hparams: Mapping[str, Any]) -> np.ndarray:
        return run_bandit_agent(name, probs, n, seed, mode, outcomes=outcomes, **hparams)

    return map_grid(run, grid, workers)


def _prepare(name: str, probs: Any, n: int, seed: int, mode: str,
             outcomes: np.ndarray | None, hparams: Mapping[str, Any]) -> tuple[np.ndarray, int]:
    """Checks one agent's arguments; returns the outcomes (computed when None) and the seed."""
    require_choice("mode", mode, ("paper", "clean"))
    if name not in _ALLOWED_HPARAMS:
        raise ValueError(f"unknown bandit agent {name!r}; choose from {', '.join(BANDIT_AGENTS)}")
    unknown = sorted(set(hparams) - set(_ALLOWED_HPARAMS[name]))
    if unknown:
        allowed = ", ".join(_ALLOWED_HPARAMS[name]) or "none"
        raise ValueError(f"{name} takes no hyper-parameter {unknown[0]!r} (allowed: {allowed})")
    p = _check_probs(probs)
    n = require_int("n (pulls per trial)", n, minimum=1)
    seed = require_int("seed", seed, minimum=0)
    if outcomes is None:
        outcomes = bandit_outcomes(p, n, seed)
    elif np.shape(outcomes) != (p.shape[0], n, p.shape[1]):
        raise ValueError(f"outcomes must have shape {(p.shape[0], n, p.shape[1])}, "
                         f"got {np.shape(outcomes)}")
    required = _REQUIRED_HPARAM.get(name)
    if required is not None and required not in hparams:
        raise ValueError(f"{name} needs {required}= (the authors' grid: bandit_grid({name!r}))")
    return outcomes, seed


def _run_gittins(outcomes: np.ndarray, mode: str, **hp: Any) -> np.ndarray:
    if mode == "clean":
        return gittins(outcomes, hp.pop("variant", "horizon"), **hp)
    variant = hp.pop("variant", None)
    if variant == "approx":
        if hp:
            raise ValueError("paper-mode gittins variant='approx' takes no other settings (γ = 1)")
        return gittins(outcomes, "approx", gamma=1.0)
    if variant == "table":
        gamma = hp.pop("gamma", PAPER_TABLE_GAMMA)
        _gittins._check_gamma(gamma)  # any γ is accepted, and then ignored (the authors' quirk)
        if hp:
            raise ValueError(f"paper-mode gittins variant='table' fixes M, G and the lookup; "
                             f"got {sorted(hp)}")
        return gittins(outcomes, "table", gamma=PAPER_TABLE_GAMMA, lookup="paper",
                       max_pulls=PAPER_TABLE_MAX_PULLS, grid_size=PAPER_TABLE_GRID_SIZE)
    raise ValueError("paper-mode gittins needs variant='approx' or 'table' "
                     "(the paper reports the better of the two; see bandit_grid('gittins'))")
