"""Table statistics as the RL² authors computed them: means, standard errors, tuning and bolding.

Protocol (REFERENCE.md, "How the paper ran its baselines"): every method runs on the same instances;
a hyper-parameter is chosen per setting by the best mean on those same instances; a cell is bold
when it is not significantly worse than the best under a one-sided Welch t-test at p = 0.05.

Reference: Duan et al., "RL²", arXiv:1611.02779, Table 1; B. L. Welch, "The generalization of
Student's problem when several different population variances are involved", Biometrika 34 (1947).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import scipy.stats

__all__ = [
    "TuneResult", "choose", "map_grid", "mean_se", "not_worse_than_best", "tune", "welch_one_sided",
]


def _sample(x: Any, name: str = "x") -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"{name} must be a 1-D array of at least 2 values, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or Inf)")
    return arr


def mean_se(x: Any) -> tuple[float, float]:
    """Sample mean and its standard error.

    mean = Σx/N,  se = s/√N with s² = Σ(x − mean)²/(N − 1)  (equal to the authors'
    np.std(x)/√(N − 1)).

    Args:
      x: 1-D array of N >= 2 finite values.

    Returns:
      `(mean, se)` as floats.

    Example:
      >>> mean_se([1.0, 2.0, 3.0, 4.0])   # s² = 5/3, se = sqrt(5/3)/2
      (2.5, 0.6454972243679028)

    Reference: the authors' evaluation scripts (REFERENCE.md).
    """
    arr = _sample(x)
    return float(arr.mean()), float(arr.std(ddof=1) / np.sqrt(arr.size))


def welch_one_sided(x: Any, y: Any) -> float:
    """p-value of Welch's t-test against mean(x) >= mean(y), i.e. evidence that mean(x) < mean(y).

    t = (x̄ − ȳ)/sqrt(s_x²/N_x + s_y²/N_y), Welch–Satterthwaite degrees of freedom, p = P(T <= t).
    When both samples are constant the test is degenerate: p = 0 if x̄ < ȳ, else 1.

    Args:
      x, y: 1-D arrays of at least 2 finite values each.

    Returns:
      The one-sided p-value in [0, 1]; small means x is significantly worse (lower) than y.

    Example:
      >>> p = welch_one_sided([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])   # t = −3/sqrt(2/3) ≈ −3.67, df = 4
      >>> round(p, 5)
      0.01066

    Reference: Welch (1947); scipy.stats.ttest_ind(equal_var=False, alternative="less").
    """
    xs, ys = _sample(x, "x"), _sample(y, "y")
    if xs.var() == 0.0 and ys.var() == 0.0:
        return 0.0 if xs.mean() < ys.mean() else 1.0
    result = scipy.stats.ttest_ind(xs, ys, equal_var=False, alternative="less")
    return float(result.pvalue)


def not_worse_than_best(columns: Mapping[str, Any], alpha: float = 0.05) -> dict[str, bool]:
    """The paper's bolding rule: which methods are not significantly worse than the best.

    best = argmax of the means (first on ties); method m is bold when m is best or
    `welch_one_sided(m, best) >= alpha`.

    Args:
      columns: method name -> 1-D array of its per-instance scores (same instances).
      alpha: significance level in (0, 1).

    Returns:
      method name -> bold?

    Example:
      >>> rng = np.random.default_rng(0)
      >>> cols = {"a": rng.normal(1.0, 1, 500), "b": rng.normal(0.0, 1, 500)}
      >>> not_worse_than_best(cols)
      {'a': True, 'b': False}

    Reference: RL² Table 1 caption; REFERENCE.md ("bold = not significantly worse than the best").
    """
    if not columns:
        raise ValueError("not_worse_than_best needs at least one column")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    samples = {name: _sample(col, name) for name, col in columns.items()}
    best = max(samples, key=lambda name: samples[name].mean())
    return {
        name: name == best or welch_one_sided(col, samples[best]) >= alpha
        for name, col in samples.items()
    }


class TuneResult(NamedTuple):
    """Result of `tune` (unpacks as `best_totals, best_hparam, per_grid_means`).

    Attributes:
      best_totals: the per-instance scores at the best grid point (its mean is the table cell).
      best_hparam: the grid point with the highest mean (the first of equal means).
      per_grid_means: the mean score at each grid point, in grid order.
    """

    best_totals: np.ndarray
    best_hparam: Any
    per_grid_means: list[float]

    @property
    def best_mean(self) -> float:
        return float(np.mean(self.best_totals))


def tune(run_fn: Callable[[Any], Any], grid: Sequence[Any], workers: int = 1) -> TuneResult:
    """Picks the hyper-parameter with the best mean on the evaluation instances (as the authors).

    Runs `run_fn(h)` for every h in `grid` and keeps the first (in grid order) with the highest
    mean. With `workers` > 1 the grid points run on as many threads (NumPy's random draws and
    ufuncs release the GIL); `run_fn` must then be deterministic per h, as every agent here is
    (its own seeded stream), so the result does not depend on `workers`.
    The choice is made on the same instances the score is reported on, so the tuned score is
    optimistically biased, exactly as in the paper's table.

    Args:
      run_fn: hyper-parameter -> 1-D array of per-instance scores.
      grid: non-empty sequence of hyper-parameters (any values, e.g. dicts of keyword arguments).
      workers: threads, an integer >= 1.

    Returns:
      A `TuneResult(best_totals, best_hparam, per_grid_means)`.

    Example:
      >>> res = tune(lambda c: np.array([1.0, 2.0]) * (1 - (c - 0.2) ** 2), [0.0, 0.2, 0.4])
      >>> res.best_hparam, res.per_grid_means
      (0.2, [1.44, 1.5, 1.44])

    Reference: REFERENCE.md ("hyper-parameters chosen per setting by the best mean").
    """
    grid = list(grid)
    if not grid:
        raise ValueError("tune needs a non-empty grid of hyper-parameters")
    return choose(grid, map_grid(run_fn, grid, workers))


def map_grid(fn: Callable[[Any], Any], grid: Sequence[Any], workers: int = 1) -> list[Any]:
    """[fn(h) for h in grid], on `workers` threads when > 1 (NumPy and XLA release the GIL).

    Example:
      >>> map_grid(lambda h: h * 2, [1, 2, 3], workers=2)
      [2, 4, 6]
    """
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    grid = list(grid)
    if workers > 1 and len(grid) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(workers, len(grid))) as pool:
            return list(pool.map(fn, grid))
    return [fn(h) for h in grid]


def choose(grid: Sequence[Any], outputs: Iterable[Any]) -> TuneResult:
    """`tune`'s choice from scores already computed: outputs[i] are grid[i]'s per-instance scores.

    Example:
      >>> choose(["a", "b"], [np.array([1.0, 2.0]), np.array([3.0, 0.0])]).best_hparam
      'a'
    """
    grid = list(grid)
    if not grid:
        raise ValueError("choose needs a non-empty grid of hyper-parameters")
    best_totals, best_hparam, best_mean = None, None, -np.inf
    means = []
    for hparam, output in zip(grid, outputs, strict=True):
        totals = np.asarray(output)
        if totals.ndim != 1 or totals.size == 0:
            raise ValueError(f"run_fn must return a 1-D array of scores, got shape {totals.shape}")
        mean = float(totals.mean())
        means.append(mean)
        if best_totals is None or mean > best_mean:
            best_totals, best_hparam, best_mean = totals, hparam, mean
    return TuneResult(best_totals=best_totals, best_hparam=best_hparam, per_grid_means=means)
