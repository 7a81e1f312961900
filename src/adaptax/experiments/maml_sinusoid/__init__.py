"""MAML on sinusoid regression: App. C Table 2 and Figures 2–3 of Finn et al. (2017).

MAML, first-order MAML, a pretrained baseline and an oracle, trained with the same budget and
tested with the authors' protocol: ``adaptax run maml-sinusoid --preset paper`` (``smoke`` for a
test, ``default`` for minutes on a CPU, ``paper-code`` for the code's α).

Read in order: ``config.py`` (settings, presets, the published numbers), ``driver.py`` (training and
evaluation, ``results.json``), ``report.py`` (``report.md``) and ``figures.py``.
"""

from adaptax.experiments.experiment import Experiment
from adaptax.experiments.maml_sinusoid import driver, report
from adaptax.experiments.maml_sinusoid.config import (
    EVAL_KEYS,
    METHODS,
    NAME,
    PAPER,
    PRESETS,
    REFERENCE_K10,
    SinusoidConfig,
)

EXPERIMENT = Experiment(
    name=NAME,
    description="MAML sinusoid regression vs pretrained and oracle (App. C Table 2, Figs 2-3)",
    config_cls=SinusoidConfig,
    presets=PRESETS,
    run=driver.run,
    report=report.report,
    eval_keys=EVAL_KEYS,
)
EXPERIMENTS = {EXPERIMENT.name: EXPERIMENT}

__all__ = ["EVAL_KEYS", "EXPERIMENT", "EXPERIMENTS", "METHODS", "NAME", "PAPER", "PRESETS",
           "REFERENCE_K10", "SinusoidConfig"]
