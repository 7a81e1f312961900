"""Settings of the ``maml-sinusoid`` experiment: the config, its presets and the paper's numbers.

Example:
  >>> from adaptax.experiments import config as cfg
  >>> SinusoidConfig().iterations, SinusoidConfig().inner_lr
  (30000, 0.01)
  >>> cfg.apply_overrides(SinusoidConfig(), PRESETS["paper-code"]).inner_lr
  0.001
"""

from __future__ import annotations

import dataclasses
from typing import Any

from adaptax.errors import ConfigError
from adaptax.experiments import config as cfg
from adaptax.experiments.config import param
from adaptax.experiments.seeds import SEEDS_HELP

NAME = "maml-sinusoid"
METHODS = ("maml", "fomaml", "pretrained", "oracle")

# Published and reference numbers (REFERENCE.md "MAML — sinusoid regression").
PAPER = {
    "source": "Finn et al. 2017, App. C Table 2 (trained K=10, tested K=5)",
    "K": 5,
    "steps": [1, 5, 10],
    "maml": [0.67, 0.38, 0.35],
    "pretrained": [2.41, 2.23, 2.19],
}
# Not published: an internal measurement (REFERENCE.md), a sanity reference only.
REFERENCE_K10 = {
    "source": "not published: an internal JAX implementation at the paper preset (REFERENCE.md)",
    "K": 10,
    "steps": [1, 10],
    "maml": [0.34, 0.10],
    "pretrained": [2.6, 1.6],
}

# config keys that change only the evaluation (`adaptax resume RUN --set KEY=VALUE`)
EVAL_KEYS = ("eval_tasks", "validation_tasks", "eval_k", "eval_steps", "finetune_lrs")


@dataclasses.dataclass(frozen=True)
class SinusoidConfig:
    """Settings of the sinusoid experiment; the defaults are the ``default`` preset."""

    seed: int = param(0, "PRNG seed for initialisation, training tasks and evaluation", min=0)
    seeds: int = param(1, SEEDS_HELP, min=1)
    iterations: int = param(30_000, "meta-iterations per method (paper: 70,000)", min=1)
    meta_batch: int = param(25, "tasks per meta-iteration (paper: 25)", min=1)
    k_train: int = param(10, "support points K per task in training (and as many query)", min=1)
    inner_lr: float = param(0.01, "inner step size alpha, also at test (paper: 0.01)", min=0,
                            min_exclusive=True)
    inner_steps: int = param(1, "inner gradient steps in training (paper: 1)", min=1, max=20)
    meta_lr: float = param(1e-3, "Adam meta step size beta (paper: 1e-3)", min=0,
                           min_exclusive=True)
    hidden: tuple[int, ...] = param((40, 40), "hidden layer widths (paper: 40, 40)", min=1)
    methods: tuple[str, ...] = param(METHODS, "methods to train and evaluate", choices=METHODS,
                                     unique=True)
    eval_tasks: int = param(600, "test tasks per K, from the test split (code: 600)", min=2)
    validation_tasks: int = param(
        600, "validation-split tasks per K on which the pretrained model's fine-tuning step "
        "size is chosen", min=2)
    eval_k: tuple[int, ...] = param((5, 10, 20), "support points K at test", min=1, unique=True)
    eval_steps: int = param(10, "gradient steps at test (code: 10)", min=1, max=100)
    finetune_lrs: tuple[float, ...] = param(
        (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1),
        "step sizes tried for fine-tuning the pretrained model (chosen on held-out tasks)",
        min=0, min_exclusive=True, unique=True,
    )
    chunk: int = param(1000, "iterations per compiled dispatch, checkpoint and log line", min=1)

    def __post_init__(self) -> None:
        cfg.validate(self)
        if "maml" not in self.methods:
            raise ConfigError("methods must include 'maml'")


PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"iterations": 400, "chunk": 100, "eval_tasks": 50, "validation_tasks": 50,
              "eval_k": (5, 10)},
    "default": {},
    "paper": {"iterations": 70_000},
    # The authors' code ran with its default α = 1e-3 (its README passes no --update_lr); with it
    # our K = 5 numbers match App. C Table 2, which suggests the table came from that setting.
    "paper-code": {"iterations": 70_000, "inner_lr": 0.001},
}
