"""The registry of experiments: names mapped to the modules that define them, imported lazily.

Each experiment module defines ``EXPERIMENTS``, a dict of name → :class:`Experiment`; the registry
imports a module only when one of its experiments is asked for, so no experiment module imports
the registry (or another experiment module) back. Experiments of your own join with
:func:`register`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from adaptax.errors import ConfigError
from adaptax.experiments.experiment import Experiment

_MODULES = {
    "baselines-bandits": "adaptax.experiments.baselines",
    "baselines-mdps": "adaptax.experiments.baselines",
    "maml-miniimagenet": "adaptax.experiments.maml_fewshot",
    "maml-omniglot": "adaptax.experiments.maml_fewshot",
    "maml-rl-ant-dir": "adaptax.experiments.maml_rl",
    "maml-rl-ant-vel": "adaptax.experiments.maml_rl",
    "maml-rl-cheetah-dir": "adaptax.experiments.maml_rl",
    "maml-rl-cheetah-vel": "adaptax.experiments.maml_rl",
    "maml-rl-nav2d": "adaptax.experiments.maml_rl",
    "maml-sinusoid": "adaptax.experiments.maml_sinusoid",
    "rl2-bandits": "adaptax.experiments.rl2",
    "rl2-mdps": "adaptax.experiments.rl2",
}
_REGISTERED: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    """Adds an experiment of your own (its name must be new)."""
    if experiment.name in _MODULES or experiment.name in _REGISTERED:
        raise ValueError(f"experiment {experiment.name!r} is already registered")
    _REGISTERED[experiment.name] = experiment
    return experiment


def get(name: str) -> Experiment:
    """The experiment called ``name``; an unknown name lists the known ones."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name not in _MODULES:
        raise ConfigError(f"unknown experiment {name!r}; choose one of {names()}")
    return importlib.import_module(_MODULES[name]).EXPERIMENTS[name]


def command_of(run_config: dict[str, Any], always: Sequence[str] = ()) -> str:
    """The ``adaptax run`` command that reruns a run folder's ``config.json`` record."""
    return get(run_config["experiment"]).command_of(run_config, always)


def names() -> list[str]:
    """Every experiment's name, sorted."""
    return sorted({*_MODULES, *_REGISTERED})
