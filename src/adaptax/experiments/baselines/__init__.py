"""The classical agents of RL²'s Table 1 (bandits) and Table 2 (tabular MDPs), cell by cell.

Every agent runs on the same 1000 instances of the test split (`protocol.split_instances`, shared
with RL²'s evaluation) and the same pre-drawn outcomes (common random numbers); a cell is bold when
not significantly worse than the best (one-sided Welch t-test, p = 0.05). ``mode=paper`` is the
authors' protocol: their agents with their quirks, each hyper-parameter chosen per setting by the
best mean over their grid on the reported instances themselves. ``mode=clean`` fixes the quirks
and chooses each hyper-parameter on instances of the validation split, then scores it on the test
instances (REFERENCE.md, "How the paper ran its baselines"). `adaptax.baselines.tuning` is the one
place that tunes and scores an agent; RL²'s reports use it too.

The package reads top to bottom: ``config`` (settings, presets, the paper's tables), ``driver``
(every cell, ``results.json``), ``report`` (``report.md``) and ``figures``.

Example:
  >>> EXPERIMENTS["baselines-mdps"].make_config("smoke").n
  (10,)
"""

from __future__ import annotations

from collections.abc import Callable

from adaptax.experiments.baselines import report
from adaptax.experiments.baselines.config import (
    BANDIT_PAPER,
    BANDIT_PRESETS,
    MDP_PAPER,
    MDP_PRESETS,
    BanditBaselinesConfig,
    MDPBaselinesConfig,
)
from adaptax.experiments.baselines.driver import (
    SCHEMA,
    _table_row,
    find_rl2,
    run_bandits,
    run_mdps,
)
from adaptax.experiments.baselines.figures import baseline_bars
from adaptax.experiments.baselines.report import format_table
from adaptax.experiments.experiment import Experiment

__all__ = [
    "BANDITS",
    "BANDIT_PAPER",
    "BANDIT_PRESETS",
    "EXPERIMENTS",
    "MDPS",
    "MDP_PAPER",
    "MDP_PRESETS",
    "SCHEMA",
    "BanditBaselinesConfig",
    "MDPBaselinesConfig",
    "_table_row",
    "baseline_bars",
    "find_rl2",
    "format_table",
    "run_bandits",
    "run_mdps",
]


def _experiment(name: str, description: str, config_cls: type, presets: dict,
                run: Callable) -> Experiment:
    return Experiment(name=name, description=description, config_cls=config_cls,
                      presets=presets, run=run, report=report.report)


BANDITS = _experiment("baselines-bandits",
                      "RL² Table 1: Gittins, TS, OTS, UCB1, ε-greedy, greedy, random on bandits",
                      BanditBaselinesConfig, BANDIT_PRESETS, run_bandits)
MDPS = _experiment("baselines-mdps",
                   "RL² Table 2: PSRL, OPSRL, UCRL2, BEB, ε-greedy, greedy, random on MDPs",
                   MDPBaselinesConfig, MDP_PRESETS, run_mdps)
EXPERIMENTS = {BANDITS.name: BANDITS, MDPS.name: MDPS}
