"""The class pools of one few-shot run: training, validation and test classes (uint8 images
[classes, examples, H, W] or [..., 3]), and Lake's 20 one-shot runs where they are a fair test.

MiniImagenet (`load_miniimagenet`): the Ravi & Larochelle split, 64 / 16 / 20 classes of 600
84×84 RGB images, memory-mapped from the cache (`adaptax.datasets.miniimagenet`).

Omniglot (`load`):

- ``data = "shipped"`` (the real subset in ``data/omniglot``): the two small background sets
  (242 distinct characters) are split into training and validation characters; the test is
  Lake's 20 runs, whose characters come from the evaluation alphabets: the 20-way one-shot
  benchmark itself, and N-way one-shot tasks drawn from the runs' 400 characters (each has two
  drawings, its training and its test drawing).
- a folder with the full Omniglot, ``split = "background"``: training and validation characters
  from images_background (964), test characters from images_evaluation (659), and Lake's runs
  (the folder's all_runs.zip, else the shipped one).
- ``split = "paper"``: MAML's 1200 / 423 split of all 1623 characters
  (`omniglot.paper_split`), validation characters taken from the 1200; Lake's runs are not
  scored (their characters may be among the training ones).

The validation characters are the last ``validation_classes`` of a fixed permutation
(``SPLIT_SEED``), the same for every run seed and method.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from adaptax.datasets import miniimagenet as mi
from adaptax.datasets import omniglot as og
from adaptax.errors import ConfigError

SPLIT_SEED = 0
SHIPPED_SETS = ("images_background_small1.zip", "images_background_small2.zip")


class Pools(NamedTuple):
    """uint8 images [classes, examples, H, W(, 3)] of each split, and what they hold."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray  # Omniglot's shipped test: Lake's characters, two drawings each
    runs: og.OneShotRuns | None  # Lake's runs, where they are a fair test
    record: dict[str, Any]  # for results.json


def _set(folder: Path, stem: str) -> Path:
    for path in (folder / f"{stem}.zip", folder / stem):
        if path.exists():
            return path
    raise og.DataError(f"{folder} has no {stem}.zip (or {stem}/ folder); {og.WHERE}")


def _hold_out(chars: og.Characters, count: int) -> tuple[og.Characters, og.Characters]:
    """(training, validation): the last ``count`` characters of a fixed permutation."""
    if not 0 < count < len(chars.names):
        raise ConfigError(f"validation_classes must be below the {len(chars.names)} training "
                          f"characters, got {count}")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(chars.names))
    pick = lambda idx: og.Characters(chars.images[np.sort(idx)], chars.names[np.sort(idx)])  # noqa: E731
    return pick(order[:-count]), pick(order[-count:])


def run_pairs(runs: og.OneShotRuns) -> np.ndarray:
    """The runs' characters as a pool [runs · 20, 2, H, W]: each class's training drawing and
    the test drawing that answers it."""
    pairs = []
    for train, test, answers in zip(runs.train, runs.test, runs.answers, strict=True):
        order = np.argsort(answers)  # the test drawing of class c at position c
        pairs.append(np.stack([train, test[order]], axis=1))
    return np.concatenate(pairs)


def load(data: str, split: str, validation_classes: int) -> Pools:
    """The pools of a config's ``data``, ``split`` and ``validation_classes``."""
    if data == "shipped":
        background = og.concat(*(og.load_characters(og.SHIPPED / name) for name in SHIPPED_SETS))
        runs = og.one_shot_runs(og.SHIPPED / "all_runs.zip")
        train, val = _hold_out(background, validation_classes)
        test = run_pairs(runs)
        where = f"shipped subset ({', '.join(SHIPPED_SETS)}, all_runs.zip)"
    else:
        folder = Path(data)
        if not folder.is_dir():
            raise og.DataError(f"data = {data!r} is not a folder; put images_background.zip and "
                               f"images_evaluation.zip there, or use data=shipped. {og.WHERE}")
        background = og.load_characters(_set(folder, "images_background"))
        evaluation = og.load_characters(_set(folder, "images_evaluation"))
        if split == "paper":
            train, test_chars = og.paper_split(og.concat(background, evaluation))
            train, val = _hold_out(train, validation_classes)
            runs = None
        else:
            train, val = _hold_out(background, validation_classes)
            test_chars = evaluation
            runs_path = folder / "all_runs.zip"
            runs = og.one_shot_runs(runs_path if runs_path.exists() else
                                    og.SHIPPED / "all_runs.zip")
        test = test_chars.images
        where = f"{folder} (images_background, images_evaluation)"
    record = {"source": where, "split": split, "split_seed": SPLIT_SEED,
              **_counts(train.images, val.images, test),
              "lake_runs": None if runs is None else int(runs.train.shape[0]),
              "train_alphabets": len(train.alphabets)}
    return Pools(train.images, val.images, test, runs, record)


def load_miniimagenet(data: str) -> Pools:
    """MiniImagenet's train / val / test splits from the folder ``data``."""
    train, val, test = (mi.load_split(data, s).images for s in ("train", "val", "test"))
    record = {"source": f"{data} (train.csv, val.csv, test.csv)", "split": "Ravi & Larochelle",
              **_counts(train, val, test), "lake_runs": None}
    return Pools(train, val, test, None, record)


def _counts(train: np.ndarray, val: np.ndarray, test: np.ndarray) -> dict[str, int]:
    return {"train_classes": int(train.shape[0]), "validation_classes": int(val.shape[0]),
            "test_classes": int(test.shape[0]), "test_examples": int(test.shape[1])}


def check(pools: Pools, way: int, shot: int, query: int) -> None:
    """Refuses a task shape that a pool cannot give, naming what to change."""
    for name, pool in (("training", pools.train), ("validation", pools.validation),
                       ("test", pools.test)):
        if way > pool.shape[0]:
            raise ConfigError(f"way = {way} needs {way} {name} classes; there are "
                              f"{pool.shape[0]}")
        if shot + query > pool.shape[1]:
            raise ConfigError(
                f"shot + query = {shot + query} examples per class, but the {name} classes "
                f"have {pool.shape[1]} (Omniglot's shipped test is Lake's runs, two drawings "
                "each: use shot=1 query=1, or --set data=FOLDER with the full Omniglot)")
