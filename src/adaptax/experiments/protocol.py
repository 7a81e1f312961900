"""The evaluation protocol: three disjoint splits and same-instance comparisons.

Every experiment draws its tasks (instances, goals) from three disjoint sources:

- **train**: the run's own key stream, ``jax.random.fold_in(PRNGKey(seed), …)`` and keys split
  from it; never an instance seed.
- **validation**: instance seeds ``VALIDATION_START + i`` (below ``TEST_START``). Every choice —
  fine-tuning step sizes, preset variants, budgets, hyper-parameter grids — is made here.
- **test**: instance seeds ``TEST_START + i``. What is reported; nothing is chosen on it.

Instance i of a split is ``envs.instances(env, num, start_seed=split_start(split))[i]``, the same
tasks for every method and every run seed, so methods are compared on identical instances. A
comparison "A above B" is made with a one-sided Welch t-test on those instances
(:func:`compare`).

Example:
  >>> from adaptax.envs import BernoulliBandit
  >>> tasks = split_instances(BernoulliBandit(num_arms=5), "test", 1000)
  >>> describe_split("test", 1000)
  'test split, instance seeds 1000000…1000999'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
import scipy.stats

from adaptax.envs.registry import instances

VALIDATION_START = 0
TEST_START = 1_000_000
SPLITS = {"validation": VALIDATION_START, "test": TEST_START}


def split_start(split: str, offset: int = 0) -> int:
    """The first instance seed of ``split`` (``"validation"`` or ``"test"``), plus ``offset``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
    if not 0 <= offset < TEST_START - VALIDATION_START:
        raise ValueError(f"offset must be in [0, {TEST_START - VALIDATION_START}), got {offset}")
    return SPLITS[split] + offset


def split_instances(env: Any, split: str, num: int, offset: int = 0) -> Any:
    """``num`` tasks of ``split``: instance i from seed ``split_start(split, offset) + i``."""
    return instances(env, num, start_seed=split_start(split, offset))


def split_key(split: str, index: int) -> jax.Array:
    """One key of ``split`` (for task families drawn in one batch, e.g. the sinusoid's)."""
    return jax.random.PRNGKey(split_start(split, index))


def split_record(split: str, num: int, offset: int = 0) -> dict[str, Any]:
    """The split as ``results.json`` records it: name, first seed and number of instances."""
    return {"split": split, "first_seed": split_start(split, offset), "num": int(num)}


def describe_split(split: str, num: int, offset: int = 0) -> str:
    """One line naming a split's seed range, for reports."""
    first = split_start(split, offset)
    return f"{split} split, instance seeds {first}…{first + num - 1}"


def compare(ours: Any, others: Mapping[str, Any], alpha: float = 0.05) -> dict[str, Any]:
    """Same-instance comparisons of one method's scores with others', one-sided Welch t-tests.

        verdict = "above"  if p(mean ours > mean other) < alpha,
                  "below"  if p(mean ours < mean other) < alpha,
                  "level"  otherwise (the data do not separate them).

    Args:
      ours: scores per instance, shape [N].
      others: name → scores on the same N instances.
      alpha: the test's level (0.05, as the paper's bolding).

    Returns:
      name → ``{"mean", "diff", "p_above", "p_below", "verdict"}``, diff = ours − other.

    Example:
      >>> compare(np.array([1.0, 2, 3]), {"b": np.array([0.0, 1, 2])})["b"]["verdict"]
      'level'
    """
    x = np.asarray(ours, np.float64)
    out = {}
    for name, other in others.items():
        y = np.asarray(other, np.float64)
        if y.shape != x.shape:
            raise ValueError(f"{name}: scores must be on the same {x.shape[0]} instances, got "
                             f"shape {y.shape}")
        if np.std(x) == 0 and np.std(y) == 0:
            p_above = 0.0 if x.mean() > y.mean() else 1.0
            p_below = 0.0 if x.mean() < y.mean() else 1.0
        else:
            p_above = float(scipy.stats.ttest_ind(x, y, equal_var=False,
                                                  alternative="greater").pvalue)
            p_below = float(scipy.stats.ttest_ind(x, y, equal_var=False,
                                                  alternative="less").pvalue)
        verdict = "above" if p_above < alpha else "below" if p_below < alpha else "level"
        out[name] = {"mean": float(y.mean()), "diff": float(x.mean() - y.mean()),
                     "p_above": p_above, "p_below": p_below, "verdict": verdict}
    return out
