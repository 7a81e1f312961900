"""MiniImagenet (Vinyals et al. 2016) in the split of Ravi & Larochelle (ICLR 2017).

A dataset is a folder holding ``train.csv``, ``val.csv`` and ``test.csv`` (header
``filename,label``, rows such as ``n0153282900000005.jpg,n01532829``; 64 / 16 / 20 classes of
600 images in the real data) and the images they list, in an ``images/`` folder or an
``images.zip`` (entries ``images/<filename>`` or at its root)::

  miniImagenet/
    train.csv  val.csv  test.csv
    images/n0153282900000005.jpg …        (or images.zip)

Every image is decoded with PIL as RGB and resized to 84×84 (Lanczos) unless it is 84×84
already. A split is decoded once and cached as a uint8 ``.npy`` in
`adaptax.storage.cache.cache_dir`, beside a JSON sidecar written last: the source (the CSV's
SHA-256, a digest of the listed images' names and sizes), the preprocessing, shape, dtype, class
names and the array's SHA-256. Later loads check the sidecar and the checksum and memory-map the
array (``np.load(mmap_mode="r", allow_pickle=False)``); an entry that does not match is reported
in one line on stderr and recomputed, never trusted.

The pickled distributions (``mini-imagenet-cache-train.pkl`` and the like) are refused: loading a
pickle can run code, so adaptax never unpickles; the error says how to convert one once.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from adaptax.datasets.omniglot import DataError
from adaptax.storage import files
from adaptax.storage.cache import cache_dir

SPLITS = ("train", "val", "test")
SIZE = 84  # images are SIZE×SIZE RGB
WHERE = ("expected a folder holding train.csv, val.csv and test.csv (header filename,label; the "
         "split of Ravi & Larochelle, github.com/twitter/meta-learning-lstm, folder "
         "data/miniImagenet) and the images they list in images/ or images.zip (ImageNet's, "
         "under its licence: image-net.org)")
CONVERT = ("adaptax never unpickles (loading a pickle can run code); convert it once, in a Python "
           "you trust, to the CSV + images layout: d = pickle.load(f); for each class c and index "
           "i in d['class_dict'][c], save d['image_data'][i] as images/<c><i:08d>.jpg "
           "(PIL.Image.fromarray) and write the row '<c><i:08d>.jpg,<c>' to {split}.csv under "
           "the header filename,label; then pass that folder")
_PICKLED = (".pkl", ".pickle")
_CACHE_VERSION = 1


class Images(NamedTuple):
    """The images of one split, class by class."""

    images: np.ndarray  # uint8 [classes, per_class, 84, 84, 3], RGB, a memory map when cached
    classes: np.ndarray  # str [classes]: the labels (WordNet ids), in order of first appearance


def load_split(source: str | Path, split: str) -> Images:
    """One split (``"train"``, ``"val"`` or ``"test"``) of a MiniImagenet folder (cached).

    Classes come in order of first appearance in ``<split>.csv``, each class's images in CSV order.

    Raises:
      DataError: an unknown split; the folder is missing or holds a pickled distribution; the
        CSV, its header or an image it lists is missing or unreadable; or a class has another
        number of images than the others (the class is named).
    """
    if split not in SPLITS:
        raise DataError(f"unknown MiniImagenet split {split!r}; choose one of {', '.join(SPLITS)}")
    source = Path(source)
    csv_path = _csv_path(source, split)
    data = csv_path.read_bytes()
    members = _members(csv_path, _rows(csv_path, data))
    images = _ImageFiles(source)
    try:
        per_class = len(next(iter(members.values())))
        meta = {
            "version": _CACHE_VERSION, "dataset": "miniimagenet", "split": split,
            "source": {"path": str(source.resolve()),
                       "csv_sha256": hashlib.sha256(data).hexdigest(),
                       "images": images.digest(members, csv_path.name)},
            "preprocessing": {"size": SIZE, "mode": "RGB", "resize": "lanczos"},
            "shape": [len(members), per_class, SIZE, SIZE, 3], "dtype": np.dtype(np.uint8).str,
            "classes": list(members),
        }
        npy, sidecar = _cache_paths(source, split)
        if npy.exists() or sidecar.exists():
            try:
                return _cached(npy, sidecar, meta)
            except _Unusable as why:
                print(f"adaptax cache: {npy} {why}; recomputing it", file=sys.stderr)
        array = _decode(images, members, csv_path.name)
    finally:
        images.close()
    classes = np.asarray(list(members), dtype=str)
    try:
        _save(npy, sidecar, {**meta, "sha256": _sha256(array)}, array)
        return Images(np.load(npy, mmap_mode="r", allow_pickle=False), classes)
    except OSError as err:
        print(f"adaptax cache: cannot write {npy} ({err.strerror or err}); not cached",
              file=sys.stderr)
        return Images(array, classes)


def _csv_path(source: Path, split: str) -> Path:
    """The split's CSV, after refusing a pickled distribution and a missing folder."""
    if source.suffix in _PICKLED:
        raise DataError(f"{source} is a pickled MiniImagenet; {CONVERT.format(split=split)}")
    if not source.exists():
        raise DataError(f"{source} does not exist; {WHERE}")
    if not source.is_dir():
        raise DataError(f"{source} is not a folder; {WHERE}")
    path = source / f"{split}.csv"
    if path.is_file():
        return path
    pickles = sorted(p.name for p in source.iterdir() if p.suffix in _PICKLED)
    if pickles:
        raise DataError(f"{source} holds a pickled MiniImagenet ({', '.join(pickles)}) and no "
                        f"{split}.csv; {CONVERT.format(split=split)}")
    raise DataError(f"{source} lacks {split}.csv; {WHERE}")


