"""MiniImagenet from tiny datasets built here in the official layout (split CSVs beside images/
or images.zip): order, the memory-mapped cache and its invalidation, pickles refused, one-line
errors."""

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
from PIL import Image

from adaptax.datasets import miniimagenet
from adaptax.datasets.miniimagenet import DataError

CLASSES, PER_CLASS = 3, 4


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ADAPTAX_CACHE", str(tmp_path / "cache"))


def _colour(split: int, c: int, i: int) -> tuple[int, int, int]:
    """A solid colour telling the split, the class and the image apart."""
    return (40 + 60 * c, 10 + 20 * i, 200 - 50 * split)


def _image(colour, fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (100, 90), colour).save(out, format=fmt)  # 90 rows × 100 columns
    return out.getvalue()


def _dataset(root, layout="folder", fmt="PNG"):
    """train/val/test.csv with 3 classes × 4 images each, rows interleaved (image 0 of classes
    2, 1, 0, then image 1, …), so the classes first appear as n…02, n…01, n…00; the images in
    images/, in images.zip under images/, or at the zip's root."""
    root.mkdir(parents=True)
    ext = {"PNG": "png", "JPEG": "jpg"}[fmt]
    images = {}
    for s, split in enumerate(miniimagenet.SPLITS):
        rows = ["filename,label"]
        for i in range(PER_CLASS):
            for c in reversed(range(CLASSES)):
                wnid = f"n{s:02d}{c:06d}"
                name = f"{wnid}{i:08d}.{ext}"
                rows.append(f"{name},{wnid}")
                images[name] = _image(_colour(s, c, i), fmt)
        (root / f"{split}.csv").write_text("\n".join(rows) + "\n")
    if layout == "folder":
        (root / "images").mkdir()
        for name, data in images.items():
            (root / "images" / name).write_bytes(data)
    else:
        prefix = "images/" if layout == "zip" else ""
        with zipfile.ZipFile(root / "images.zip", "w") as z:
            for name, data in images.items():
                z.writestr(prefix + name, data)
    return root


def _expected(split: int) -> np.ndarray:
    order = list(reversed(range(CLASSES)))
    return np.asarray([[np.full((84, 84, 3), _colour(split, c, i), np.uint8)
                        for i in range(PER_CLASS)] for c in order])


def test_a_folder_and_a_zip_give_the_same_arrays_in_csv_order(tmp_path):
    loaded = [miniimagenet.load_split(_dataset(tmp_path / layout, layout), "val")
              for layout in ("folder", "zip", "zip-root")]
    for other in loaded[1:]:
        np.testing.assert_array_equal(other.images, loaded[0].images)
        assert other.classes.tolist() == loaded[0].classes.tolist()
    images, classes = loaded[0]
    assert images.shape == (CLASSES, PER_CLASS, 84, 84, 3) and images.dtype == np.uint8
    assert classes.tolist() == ["n01000002", "n01000001", "n01000000"]
    assert classes.dtype.kind == "U"
    np.testing.assert_array_equal(images, _expected(1))  # solid colours survive Lanczos
    test = miniimagenet.load_split(tmp_path / "zip", "test")
    assert test.classes[0] == "n02000002"
    np.testing.assert_array_equal(test.images, _expected(2))


def test_jpeg_images_are_decoded_too(tmp_path):
    images, _ = miniimagenet.load_split(_dataset(tmp_path / "d", fmt="JPEG"), "train")
    assert np.abs(images.astype(int) - _expected(0)).max() <= 3


def test_the_second_load_is_a_memory_map_of_the_checked_cache_without_pickle(
        tmp_path, monkeypatch, capsys):
    source = _dataset(tmp_path / "d")
    first = miniimagenet.load_split(source, "train")
    entries = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert [n.rsplit(".", 1)[1] for n in entries] == ["json", "npy"]
    sidecar = json.loads(next((tmp_path / "cache").glob("*.json")).read_text())
    assert sidecar["shape"] == [3, 4, 84, 84, 3] and sidecar["dtype"] == "|u1"
    assert sidecar["classes"] == first.classes.tolist()
    assert len(sidecar["source"]["csv_sha256"]) == 64 and sidecar["split"] == "train"

    calls = []
    real_load = np.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded an image although the cache is valid")

    monkeypatch.setattr(np, "load", spy)
    monkeypatch.setattr(Image, "open", no_decoding)
    again = miniimagenet.load_split(source, "train")
    assert isinstance(again.images, np.memmap) and again.images.mode == "r"
    assert calls == [{"mmap_mode": "r", "allow_pickle": False}]
    np.testing.assert_array_equal(again.images, first.images)
    assert again.classes.tolist() == first.classes.tolist()
    assert capsys.readouterr().err == ""


