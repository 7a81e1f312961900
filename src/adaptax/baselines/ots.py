"""The RL² authors' optimistic Thompson sampling (OTS), every grid point in one pass.

OTS with N samples draws, at every step, N joint posterior samples θ^(s) ~ Π_j Beta(a_j, b_j),
keeps the one of highest joint log-density and pulls its best arm (REFERENCE.md, Bandits). The
authors tuned N over 1..20 per setting, so the table needs all twenty runs. Drawing each run's
Gamma variables afresh costs 210 Gamma draws per arm per step (Σ N); that was 78% of the bandit
table's time. This module shares the draws between the runs instead (common random numbers in
the strongest sense):

  * Pseudo-counts are integers (Beta(1, 1) prior plus 0/1 rewards), and Gamma(a) for an integer a
    is a sum of a independent Exp(1). Beta(a, b) = G_a / (G_a + G_b).
  * At step t every trial holds Σ_j (a_j + b_j) = 2k + t pseudo-counts, whatever its history, so
    sample slot s of step t is one block of m = 2k + t Exp(1) variables per instance. The arms take
    their turns in the block: arm 0's a_0 variables give G_a of arm 0, its next b_0 give G_b, then
    arm 1, and so on. Each run (grid point) cuts its own segments out of the same block, through
    running sums: a segment's sum is the difference of two running sums.
  * The run with N samples uses slots 0..N−1. So slot s's block is drawn once and serves every
    run with N > s: 20 blocks per step instead of 210 sets of Gamma draws, and a run's result
    does not depend on which other runs share the pass.

Stream contract (what `tests/baselines/test_bandit_agents.py` re-implements): instances are cut
into chunks of `chunk` (the last one shorter); slot s of chunk c draws from
``SeedSequence([seed, OPTIMISTIC_THOMPSON_STREAM, s, c])``, at each step t one
``standard_exponential((chunk_len, 2k + t))`` array, row r for the chunk's r-th instance. The
samples' log-densities (Σ_j (a_j−1) ln G_a + (b_j−1) ln G_b − (a_j+b_j−2) ln(G_a+G_b), the Beta
normaliser left out) are summed and compared in float32 (differences of float64 running sums);
ties go to the first sample and then to the lowest arm.

Reference: Duan et al., "RL²", arXiv:1611.02779, Table 1; REFERENCE.md, "How the paper ran its
baselines" (Bandits, OTS).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from adaptax._checks import require_int
from adaptax.baselines.bandit_model import (
    OPTIMISTIC_THOMPSON_STREAM,
    _check_outcomes,
)
from adaptax.baselines.stats import map_grid

__all__ = ["optimistic_thompson_grid"]

DEFAULT_CHUNK = 250


def _slot_stream(seed: int, slot: int, chunk_index: int) -> np.random.Generator:
    sequence = np.random.SeedSequence([seed, OPTIMISTIC_THOMPSON_STREAM, slot, chunk_index])
    return np.random.Generator(np.random.PCG64(sequence))


def optimistic_thompson_grid(
    outcomes: np.ndarray,
    seed: int,
    num_samples: Sequence[int],
    *,
    workers: int = 1,
    chunk: int = DEFAULT_CHUNK,
) -> np.ndarray:
    """Totals of OTS with each N in `num_samples` on the same instances, in one pass.

    Args:
      outcomes: bool [num_instances, n, k] from `bandit_outcomes`.
      seed: integer >= 0.
      num_samples: non-empty sequence of integers N >= 1 (the authors' grid: 1..20).
      workers: threads over the chunks of instances (the result does not depend on it).
      chunk: instances per chunk; part of the stream contract (see the module docstring).

    Returns:
      int64 [len(num_samples), num_instances] total rewards.

    Example:
      >>> from adaptax.baselines.bandit_model import bandit_outcomes
      >>> r = bandit_outcomes(np.array([[0.1, 0.9]] * 100), n=50, seed=0)
      >>> totals = optimistic_thompson_grid(r, seed=0, num_samples=[1, 5])
      >>> totals.shape, bool(totals[1].mean() > 40)
      ((2, 100), True)
    """
    out = _check_outcomes(outcomes)
    seed = require_int("seed", seed, minimum=0)
    grid = list(num_samples)
    if not grid:
        raise ValueError("num_samples must be a non-empty sequence of integers >= 1")
    for value in grid:
        require_int("num_samples", value, minimum=1)
    require_int("workers", workers, minimum=1)
    require_int("chunk", chunk, minimum=1)
    samples = np.asarray(grid, np.int64)
    starts = range(0, out.shape[0], int(chunk))

    def run(start: int) -> np.ndarray:
        return _run_chunk(out[start : start + chunk], seed, start // chunk, samples)

    return np.concatenate(map_grid(run, starts, int(workers)), axis=1)


def _run_chunk(
    outcomes: np.ndarray, seed: int, chunk_index: int, samples: np.ndarray
) -> np.ndarray:
    """OTS on one chunk of instances for every grid point: totals [G, chunk_len]."""
    num, n, k = outcomes.shape
    grid = len(samples)
    order = np.argsort(-samples, kind="stable")  # most samples first: the runs drawing at slot s
    streams = [_slot_stream(seed, s, chunk_index) for s in range(int(samples.max()))]
    active = [slice(0, int((samples > s).sum())) for s in range(len(streams))]  # are a prefix
    samples = samples[order]
    counts = np.ones((grid, num, k, 2), np.int64)  # [..., 0] = a (successes + 1), [..., 1] = b
    total = np.zeros((grid, num), np.int64)
    instance = np.arange(num)[None, :]
    for t in range(n):
        m = 2 * k + t
        # running sums of each slot's block, 0 first: [slots, num, m + 1]
        running = np.zeros((len(streams), num, m + 1))
        for stream, row in zip(streams, running, strict=True):
            np.cumsum(stream.standard_exponential((num, m)), axis=1, out=row[:, 1:])
        # positions (in one slot's flattened running sums) bounding each segment:
        # 0, end of a_0, end of b_0, end of a_1, ...
        bounds = np.zeros((grid, num, 2 * k + 1), np.intp)
        np.cumsum(counts.reshape(grid, num, 2 * k), axis=-1, out=bounds[..., 1:])
        bounds += (np.arange(num, dtype=np.intp) * (m + 1))[:, None]
        weights = _DensityWeights.of(counts)
        best_density = np.empty((grid, num), np.float32)
        best_slot = np.zeros((grid, num), np.intp)
        for s, act in enumerate(active):
            density = weights.log_density(running[s].reshape(-1).take(bounds[act]), act)
            if s == 0:
                best_density[act] = density
            else:
                better = density > best_density[act]
                best_density[act] = np.where(better, density, best_density[act])
                best_slot[act] = np.where(better, s, best_slot[act])
        # the kept sample of each run, re-cut from its slot, and its best arm
        at = running.reshape(-1).take(bounds + (best_slot * (num * (m + 1)))[..., None])
        g_a, g_b = at[..., 1::2] - at[..., 0:-1:2], at[..., 2::2] - at[..., 1::2]
        with np.errstate(invalid="ignore"):  # 0/0 only if both sums are 0 (chance ~1e-32)
            best_arm = np.argmax(g_a / (g_a + g_b), axis=-1)
        reward = outcomes[instance, t, best_arm]  # [G, num]
        pulled = np.arange(k) == best_arm[..., None]  # [G, num, k]
        counts[..., 0] += pulled & reward[..., None]
        counts[..., 1] += pulled & ~reward[..., None]
        total += reward
    unsorted = np.empty_like(total)
    unsorted[order] = total
    return unsorted


class _DensityWeights(NamedTuple):
    """The exponents of one step's Beta log-densities, [G, num, k] each (float32)."""

    a_minus_1: np.ndarray
    b_minus_1: np.ndarray
    sum_minus_2: np.ndarray

    @classmethod
    def of(cls, counts: np.ndarray) -> _DensityWeights:
        a_minus_1 = (counts[..., 0] - 1).astype(np.float32)
        b_minus_1 = (counts[..., 1] - 1).astype(np.float32)
        return cls(a_minus_1, b_minus_1, a_minus_1 + b_minus_1)

    def log_density(self, at: np.ndarray, act: slice) -> np.ndarray:
        """Σ_j ln Beta(θ_j; a_j, b_j) + const for the segment sums cut at `at` [G_s, num, 2k+1].

        (a−1) ln G_a + (b−1) ln G_b − (a+b−2) ln(G_a+G_b), with G_a = at[2j+1] − at[2j] and
        G_b = at[2j+2] − at[2j+1]; the Beta normaliser is the same for every sample and left
        out. The differences of the float64 running sums are exact to float32 rounding; the logs
        and the sum run in float32 (2.4x faster than float64 here), so two samples whose
        densities agree to about 1e-6 relative may rank either way, a choice between equally
        likely samples. A sum of exactly 0 (chance ~1e-16 per draw) with exponent 0 counts as
        0·ln 0 = 0.
        """
        shape = (*at.shape[:-1], (at.shape[-1] - 1) // 2)
        g_a, g_b = np.empty(shape, np.float32), np.empty(shape, np.float32)
        np.subtract(at[..., 1::2], at[..., 0:-1:2], out=g_a, casting="same_kind")
        np.subtract(at[..., 2::2], at[..., 1::2], out=g_b, casting="same_kind")
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ab = np.add(g_a, g_b)
            np.log(log_ab, out=log_ab)
            log_ab *= self.sum_minus_2[act]
            log_a, log_b = np.log(g_a), np.log(g_b)
            log_a *= self.a_minus_1[act]
            log_b *= self.b_minus_1[act]
            log_a += log_b
            log_a -= log_ab
            density = log_a.sum(axis=-1)
        if np.isnan(density).any():  # recompute with 0·ln 0 = 0 term by term
            with np.errstate(divide="ignore", invalid="ignore"):
                terms = [np.where(w[act] > 0, w[act] * np.log(g), np.float32(0.0)) for w, g in
                         ((self.a_minus_1, g_a), (self.b_minus_1, g_b),
                          (self.sum_minus_2, g_a + g_b))]
            density = (terms[0] + terms[1] - terms[2]).sum(axis=-1)
        return density
