"""Omniglot (Lake, Salakhutdinov & Tenenbaum, Science 2015) from its official archives.

A set of characters is read straight from its zip (``images_background.zip``,
``images_evaluation.zip``, or the shipped subsets ``images_background_small1/2.zip``) or from
the folder it unpacks to; the layout is ``<set>/<alphabet>/characterNN/<id>_<drawer>.png``, 20
drawings of 105×105 black strokes on white per character. Each drawing is resized to
``size``×``size`` (28 as MAML; Lanczos) and stored as ink in 0…255 (strokes high, background
0). A known archive's checksum is verified before it is read. The arrays are cached as ``.npz``
(`adaptax.storage.cache`, loaded with ``allow_pickle=False``) under a key that records the archive's
SHA-256 and the preprocessing.

`one_shot_runs` reads the 20 runs of the paper's 20-way one-shot benchmark (``all_runs.zip``),
`with_rotations` adds the rotations by 90°, 180° and 270° as new classes (MAML §5.2), and
`paper_split` draws MAML's 1200 / 423 split of the 1623 characters.

Example:
  >>> chars = load_characters("images_background_small1.zip")  # doctest: +SKIP
  >>> chars.images.shape  # doctest: +SKIP
  (136, 20, 28, 28)
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from adaptax.errors import AdaptaxError
from adaptax.storage.cache import cached_arrays

DRAWERS = 20  # drawings of every character
RUN_WAYS = 20  # classes of each one-shot run
# Checksums of the official archives (github.com/brendenlake/omniglot, folder python/) and of
# the subsets shipped with adaptax (shared/data/omniglot).
CHECKSUMS = {
    "images_background.zip": ("md5", "68d2efa1b9178cc56df9314c21c6e718"),
    "images_evaluation.zip": ("md5", "6b91aef0f799c5bb55b94e3f2daec811"),
    "images_background_small1.zip": (
        "sha256", "f38eb80f801274ac2b4dff5b24289016bfaba4a7d5bb50deebf27104ad6cb8a4"),
    "images_background_small2.zip": (
        "sha256", "3ccaa407515a8778e5d0861875af38b17e418f301ad5bb3b5a6b65d901a41c7f"),
    "all_runs.zip": (
        "sha256", "437c1eeab0af8484112e1b4cc0f3d541ec727f7c47b9b202da738af9dfd6c325"),
}
WHERE = ("the official archives are at github.com/brendenlake/omniglot (folder python/): "
         "images_background.zip and images_evaluation.zip; pass the zip or the folder it "
         "unpacks to")
# MAML's split (Finn et al. 2017 §5.2, after Santoro et al. 2016): 1200 characters for training,
# the other 423 for test, drawn from all 1623 by a permutation with this seed.
PAPER_TRAIN = 1200
PAPER_SPLIT_SEED = 0
_CACHE_VERSION = 1
# The subset in the repository's data/omniglot (SOURCE.md there), read by tests and demos.
SHIPPED = Path(__file__).resolve().parents[3] / "data" / "omniglot"
_DRAWING = re.compile(r"^(?P<id>\d+)_(?P<drawer>\d+)\.png$")


class DataError(AdaptaxError):
    """A dataset that is missing, partial, corrupt or in another layout."""


class Characters(NamedTuple):
    """The characters of one or more Omniglot sets."""

    images: np.ndarray  # uint8 [characters, 20, size, size], ink 0…255
    names: np.ndarray  # str [characters]: "<alphabet>/characterNN"

    @property
    def alphabets(self) -> list[str]:
        """The alphabets, in order of first appearance."""
        return list(dict.fromkeys(str(n).split("/")[0] for n in self.names))


class OneShotRuns(NamedTuple):
    """The 20-way one-shot runs: one training drawing per class, 20 test drawings to classify."""

    train: np.ndarray  # uint8 [runs, 20, size, size]: class c's one example
    test: np.ndarray  # uint8 [runs, 20, size, size]
    answers: np.ndarray  # int32 [runs, 20]: the class of each test drawing


def load_characters(source: str | Path, size: int = 28) -> Characters:
    """Every character of one Omniglot set, from its zip or unpacked folder (cached).

    Raises:
      DataError: the source is missing, fails its checksum, or is not in the official layout
        (a character without exactly 20 drawings is named).
    """
    source = Path(source)
    digest = _verified_digest(source)

    def compute() -> dict[str, np.ndarray]:
        images, names = _read_set(source, size)
        return {"images": images, "names": np.asarray(names)}

    params = {"dataset": "omniglot", "source": source.name, "source_sha256": digest,
              "size": size, "resize": "lanczos", "ink": "255 - grey", "version": _CACHE_VERSION}
    arrays = cached_arrays(f"omniglot-{_slug(source.stem)}-{size}", params, compute)
    return Characters(arrays["images"], arrays["names"])


def one_shot_runs(source: str | Path, size: int = 28) -> OneShotRuns:
    """The 20 runs of the 20-way one-shot benchmark, from ``all_runs.zip`` or its folder.

    Each run's ``class_labels.txt`` pairs every test drawing with its training drawing; the
    answer is that training drawing's index (``classNN`` → NN − 1).
    """
    source = Path(source)
    _verified_digest(source)
    files = _Files(source)
    runs = sorted({p.split("/")[0] for p in files.names() if re.match(r"^run\d+/", p)})
    if not runs:
        raise DataError(f"{source} holds no runNN/ folders; expected all_runs.zip "
                        "(runNN/training, runNN/test, runNN/class_labels.txt)")
    train, test, answers = [], [], []
    for run in runs:
        labels = files.read(f"{run}/class_labels.txt").decode().split()
        pairs = list(zip(labels[0::2], labels[1::2], strict=True))
        if len(pairs) != RUN_WAYS:
            raise DataError(f"{source}: {run}/class_labels.txt pairs {len(pairs)} drawings, "
                            f"not {RUN_WAYS}")
        classes = [f"{run}/training/class{c:02d}.png" for c in range(1, RUN_WAYS + 1)]
        train.append([_preprocess(files.read(p), size) for p in classes])
        test.append([_preprocess(files.read(_strip(item)), size) for item, _ in pairs])
        answers.append([classes.index(_strip(cls)) for _, cls in pairs])
    return OneShotRuns(np.asarray(train, np.uint8), np.asarray(test, np.uint8),
                       np.asarray(answers, np.int32))


def with_rotations(chars: Characters) -> Characters:
    """Each character and its rotations by 90°, 180° and 270°, as four classes (MAML §5.2).

    Example:
      >>> chars = Characters(np.arange(4, dtype=np.uint8).reshape(1, 1, 2, 2), np.asarray(["a/1"]))
      >>> with_rotations(chars).images[:, 0].tolist()[1]
      [[1, 3], [0, 2]]
    """
    images = np.concatenate([np.rot90(chars.images, k, axes=(2, 3)) for k in range(4)])
    names = np.concatenate([np.char.add(chars.names, f"@{90 * k}") for k in range(4)])
    return Characters(np.ascontiguousarray(images), names)


def paper_split(chars: Characters, train: int = PAPER_TRAIN,
                seed: int = PAPER_SPLIT_SEED) -> tuple[Characters, Characters]:
    """MAML's split: a permutation of the characters (``seed``), the first ``train`` for
    training, the rest for test (1200 / 423 of both official sets together)."""
    if not 0 < train < len(chars.names):
        raise DataError(f"a split of {len(chars.names)} characters cannot keep {train} for "
                        "training")
    order = np.random.default_rng(seed).permutation(len(chars.names))
    pick = lambda idx: Characters(chars.images[idx], chars.names[idx])  # noqa: E731
    return pick(np.sort(order[:train])), pick(np.sort(order[train:]))


def concat(*sets: Characters) -> Characters:
    """Several sets' characters as one (background and evaluation: all 1623), each character
    once: the two shipped small background sets share their Greek and Latin characters."""
    images = np.concatenate([s.images for s in sets])
    names = np.concatenate([s.names for s in sets])
    _, first = np.unique(names, return_index=True)
    keep = np.sort(first)
    return Characters(images[keep], names[keep])


def _strip(path: str) -> str:
    """A run file's path from its entry in class_labels.txt (which names it from the runs'
    parent folder in some copies)."""
    match = re.search(r"run\d+/(training|test)/\w+\.png$", path)
    if not match:
        raise DataError(f"class_labels.txt names {path!r}, not runNN/(training|test)/NAME.png")
    return match.group(0)


def _preprocess(png: bytes, size: int) -> np.ndarray:
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(png)).convert("L")
    except Exception as e:  # noqa: BLE001  (PIL raises many types for a damaged file)
        raise DataError(f"a drawing could not be decoded as PNG ({e})") from None
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    return 255 - np.asarray(image, np.uint8)


def _read_set(source: Path, size: int) -> tuple[np.ndarray, list[str]]:
    files = _Files(source)
    drawings: dict[str, list[str]] = {}
    for path in files.names():
        parts = path.split("/")
        if len(parts) >= 3 and _DRAWING.match(parts[-1]):
            drawings.setdefault("/".join(parts[-3:-1]), []).append(path)
    if not drawings:
        raise DataError(f"{source} holds no drawings in the layout "
                        f"<set>/<alphabet>/characterNN/NNNN_NN.png; {WHERE}")
    names = sorted(drawings)
    for name in names:
        if len(drawings[name]) != DRAWERS:
            raise DataError(f"{source}: {name} has {len(drawings[name])} drawings, not "
                            f"{DRAWERS} (a partial archive?); {WHERE}")
    images = np.asarray([[_preprocess(files.read(p), size) for p in sorted(drawings[name])]
                         for name in names], np.uint8)
    return images, names


class _Files:
    """The files of a zip or a folder, by '/'-separated relative path."""

    def __init__(self, source: Path):
        self.source = source
        if source.is_dir():
            self.zip = None
        else:
            try:
                self.zip = zipfile.ZipFile(source)
            except (zipfile.BadZipFile, OSError) as e:
                raise DataError(f"{source} is not a readable zip ({e}); {WHERE}") from None

    def names(self) -> Iterator[str]:
        if self.zip is not None:
            yield from (n for n in self.zip.namelist() if not n.endswith("/"))
        else:
            yield from (p.relative_to(self.source).as_posix()
                        for p in sorted(self.source.rglob("*")) if p.is_file())

    def read(self, name: str) -> bytes:
        try:
            if self.zip is not None:
                return self.zip.read(name)
            return (self.source / name).read_bytes()
        except (KeyError, OSError):
            raise DataError(f"{self.source} lacks {name}") from None


def _verified_digest(source: Path) -> str:
    """The source's SHA-256 (a folder: of its file names and sizes), after checking a known
    archive's published checksum."""
    if not source.exists():
        raise DataError(f"{source} does not exist; {WHERE}, the one-shot runs in all_runs.zip "
                        f"(a subset ships in {SHIPPED})")
    if source.is_dir():
        h = hashlib.sha256()
        for p in sorted(source.rglob("*")):
            if p.is_file():
                h.update(f"{p.relative_to(source).as_posix()}:{p.stat().st_size}\n".encode())
        return h.hexdigest()
    data = source.read_bytes()
    known = CHECKSUMS.get(source.name)
    if known is not None:
        kind, expected = known
        got = hashlib.new(kind, data).hexdigest()
        if got != expected:
            raise DataError(f"{source} fails its {kind} checksum ({got}, expected {expected}): "
                            "a damaged or different download; fetch it again")
    return hashlib.sha256(data).hexdigest()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "set"