def _rows(path: Path, data: bytes) -> list[tuple[str, str]]:
    """The (filename, label) rows of a CSV, after checking its header and each row."""
    try:
        lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{path} is not a readable CSV ({e}); {WHERE}") from None
    header = [cell.strip() for cell in lines[0]] if lines else []
    if header != ["filename", "label"]:
        raise DataError(f"{path} has the header {','.join(header)!r}, not 'filename,label'; "
                        f"{WHERE}")
    rows = []
    for number, row in enumerate(lines[1:], start=2):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if len(cells) != 2 or not all(cells):
            raise DataError(f"{path} line {number} is {','.join(row)!r}, not 'filename,label'")
        if "/" in cells[0] or "\\" in cells[0] or cells[0].startswith("."):
            raise DataError(f"{path} line {number} names {cells[0]!r}, not a file name in images/")
        rows.append((cells[0], cells[1]))
    if not rows:
        raise DataError(f"{path} lists no images; {WHERE}")
    return rows


def _members(path: Path, rows: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Each class's image names, classes in order of first appearance; all of one size."""
    members: dict[str, list[str]] = {}
    seen: set[str] = set()
    for name, label in rows:
        if name in seen:
            raise DataError(f"{path} lists {name} twice")
        seen.add(name)
        members.setdefault(label, []).append(name)
    counts = [len(names) for names in members.values()]
    usual = max(counts, key=counts.count)
    reference = next(label for label, names in members.items() if len(names) == usual)
    for label, names in members.items():
        if len(names) != usual:
            raise DataError(f"{path}: class {label} has {len(names)} images but class "
                            f"{reference} has {usual}; every class of a split must have as many "
                            "(a partial copy?)")
    return members


class _ImageFiles:
    """The images of a dataset folder, from ``images/`` or ``images.zip``, by file name."""

    def __init__(self, source: Path):
        self.zip = None
        if (source / "images").is_dir():
            self.where = source / "images"
            return
        self.where = source / "images.zip"
        if not self.where.is_file():
            raise DataError(f"{source} has neither images/ nor images.zip; {WHERE}")
        try:
            self.zip = zipfile.ZipFile(self.where)
        except (zipfile.BadZipFile, OSError) as e:
            raise DataError(f"{self.where} is not a readable zip ({e}); {WHERE}") from None
        self.entries: dict[str, zipfile.ZipInfo] = {}
        for info in self.zip.infolist():
            parts = info.filename.split("/")
            if not info.is_dir() and (len(parts) == 1 or parts[:-1] == ["images"]):
                self.entries.setdefault(parts[-1], info)

    def _missing(self, name: str, csv_name: str) -> DataError:
        return DataError(f"{self.where} lacks {name}, listed in {csv_name} (a partial copy?); "
                         f"{WHERE}")

    def digest(self, members: dict[str, list[str]], csv_name: str) -> str:
        """A SHA-256 of the listed images' names and sizes (and CRCs in a zip)."""
        h = hashlib.sha256(f"{self.where.name}\n".encode())
        for name in (n for names in members.values() for n in names):
            if self.zip is not None:
                info = self.entries.get(name)
                if info is None:
                    raise self._missing(name, csv_name)
                size = f"{info.file_size}:{info.CRC:08x}"
            else:
                try:
                    size = str((self.where / name).stat().st_size)
                except OSError:
                    raise self._missing(name, csv_name) from None
            h.update(f"{name}:{size}\n".encode())
        return h.hexdigest()

    def read(self, name: str, csv_name: str) -> bytes:
        try:
            if self.zip is not None:
                return self.zip.read(self.entries[name])
            return (self.where / name).read_bytes()
        except (KeyError, FileNotFoundError):
            raise self._missing(name, csv_name) from None
        except (OSError, zipfile.BadZipFile, EOFError) as e:
            raise DataError(f"{name} in {self.where} could not be read ({e}); a damaged copy? "
                            f"{WHERE}") from None

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def _decode(images: _ImageFiles, members: dict[str, list[str]], csv_name: str) -> np.ndarray:
    from PIL import Image

    per_class = len(next(iter(members.values())))
    out = np.empty((len(members), per_class, SIZE, SIZE, 3), np.uint8)
    for c, names in enumerate(members.values()):
        for i, name in enumerate(names):
            data = images.read(name, csv_name)
            try:
                with Image.open(io.BytesIO(data)) as image:
                    rgb = image.convert("RGB")
            except Exception as e:  # noqa: BLE001  (PIL raises many types for a damaged file)
                why = " ".join(str(e).split())
                raise DataError(f"{name} in {images.where} could not be decoded as an image "
                                f"({why}); a damaged copy? {WHERE}") from None
            if rgb.size != (SIZE, SIZE):
                rgb = rgb.resize((SIZE, SIZE), Image.Resampling.LANCZOS)
            out[c, i] = np.asarray(rgb, np.uint8)
    return out


class _Unusable(Exception):
    """A cache entry that exists but must not be trusted."""


def _cache_paths(source: Path, split: str) -> tuple[Path, Path]:
    """The ``.npy`` and sidecar of a split, by the source folder's resolved path."""
    key = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:16]
    stem = cache_dir() / f"miniimagenet-{split}-{key}"
    return Path(f"{stem}.npy"), Path(f"{stem}.json")


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(memoryview(np.ascontiguousarray(array)).cast("B")).hexdigest()


