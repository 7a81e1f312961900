"""Omniglot from its archives: the shipped real subset, archives in the official layout built
here, checksums, the one-shot runs, rotations and MAML's split."""

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from adaptax.datasets import omniglot
from adaptax.datasets.omniglot import Characters, DataError


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ADAPTAX_CACHE", str(tmp_path / "cache"))


def _png(value: int, size: int = 105) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((size, size), value, np.uint8)).save(out, format="PNG")
    return out.getvalue()


def _archive(path, drawings=20, characters=("Latin/character01", "Latin/character02")):
    """A zip in the official layout: images_background/<alphabet>/characterNN/NNNN_DD.png,
    character i drawn in grey level 10·i (so its ink is 255 − 10·i)."""
    with zipfile.ZipFile(path, "w") as z:
        for i, name in enumerate(characters):
            for d in range(1, drawings + 1):
                z.writestr(f"images_background/{name}/{i:04d}_{d:02d}.png", _png(10 * i))
    return path


def test_the_shipped_subset_reads_as_the_paper_preprocesses_it():
    chars = omniglot.load_characters(omniglot.SHIPPED / "images_background_small1.zip")
    assert chars.images.shape == (136, 20, 28, 28) and chars.images.dtype == np.uint8
    assert chars.alphabets == ["Balinese", "Early_Aramaic", "Greek", "Korean", "Latin"]
    assert chars.names[0] == "Balinese/character01"
    # strokes are ink (high) on a background of 0: most pixels are blank, every drawing has ink
    assert np.median(chars.images) == 0 and chars.images.max() == 255
    assert (chars.images.reshape(136 * 20, -1).max(1) > 100).all()
    other = omniglot.load_characters(omniglot.SHIPPED / "images_background_small2.zip")
    assert other.images.shape[0] == 156
    # the two subsets share their Greek and Latin characters (the same drawings): together
    # they hold 8 alphabets and 242 distinct characters
    assert set(other.alphabets) & set(chars.alphabets) == {"Greek", "Latin"}
    both = omniglot.concat(chars, other)
    assert len(both.alphabets) == 8 and both.images.shape[0] == 136 + 156 - 24 - 26
    assert len(set(both.names)) == len(both.names)


def test_a_folder_and_its_zip_give_the_same_arrays_and_the_cache_is_used(tmp_path):
    archive = _archive(tmp_path / "images_background_tiny.zip")
    from_zip = omniglot.load_characters(archive, size=8)
    with zipfile.ZipFile(archive) as z:
        z.extractall(tmp_path / "unpacked")
    from_folder = omniglot.load_characters(tmp_path / "unpacked" / "images_background", size=8)
    np.testing.assert_array_equal(from_zip.images, from_folder.images)
    assert from_zip.images.shape == (2, 20, 8, 8)
    assert (from_zip.images[1] == 245).all() and (from_zip.images[0] == 255).all()
    entries = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(entries) == 4 and any(n.endswith(".npz") for n in entries)
    # loaded from the cache (allow_pickle=False inside): the same arrays again
    again = omniglot.load_characters(archive, size=8)
    np.testing.assert_array_equal(again.images, from_zip.images)
    assert list(again.names) == ["Latin/character01", "Latin/character02"]


def test_bad_sources_fail_in_one_line_naming_what_to_fix(tmp_path):
    with pytest.raises(DataError, match="does not exist; the official archives"):
        omniglot.load_characters(tmp_path / "images_background.zip")
    # a file under an official name whose checksum differs: a damaged download
    fake = _archive(tmp_path / "images_background.zip")
    with pytest.raises(DataError, match="fails its md5 checksum .* expected "
                                        "68d2efa1b9178cc56df9314c21c6e718"):
        omniglot.load_characters(fake)
    partial = _archive(tmp_path / "partial.zip", drawings=19)
    with pytest.raises(DataError, match="Latin/character01 has 19 drawings, not 20"):
        omniglot.load_characters(partial)
    (tmp_path / "not-a-zip.zip").write_bytes(b"PK nonsense")
    with pytest.raises(DataError, match="not a readable zip"):
        omniglot.load_characters(tmp_path / "not-a-zip.zip")
    with zipfile.ZipFile(tmp_path / "flat.zip", "w") as z:
        z.writestr("a.png", _png(0))
    with pytest.raises(DataError, match="layout <set>/<alphabet>/characterNN"):
        omniglot.load_characters(tmp_path / "flat.zip")


def test_the_one_shot_runs_pair_each_test_drawing_with_its_class():
    runs = omniglot.one_shot_runs(omniglot.SHIPPED / "all_runs.zip")
    assert runs.train.shape == runs.test.shape == (20, 20, 28, 28)
    # class_labels.txt of run 1: item01 → class08, item02 → class09, item03 → class02
    assert runs.answers[0, :3].tolist() == [7, 8, 1]
    assert all(sorted(row) == list(range(20)) for row in runs.answers.tolist())
    # on real drawings a pixel nearest neighbour beats chance (95% error) by far
    train = runs.train.reshape(20, 20, -1).astype(np.float32)
    test = runs.test.reshape(20, 20, -1).astype(np.float32)
    dist = ((test[:, :, None] - train[:, None]) ** 2).sum(-1)
    assert (dist.argmin(-1) != runs.answers).mean() < 0.85


def test_rotations_are_new_classes_and_the_paper_split_is_disjoint():
    images = np.arange(3 * 2 * 4 * 4, dtype=np.uint8).reshape(3, 2, 4, 4)
    chars = Characters(images, np.asarray(["a/1", "a/2", "b/1"]))
    rotated = omniglot.with_rotations(chars)
    assert rotated.images.shape == (12, 2, 4, 4)
    np.testing.assert_array_equal(rotated.images[3 + 2], np.rot90(images[2], 1, axes=(1, 2)))
    assert rotated.names[5] == "b/1@90" and rotated.names[11] == "b/1@270"
    many = Characters(np.zeros((1623, 1, 1, 1), np.uint8),
                      np.asarray([f"x/{i}" for i in range(1623)]))
    train, test = omniglot.paper_split(many)
    assert len(train.names) == 1200 and len(test.names) == 423
    assert not set(train.names) & set(test.names)
    again, _ = omniglot.paper_split(many)
    assert list(again.names) == list(train.names)  # the split is fixed by its seed
    with pytest.raises(DataError):
        omniglot.paper_split(chars, train=3)
