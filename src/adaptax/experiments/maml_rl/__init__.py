"""MAML-RL: 2D navigation (Figure 4 left, App. C Table 4) and MuJoCo locomotion (Figure 5) of
Finn et al. (2017).

MAML (REINFORCE inner step, TRPO outer step) against a pretrained policy, a random initialisation
and an oracle: the return before and after 1, 2, 3 policy-gradient steps on new tasks, ours beside
the paper's. Reproduce them with

    adaptax run maml-rl-nav2d --preset paper          # smoke|default|paper|paper-code|lvc-3step
    adaptax run maml-rl-cheetah-vel --preset paper    # also cheetah-dir, ant-vel, ant-dir:
                                                      # smoke|default|paper

The package reads top to bottom: ``config`` (settings, presets, published numbers), ``driver``
(training, evaluation, ``results.json``), ``report`` (``report.md``) and ``figures``.

Example:
  >>> EXPERIMENT.make_config("paper").iterations
  500
"""

from __future__ import annotations

from adaptax.experiments.experiment import Experiment
from adaptax.experiments.maml_rl.config import (
    EVAL_KEYS,
    LOCOMOTION,
    METHODS,
    NAME,
    PAPER,
    PAPERS,
    PRESETS,
    LocomotionConfig,
    Nav2DConfig,
    experiment_name,
    locomotion_presets,
)
from adaptax.experiments.maml_rl.driver import (
    choose_finetune_lr,
    devices_of,
    evaluate,
    run,
)
from adaptax.experiments.maml_rl.report import report, results_table

__all__ = [
    "EVAL_KEYS",
    "EXPERIMENT",
    "EXPERIMENTS",
    "LocomotionConfig",
    "METHODS",
    "NAME",
    "PAPER",
    "PAPERS",
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
_DESCRIPTIONS = {"cheetah-vel": "half-cheetah goal velocity", "cheetah-dir":
                 "half-cheetah forward/backward", "ant-vel": "ant goal velocity",
                 "ant-dir": "ant forward/backward"}
EXPERIMENTS = {EXPERIMENT.name: EXPERIMENT} | {
    experiment_name(task): Experiment(
        name=experiment_name(task),
        description=f"MAML-RL {_DESCRIPTIONS[task]} on MuJoCo vs pretrained, random init, "
                    "oracle (Fig. 5)",
        config_cls=LocomotionConfig,
        presets=locomotion_presets(task),
        run=run,
        report=report,
        eval_keys=EVAL_KEYS,
    ) for task in LOCOMOTION}
