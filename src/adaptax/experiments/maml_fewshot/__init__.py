"""MAML few-shot image classification: Table 1 of Finn et al. (2017) on Omniglot and
MiniImagenet, and Lake's 20-way one-shot benchmark on real data.

- ``adaptax run maml-omniglot`` trains on the shipped Omniglot subset for minutes and scores
  Lake's 20 runs; ``--preset long`` trains for about an hour; ``--preset paper-5w1s``
  (``-5w5s``, ``-20w1s``, ``-20w5s``) runs a cell of the paper's table on the full Omniglot
  (``--set data=FOLDER``).
- ``adaptax run maml-miniimagenet --set data=FOLDER`` (the Ravi & Larochelle CSVs and images);
  ``--preset paper-5w1s`` / ``paper-5w5s`` are the paper's cells.

Read in order: ``config.py`` (settings, presets, published numbers), ``data.py`` (the class
pools), ``driver.py`` (training and evaluation, ``results.json``), ``report.py`` and
``figures.py``.
"""

from adaptax.experiments.experiment import Experiment
from adaptax.experiments.maml_fewshot import driver, report
from adaptax.experiments.maml_fewshot.config import (
    EVAL_KEYS,
    MINIIMAGENET,
    MINIIMAGENET_PRESETS,
    OMNIGLOT,
    OMNIGLOT_PRESETS,
    MiniImagenetConfig,
    OmniglotConfig,
)

OMNIGLOT_EXPERIMENT = Experiment(
    name=OMNIGLOT,
    description="MAML few-shot Omniglot (Table 1) and Lake's 20-way one-shot runs",
    config_cls=OmniglotConfig,
    presets=OMNIGLOT_PRESETS,
    run=driver.run,
    report=report.report,
    eval_keys=EVAL_KEYS,
)
MINIIMAGENET_EXPERIMENT = Experiment(
    name=MINIIMAGENET,
    description="MAML few-shot MiniImagenet (Table 1), on your copy of the data",
    config_cls=MiniImagenetConfig,
    presets=MINIIMAGENET_PRESETS,
    run=driver.run,
    report=report.report,
    eval_keys=EVAL_KEYS,
)
EXPERIMENTS = {e.name: e for e in (OMNIGLOT_EXPERIMENT, MINIIMAGENET_EXPERIMENT)}

__all__ = ["EXPERIMENTS", "MINIIMAGENET_EXPERIMENT", "MiniImagenetConfig",
           "OMNIGLOT_EXPERIMENT", "OmniglotConfig"]
