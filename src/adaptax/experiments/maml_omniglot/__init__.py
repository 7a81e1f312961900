"""MAML on Omniglot: few-shot classification (Table 1 of Finn et al. 2017) and Lake's 20-way
one-shot benchmark on real data.

``adaptax run maml-omniglot`` trains on the shipped subset for minutes and scores Lake's 20
runs; ``--preset long`` trains for about an hour; ``--preset paper-5w1s`` (``-5w5s``,
``-20w1s``, ``-20w5s``) runs a cell of the paper's table on the full Omniglot (``--set
data=FOLDER``).

Read in order: ``config.py`` (settings, presets, published numbers), ``data.py`` (the character
pools), ``driver.py`` (training and evaluation, ``results.json``), ``report.py`` and
``figures.py``.
"""

from adaptax.experiments.experiment import Experiment
from adaptax.experiments.maml_omniglot import driver, report
from adaptax.experiments.maml_omniglot.config import EVAL_KEYS, NAME, PRESETS, OmniglotConfig

EXPERIMENT = Experiment(
    name=NAME,
    description="MAML few-shot Omniglot (Table 1) and Lake's 20-way one-shot runs",
    config_cls=OmniglotConfig,
    presets=PRESETS,
    run=driver.run,
    report=report.report,
    eval_keys=EVAL_KEYS,
)
EXPERIMENTS = {EXPERIMENT.name: EXPERIMENT}

__all__ = ["EXPERIMENT", "EXPERIMENTS", "OmniglotConfig", "PRESETS"]