def test_a_changed_csv_invalidates_the_cache(tmp_path, capsys):
    source = _dataset(tmp_path / "d")
    assert miniimagenet.load_split(source, "train").images.shape[1] == 4
    csv = source / "train.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join(lines[:1 + 3 * CLASSES]) + "\n")  # keep 3 images per class
    images, _ = miniimagenet.load_split(source, "train")
    assert images.shape[1] == 3
    np.testing.assert_array_equal(images, _expected(0)[:, :3])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another source" in err and "recomputing" in err


@pytest.mark.parametrize("damage, why", [
    ("flip", "fails its SHA-256 check"),
    ("truncate", "is unreadable"),
    ("header", "is unreadable"),
    ("sidecar", "unreadable sidecar"),
    ("no-sidecar", "has no sidecar"),
])
def test_a_damaged_cache_entry_is_recomputed_with_one_line_on_stderr(
        tmp_path, capsys, damage, why):
    source = _dataset(tmp_path / "d")
    first = np.array(miniimagenet.load_split(source, "train").images)
    npy = next((tmp_path / "cache").glob("*.npy"))
    sidecar = npy.with_suffix(".json")
    data = bytearray(npy.read_bytes())
    if damage == "flip":
        data[-100] ^= 0xFF
        npy.write_bytes(bytes(data))
    elif damage == "truncate":
        npy.write_bytes(bytes(data[:len(data) // 2]))
    elif damage == "header":
        npy.write_bytes(b"garbage!" + bytes(data[8:]))
    elif damage == "sidecar":
        sidecar.write_text("{not json")
    else:
        sidecar.unlink()
    again = miniimagenet.load_split(source, "train")
    np.testing.assert_array_equal(again.images, first)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and why in err and "recomputing" in err
    # the rewritten entry is trusted again
    miniimagenet.load_split(source, "train")
    assert capsys.readouterr().err == ""


class _Trap:
    """Unpickling this creates the folder ``marker``: a visible side effect."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_a_pickled_distribution_is_refused_and_never_unpickled(tmp_path, monkeypatch):
    # the trap works: unpickling it runs code
    pickle.loads(pickle.dumps(_Trap(tmp_path / "proof")))
    assert (tmp_path / "proof").is_dir()

    folder = tmp_path / "mini-imagenet"
    folder.mkdir()
    marker = tmp_path / "unpickled"
    for split in miniimagenet.SPLITS:
        (folder / f"mini-imagenet-cache-{split}.pkl").write_bytes(
            pickle.dumps({"image_data": _Trap(marker), "class_dict": {}}))

    def refuse(*args, **kwargs):
        raise AssertionError("unpickled")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    for source in (folder, folder / "mini-imagenet-cache-train.pkl"):
        with pytest.raises(DataError) as err:
            miniimagenet.load_split(source, "train")
        message = str(err.value)
        assert "\n" not in message and "never unpickles" in message
        assert "d['class_dict'][c]" in message and "to train.csv" in message
    assert not marker.exists()


def _one_line(source, split, *fragments):
    with pytest.raises(DataError) as err:
        miniimagenet.load_split(source, split)
    message = str(err.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_partial_or_corrupt_datasets_fail_in_one_line_naming_what_to_fix(tmp_path):
    _one_line(tmp_path / "absent", "train", "does not exist", "train.csv, val.csv and test.csv",
              "github.com/twitter/meta-learning-lstm", "images/ or images.zip")
    source = _dataset(tmp_path / "d")
    (source / "val.csv").unlink()
    _one_line(source, "val", "lacks val.csv", "data/miniImagenet")
    (source / "images" / "n00000001" "00000002.png").unlink()
    _one_line(source, "train", "lacks n0000000100000002.png, listed in train.csv")
    (source / "test.csv").write_text("filename,label\n" + (source / "test.csv").read_text()
                                     .split("\n", 2)[2])  # drops image 0 of class n02000002
    _one_line(source, "test", "class n02000002 has 3 images but class n02000001 has 4")
    (source / "test.csv").write_text("name,class\nx.png,n0\n")
    _one_line(source, "test", "header 'name,class'", "not 'filename,label'")
    with pytest.raises(DataError, match="unknown MiniImagenet split 'valid'"):
        miniimagenet.load_split(source, "valid")

    broken = _dataset(tmp_path / "broken")
    (broken / "images" / "n0000000000000000.png").write_bytes(b"not an image")
    _one_line(broken, "train", "n0000000000000000.png in", "could not be decoded")

    zipped = _dataset(tmp_path / "zipped", "zip")
    with zipfile.ZipFile(zipped / "images.zip", "a") as z:
        z.writestr("images/unlisted.png", b"")
    (zipped / "val.csv").write_text("filename,label\nn0100000000000000.png,n0\nnope.png,n1\n")
    _one_line(zipped, "val", "images.zip lacks nope.png, listed in val.csv")
    (zipped / "images.zip").write_bytes(b"PK nonsense")
    _one_line(zipped, "val", "images.zip is not a readable zip")
    (zipped / "images.zip").unlink()
    _one_line(zipped, "val", "has neither images/ nor images.zip")
