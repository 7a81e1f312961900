"""RL² on Bernoulli bandits and random tabular MDPs: Tables 1 and 2 of Duan et al. (2017).

Two experiments share this package:

- ``rl2-bandits``: k ∈ {5, 10, 50} arms, n ∈ {10, 100, 500} pulls per trial (``--set k=5``);
- ``rl2-mdps``: 10 states, 5 actions, horizon 10, n ∈ {10, 25, 50, 75, 100} episodes per trial.

Each run meta-trains one GRU agent (`adaptax.rl.rl2`) for a budget of environment steps, then
plays one trial on each of 1000 instances of the test split (`protocol.split_instances`, the
tasks the classical baselines are scored on) and of the validation split (where settings are
chosen), with sampled actions, and reports the mean total reward per trial ± 95% interval. In the
same command the classical agents of the paper's table play the same test instances (the paper's
agents, each hyper-parameter chosen on the validation instances by `adaptax.baselines.tuning`),
and RL² is called above or below an agent only where a one-sided Welch t-test on those instances
supports it. The learning curve is the mean total reward per trial of each training batch against
environment steps, raw and normalised as the paper's Figure 2: (R − R_random) / (R_ref −
R_random) with the reference Gittins (bandits) or OPSRL (MDPs) on the same test instances
(`normalisers`).

The package reads top to bottom: ``config`` (settings, presets, budgets, the paper's numbers),
``driver`` (training, evaluation, the classical agents, ``results.json``), ``report``
(``report.md``) and ``figures``.

Example:
  >>> EXPERIMENTS["rl2-mdps"].make_config("paper").hidden_size
  256
"""

from __future__ import annotations

from adaptax.experiments.experiment import Experiment
from adaptax.experiments.rl2 import report
from adaptax.experiments.rl2.config import (
    BANDIT_PRESETS,
    BUDGETS,
    EVAL_KEYS,
    MDP_PRESETS,
    PAPER_BANDITS,
    PAPER_MDPS,
    PAPER_SOURCE,
    BanditsConfig,
    MDPsConfig,
    _setting,
    batch_size,
    devices_of,
    training_budget,
)
from adaptax.experiments.rl2.driver import (
    OPSRL_SAMPLES,
    classical_agents,
    normalise,
    normalisers,
    run,
    settings_of,
)
from adaptax.experiments.rl2.figures import learning_curve
from adaptax.experiments.rl2.report import comparison_table

__all__ = [
    "BANDITS",
    "BANDIT_PRESETS",
    "BUDGETS",
    "EVAL_KEYS",
    "EXPERIMENTS",
    "MDPS",
    "MDP_PRESETS",
    "OPSRL_SAMPLES",
    "PAPER_BANDITS",
    "PAPER_MDPS",
    "PAPER_SOURCE",
    "BanditsConfig",
    "MDPsConfig",
    "_setting",
    "batch_size",
    "classical_agents",
    "comparison_table",
    "devices_of",
    "learning_curve",
    "normalise",
    "normalisers",
    "run",
    "settings_of",
    "training_budget",
]

BANDITS = Experiment(
    name="rl2-bandits",
    description="RL² on Bernoulli bandits, k in {5,10,50}, n in {10,100,500} (Duan et al. Table 1)",
    config_cls=BanditsConfig,
    presets=BANDIT_PRESETS,
    run=run,
    report=report.report,
    eval_keys=EVAL_KEYS,
)
MDPS = Experiment(
    name="rl2-mdps",
    description="RL² on random tabular MDPs, n in {10,25,50,75,100} episodes (Duan et al. Table 2)",
    config_cls=MDPsConfig,
    presets=MDP_PRESETS,
    run=run,
    report=report.report,
    eval_keys=EVAL_KEYS,
)
EXPERIMENTS = {BANDITS.name: BANDITS, MDPS.name: MDPS}
