"""MAML-RL on 2D navigation: Figure 4 (left) and App. C Table 4 of Finn et al. (2017).

MAML (REINFORCE inner step, TRPO outer step) against a pretrained policy, a random initialisation
and an oracle: the return before and after 1, 2, 3 policy-gradient steps on new goals, ours beside
the paper's. Reproduce it with

    adaptax run maml-rl-nav2d --preset paper

(``--preset smoke|default|paper|paper-code|lvc-3step``; ``adaptax list -v maml-rl-nav2d``).

The package reads top to bottom: ``config`` (settings, presets, published numbers), ``driver``
(training, evaluation, ``results.json``), ``report`` (``report.md``) and ``figures``.

Example:
  >>> EXPERIMENT.make_config("paper").iterations
  500
"""

from __future__ import annotations

from adaptax.experiments.experiment import Experiment
from adaptax.experiments.maml_rl_nav2d.config import (
    EVAL_KEYS,
    METHODS,
    NAME,
    PAPER,
    PRESETS,
    Nav2DConfig,
)
from adaptax.experiments.maml_rl_nav2d.driver import (
    choose_finetune_lr,
    devices_of,
    evaluate,
    run,
)
from adaptax.experiments.maml_rl_nav2d.report import report, results_table

__all__ = [
    "EVAL_KEYS",
    "EXPERIMENT",
    "EXPERIMENTS",
    "METHODS",
    "NAME",
    "PAPER",
    "PRESETS",
    "Nav2DConfig",
    "choose_finetune_lr",
    "devices_of",
    "evaluate",
    "report",
    "results_table",
    "run",
]

EXPERIMENT = Experiment(
    name=NAME,
    description="MAML-RL 2D navigation vs pretrained, random init, oracle (Fig. 4, Table 4)",
    config_cls=Nav2DConfig,
    presets=PRESETS,
    run=run,
    report=report,
    eval_keys=EVAL_KEYS,
)
EXPERIMENTS = {EXPERIMENT.name: EXPERIMENT}
