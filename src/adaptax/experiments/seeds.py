"""Seeds as a batch axis: N independent runs trained in one compiled program, then summarised.

A learner's ``run(state, n)`` works on one state; :func:`batched` vmaps it over a leading seed
axis of a stacked state (:func:`stack`), so N seeds train in one dispatch (and split across the
devices of a mesh with the rest of the batch). Each seed is then evaluated as a single-seed run
would be, and :func:`combine` turns the seeds' results into one: every summary ``{"mean",
"ci95", ...}`` becomes the mean of the seeds' means with a 95% t-interval across seeds, and the
seeds' own results are kept beside it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from scipy import stats

SEEDS_HELP = ("independent seeds (seed, seed + 1, …) trained together in one compiled run; the "
              "report shows each and their mean ± 95% interval across seeds")


def stack(trees: Sequence[Any]) -> Any:
    """Pytrees of the same structure stacked along a new leading (seed) axis."""
    return jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *trees)


def unstack(tree: Any, count: int) -> list[Any]:
    """The ``count`` pytrees along ``tree``'s leading (seed) axis."""
    return [jax.tree.map(lambda x, i=i: x[i], tree) for i in range(count)]


def batched(run: Callable[[Any, int], tuple[Any, Any]]) -> Callable[[Any, int], tuple[Any, Any]]:
    """``run(state, n)`` over a stacked state: every seed's ``n`` iterations in one program.

    The metrics gain the seed axis first: ``[seeds, n]``.
    """

    @functools.partial(jax.jit, static_argnums=1)
    def run_all(states: Any, n: int) -> tuple[Any, Any]:
        return jax.vmap(lambda state: run(state, n))(states)

    return run_all


def seeded(run: Callable[[Any, int], tuple[Any, Any]],
           states: Sequence[Any]) -> tuple[Callable[[Any, int], tuple[Any, Any]], Any]:
    """The run function and starting state for these seeds' initial states: one seed trains as
    a plain run, several as one program over the stacked states (`batched`, `stack`)."""
    if len(states) == 1:
        return run, states[0]
    return batched(run), stack(states)


def split(tree: Any, count: int) -> list[Any]:
    """Each seed's part of what `seeded` trained: ``[tree]`` for one seed, else `unstack`."""
    return [tree] if count == 1 else unstack(tree, count)


def interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean and 95% interval half-width across seeds (Student's t, N − 1 degrees of freedom).

    Example:
      >>> mean, half = interval([1.0, 2.0, 3.0])
      >>> round(mean, 3), round(half, 3)
      (2.0, 2.484)
    """
    x = np.asarray(values, np.float64)
    if x.size < 2:
        return float(x.mean()), float("nan")
    half = stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return float(x.mean()), float(half)


def combine(per_seed: Sequence[dict[str, Any]], seeds: Sequence[int]) -> dict[str, Any]:
    """One result from the seeds' results: summaries averaged, the seeds' results kept.

    Every dict with ``"mean"`` and ``"ci95"`` or ``"se"`` (a number or a list, one per step)
    becomes the seeds' mean with a 95% t-interval across seeds (``"ci95"``; ``"se"``: the
    standard error across seeds), ``"seed_means"`` (each seed's mean) and ``"interval":
    "across seeds"``; its other numbers (and lists of them, e.g. per-task values) are the
    seeds' mean, except ``"diverged"`` counts, which are summed. Every other entry is the first
    seed's. The result gains ``"seeds"`` (the seed values) and ``"per_seed"`` (each seed's own
    result).
    """
    if len(per_seed) == 1:  # one seed's result, as it is
        return per_seed[0]
    out = _combine(list(per_seed))
    out["seeds"] = list(seeds)
    out["per_seed"] = list(per_seed)
    return out


def _combine(items: list[Any]) -> Any:
    first = items[0]
    if not isinstance(first, dict):
        return first
    if "mean" in first and ("ci95" in first or "se" in first):
        means = np.asarray([item["mean"] for item in items], np.float64)  # [seeds, …]
        columns = means.reshape(len(items), -1).T
        pairs = [interval(column) for column in columns]
        scalar = np.ndim(first["mean"]) == 0

        def shaped(values: list[float]) -> Any:
            return values[0] if scalar else values

        other = {key: _pool([item[key] for item in items], key == "diverged")
                 for key, value in first.items() if _numeric(value)}
        out = {**first, **other, "mean": shaped([p[0] for p in pairs]),
               "ci95": shaped([p[1] for p in pairs]),
               "seed_means": means.tolist(), "interval": "across seeds"}
        if "se" in first:  # the standard error across seeds
            out["se"] = shaped([float(np.std(c, ddof=1) / np.sqrt(c.size)) for c in columns])
        return out
    return {key: _combine([item[key] for item in items]) if all(
        isinstance(item, dict) and key in item for item in items) else value
        for key, value in first.items()}


def _numeric(value: Any) -> bool:
    """A number, or a (nested) list of numbers."""
    if isinstance(value, list):
        return bool(value) and all(_numeric(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _pool(values: list[Any], total: bool) -> Any:
    """The seeds' sum (``total``) or mean of a number or of a list of numbers."""
    x = np.asarray(values, np.float64)
    pooled = x.sum(0) if total else x.mean(0)
    if total:
        pooled = pooled.astype(np.int64)
    return pooled.tolist()
