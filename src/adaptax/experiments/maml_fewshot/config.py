"""Settings of the ``maml-omniglot`` experiment: the config, its presets and the published
numbers (MAML's Table 1 cells and the references of Lake's one-shot benchmark).

Example:
  >>> from adaptax.experiments import config as cfg
  >>> c = cfg.apply_overrides(OmniglotConfig(), OMNIGLOT_PRESETS["paper-20w1s"])
  >>> c.way, c.shot, c.inner_steps, c.meta_batch, c.split
  (20, 1, 5, 16, 'paper')
"""

from __future__ import annotations

import dataclasses
from typing import Any

from adaptax.errors import ConfigError
from adaptax.experiments import config as cfg
from adaptax.experiments.config import param
from adaptax.experiments.seeds import SEEDS_HELP

OMNIGLOT = "maml-omniglot"
MINIIMAGENET = "maml-miniimagenet"
METHODS = ("maml", "fomaml")

# REFERENCE.md "MAML — few-shot classification": Table 1, accuracy % ± 95% interval, per
# experiment and "<way>-<shot>" cell.
PAPER = {
    "source": "Finn et al. 2017, Table 1 (60,000 iterations; Omniglot 1200 / 423 characters, "
              "MiniImagenet 64 / 16 / 20 classes)",
    "maml-omniglot": {"maml": {"5-1": [98.7, 0.4], "5-5": [99.9, 0.1], "20-1": [95.8, 0.3],
                               "20-5": [98.9, 0.2]}},
    "maml-miniimagenet": {"maml": {"5-1": [48.70, 1.84], "5-5": [63.11, 0.92]},
                          "fomaml": {"5-1": [48.07, 1.75], "5-5": [63.15, 0.91]}},
}
# data/omniglot/SOURCE.md: error rates % on the 20 runs of the 20-way one-shot benchmark.
LAKE = {
    "source": "Lake et al. 2015 (Science) and the Omniglot repository's demo",
    "references": {"nearest neighbour (modified Hausdorff distance)": 38.8,
                   "people": 4.5, "Bayesian program learning": 3.3},
}

# config keys that change only the evaluation (`adaptax resume RUN --set KEY=VALUE`)
EVAL_KEYS = ("eval_tasks", "validation_tasks", "eval_steps")


@dataclasses.dataclass(frozen=True)
class _FewShot:
    """Settings both datasets share; each experiment's config adds its own."""

    seed: int = param(0, "PRNG seed for initialisation and training tasks", min=0)
    seeds: int = param(1, SEEDS_HELP, min=1)
    way: int = param(5, "classes per task N", min=2)
    shot: int = param(1, "support images per class K", min=1)
    query: int = param(15, "query images per class, in training and test tasks", min=1)
    methods: tuple[str, ...] = param(("maml",), "methods to train and evaluate",
                                     choices=METHODS, unique=True)
    inner_lr: float = param(0.01, "inner step size alpha, also at test", min=0,
                            min_exclusive=True)
    inner_steps: int = param(5, "inner steps in training", min=1, max=20)
    norm: str = param(
        "batch", "BatchNorm: batch (statistics of the images at hand, in training and at test: "
        "the paper's transductive setting) or running (running averages at test, each image "
        "classified on its own)", choices=("batch", "running"))
    eval_steps: int = param(10, "inner steps at test: accuracy after 0…eval_steps", min=1,
                            max=50)
    meta_batch: int = param(4, "tasks per meta-iteration", min=1)
    meta_lr: float = param(1e-3, "Adam meta step size beta (paper: 1e-3)", min=0,
                           min_exclusive=True)
    iterations: int = param(400, "meta-iterations per method (paper: 60,000)", min=1)
    filters: int = param(32, "filters of each Conv4 layer", min=1)
    eval_tasks: int = param(600, "test tasks (paper: 600)", min=2)
    validation_tasks: int = param(200, "validation tasks", min=2)
    chunk: int = param(50, "iterations per compiled dispatch, checkpoint and log line", min=1)
    devices: int = param(
        1, "data-parallel devices in training: each adapts meta_batch/devices tasks, with the "
        "same numbers as one device; 0 = every device of every process (GPUs, hosts)", min=0)

    @property
    def host_devices(self) -> int:
        """Host devices `adaptax run` asks XLA for on a CPU before JAX starts."""
        return self.devices or 1

    def check_devices(self) -> None:
        if self.devices and self.meta_batch % self.devices:
            raise ConfigError(f"meta_batch ({self.meta_batch}) must be a multiple of devices "
                              f"({self.devices})")