def _cached(npy: Path, sidecar: Path, expected: dict) -> Images:
    try:
        meta = json.loads(sidecar.read_text())
    except FileNotFoundError:
        raise _Unusable("has no sidecar") from None
    except (OSError, ValueError):
        raise _Unusable("has an unreadable sidecar") from None
    if not isinstance(meta, dict) or {k: meta.get(k) for k in expected} != expected:
        raise _Unusable("has a sidecar from another source, shape, preprocessing or version")
    try:
        array = np.load(npy, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise _Unusable("is missing") from None
    except Exception as e:  # a damaged header or a truncated file; none is trusted
        raise _Unusable(f"is unreadable ({type(e).__name__})") from None
    if list(array.shape) != expected["shape"] or array.dtype.str != expected["dtype"]:
        raise _Unusable("holds another shape or dtype than its sidecar")
    if _sha256(array) != meta.get("sha256"):
        raise _Unusable("fails its SHA-256 check")
    return Images(array, np.asarray(expected["classes"], dtype=str))


def _save(npy: Path, sidecar: Path, meta: dict, array: np.ndarray) -> None:
    """The array, then its sidecar (each atomically); an old sidecar goes first."""
    npy.parent.mkdir(parents=True, exist_ok=True)
    sidecar.unlink(missing_ok=True)
    files.write(npy, lambda f: np.save(f, array, allow_pickle=False))
    files.write(sidecar, lambda f: f.write(json.dumps(meta, indent=1).encode()))