@dataclasses.dataclass(frozen=True)
class OmniglotConfig(_FewShot):
    """Settings of ``maml-omniglot``; the defaults are the ``default`` preset."""

    data: str = param(
        "shipped", "'shipped' (the real subset in data/omniglot: two small background sets and "
        "Lake's 20 runs) or a folder holding images_background and images_evaluation (zips or "
        "unpacked) of the full Omniglot")
    split: str = param(
        "background", "'background': train on background alphabets, test on evaluation "
        "alphabets and Lake's runs; 'paper': MAML's 1200 / 423 characters of both sets",
        choices=("background", "paper"))
    way: int = param(20, "classes per task N", min=2)
    shot: int = param(1, "support drawings per class K", min=1, max=19)
    query: int = param(1, "query drawings per class, in training and test tasks", min=1, max=19)
    inner_lr: float = param(0.1, "inner step size alpha, also at test (paper: 0.4 5-way, 0.1 "
                            "20-way)", min=0, min_exclusive=True)
    inner_steps: int = param(1, "inner steps in training (paper: 1 5-way, 5 20-way)", min=1,
                             max=20)
    eval_steps: int = param(5, "inner steps at test: accuracy after 0…eval_steps (paper: 3 "
                            "5-way, 5 20-way)", min=1, max=50)
    meta_batch: int = param(8, "tasks per meta-iteration (paper: 32 5-way, 16 20-way)", min=1)
    filters: int = param(64, "filters of each Conv4 layer (paper: 64)", min=1)
    rotations: bool = param(True, "turn each training class by a random multiple of 90° per "
                            "task (the paper's rotations as new classes)")
    validation_classes: int = param(30, "training characters held out for validation (every "
                                    "choice is made there)", min=1)

    def __post_init__(self) -> None:
        cfg.validate(self)
        self.check_devices()
        if self.shot + self.query > 20:
            raise ConfigError(f"shot + query = {self.shot + self.query} drawings per class; an "
                              "Omniglot character has 20")
        if self.data == "shipped" and self.split == "paper":
            raise ConfigError("split=paper needs the full Omniglot: --set data=FOLDER with "
                              "images_background and images_evaluation (zips or folders)")


@dataclasses.dataclass(frozen=True)
class MiniImagenetConfig(_FewShot):
    """Settings of ``maml-miniimagenet``; the defaults are the ``default`` preset (the paper's
    5-way 1-shot settings with a CPU-sized budget)."""

    data: str = param("miniImagenet", "a folder holding train.csv, val.csv, test.csv (Ravi & "
                      "Larochelle) and the images in images/ or images.zip")

    def __post_init__(self) -> None:
        cfg.validate(self)
        self.check_devices()


# the full Omniglot in ./omniglot (or --set data=FOLDER)
_PAPER = {"data": "omniglot", "split": "paper", "iterations": 60_000, "chunk": 500,
          "eval_tasks": 600, "validation_classes": 100}
OMNIGLOT_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"way": 5, "filters": 8, "meta_batch": 2, "iterations": 20, "chunk": 10,
              "eval_tasks": 20, "validation_tasks": 20, "eval_steps": 2, "inner_lr": 0.4},
    # minutes on 2 CPU cores: the shipped subset, 20-way 1-shot (so Lake's runs are scored)
    "default": {},
    # the shipped subset, long enough to be judged on Lake's runs (about an hour on 2 CPU cores)
    "long": {"iterations": 6_000, "chunk": 200, "meta_batch": 8},
    "paper-5w1s": {**_PAPER, "way": 5, "shot": 1, "inner_lr": 0.4, "inner_steps": 1,
                   "eval_steps": 3, "meta_batch": 32},
    "paper-5w5s": {**_PAPER, "way": 5, "shot": 5, "inner_lr": 0.4, "inner_steps": 1,
                   "eval_steps": 3, "meta_batch": 32},
    "paper-20w1s": {**_PAPER, "way": 20, "shot": 1, "inner_lr": 0.1, "inner_steps": 5,
                    "eval_steps": 5, "meta_batch": 16},
    "paper-20w5s": {**_PAPER, "way": 20, "shot": 5, "inner_lr": 0.1, "inner_steps": 5,
                    "eval_steps": 5, "meta_batch": 16},
}
MINIIMAGENET_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"filters": 4, "meta_batch": 2, "iterations": 10, "chunk": 5, "inner_steps": 1,
              "eval_steps": 2, "query": 1, "eval_tasks": 10, "validation_tasks": 10},
    # the paper's 5-way 1-shot settings for minutes on a CPU
    "default": {},
    "paper-5w1s": {"shot": 1, "meta_batch": 4, "iterations": 60_000, "chunk": 500},
    "paper-5w5s": {"shot": 5, "meta_batch": 2, "iterations": 60_000, "chunk": 500},
}
