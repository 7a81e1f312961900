"""Tests of adaptax.cache: round trip, verification, recomputation, atomic writes, no pickle."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from adaptax.storage import cache


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ADAPTAX_CACHE", str(tmp_path / "cache"))


class Counter:
    """A compute() that counts its calls and returns arrays of several dtypes."""

    def __init__(self, scale: int = 1):
        self.calls = 0
        self.scale = scale

    def __call__(self) -> dict[str, np.ndarray]:
        self.calls += 1
        return {
            "values": np.arange(12, dtype=np.float64).reshape(3, 4) * self.scale,
            "flags": np.array([True, False, True]),
            "ids": np.array([7, -1], dtype=np.int32),
        }


def _assert_same(got: dict, want: dict) -> None:
    assert sorted(got) == sorted(want)
    for key in want:
        assert got[key].dtype == want[key].dtype
        np.testing.assert_array_equal(got[key], want[key])


def test_cache_dir_env_and_default(tmp_path, monkeypatch):
    assert cache.cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("ADAPTAX_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "adaptax"


def test_round_trip_computes_once():
    compute = Counter()
    first = cache.cached_arrays("table", {"n": 3, "gamma": 0.9}, compute)
    second = cache.cached_arrays("table", {"gamma": 0.9, "n": 3}, compute)  # key order: same
    assert compute.calls == 1
    _assert_same(first, Counter()())
    _assert_same(second, Counter()())


def test_different_params_are_different_entries():
    one, two = Counter(1), Counter(2)
    a = cache.cached_arrays("table", {"n": 3}, one)
    b = cache.cached_arrays("table", {"n": 4}, two)
    assert one.calls == 1 and two.calls == 1
    assert a["values"][0, 1] == 1.0 and b["values"][0, 1] == 2.0


def test_sidecar_records_params_and_checksum():
    cache.cached_arrays("table", {"n": 3}, Counter())
    npz, meta_path = cache.cache_paths("table", {"n": 3})
    meta = json.loads(meta_path.read_text())
    assert meta["params"] == {"n": 3}
    assert meta["arrays"]["values"] == {"dtype": "<f8", "shape": [3, 4]}
    assert len(meta["sha256"]) == 64
    # atomic writes leave no temporary files behind
    assert sorted(p.name for p in npz.parent.iterdir()) == sorted([npz.name, meta_path.name])


def test_truncated_npz_is_reported_and_recomputed(capsys):
    compute = Counter()
    cache.cached_arrays("table", {"n": 3}, compute)
    npz, _ = cache.cache_paths("table", {"n": 3})
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    out = cache.cached_arrays("table", {"n": 3}, compute)
    assert compute.calls == 2
    _assert_same(out, Counter()())
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "recomputing" in err and str(npz) in err
    # and the entry is good again
    cache.cached_arrays("table", {"n": 3}, compute)
    assert compute.calls == 2


def test_flipped_byte_is_detected(capsys):
    compute = Counter()
    cache.cached_arrays("table", {"n": 3}, compute)
    npz, _ = cache.cache_paths("table", {"n": 3})
    data = bytearray(npz.read_bytes())
    data[len(data) // 3] ^= 0xFF
    npz.write_bytes(bytes(data))
    out = cache.cached_arrays("table", {"n": 3}, compute)
    assert compute.calls == 2
    _assert_same(out, Counter()())
    assert "recomputing" in capsys.readouterr().err


def test_valid_npz_with_other_arrays_fails_checksum(capsys):
    """A readable zip whose arrays differ from what the sidecar's SHA-256 covers is not trusted."""
    compute = Counter()
    cache.cached_arrays("table", {"n": 3}, compute)
    npz, _ = cache.cache_paths("table", {"n": 3})
    tampered = Counter(scale=5)()
    np.savez(npz, **tampered)
    out = cache.cached_arrays("table", {"n": 3}, compute)
    assert compute.calls == 2
    _assert_same(out, Counter()())
    assert "SHA-256" in capsys.readouterr().err


def test_mismatched_sidecar_params_are_detected(capsys):
    compute = Counter()
    cache.cached_arrays("table", {"n": 3}, compute)
    _, meta_path = cache.cache_paths("table", {"n": 3})
    meta = json.loads(meta_path.read_text())
    meta["params"] = {"n": 4}
    meta_path.write_text(json.dumps(meta))
    cache.cached_arrays("table", {"n": 3}, compute)
    assert compute.calls == 2
    assert "parameters do not match" in capsys.readouterr().err


def test_missing_sidecar_is_recomputed(capsys):
    compute = Counter()
    cache.cached_arrays("table", {"n": 3}, compute)
    _, meta_path = cache.cache_paths("table", {"n": 3})
    meta_path.unlink()
    cache.cached_arrays("table", {"n": 3}, compute)
    assert compute.calls == 2
    assert "no sidecar" in capsys.readouterr().err


class _Canary:
    """Unpickling this would create a file: proof that nothing in the cache is unpickled."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_pickled_payload_is_never_executed(tmp_path, capsys):
    compute = Counter()
    cache.cached_arrays("table", {"n": 3}, compute)
    npz, meta_path = cache.cache_paths("table", {"n": 3})
    marker = tmp_path / "pwned"
    evil = np.empty(1, dtype=object)
    evil[0] = _Canary(str(marker))
    pickle.dumps(evil)  # the payload is a real pickle
    np.savez(npz, values=evil)  # numpy pickles object arrays inside the npz
    meta = json.loads(meta_path.read_text())
    meta["arrays"] = {"values": {"dtype": "|O", "shape": [1]}}
    meta_path.write_text(json.dumps(meta))
    out = cache.cached_arrays("table", {"n": 3}, compute)
    assert not marker.exists()
    assert compute.calls == 2
    _assert_same(out, Counter()())
    assert "unreadable arrays" in capsys.readouterr().err


def test_unwritable_cache_still_returns(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ADAPTAX_CACHE", str(blocker / "sub"))
    out = cache.cached_arrays("table", {"n": 3}, Counter())
    _assert_same(out, Counter()())
    assert "not cached" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name, params, compute, message",
    [
        ("bad name!", {"n": 1}, Counter(), "cache name"),
        ("table", {"x": object()}, Counter(), "JSON"),
        ("table", {"x": float("nan")}, Counter(), "JSON"),
        ("table", [1, 2], Counter(), "dict"),
        ("table", {"n": 1}, lambda: [np.zeros(2)], "dict of numpy arrays"),
        ("table", {"n": 1}, lambda: {}, "non-empty"),
        ("table", {"n": 1}, lambda: {"x": np.array([None])}, "object dtype"),
    ],
)
def test_bad_inputs_raise_one_line(name, params, compute, message):
    with pytest.raises(ValueError, match=message) as info:
        cache.cached_arrays(name, params, compute)
    assert "\n" not in str(info.value)


def test_files_are_readable_by_others():
    cache.cached_arrays("table", {"n": 3}, Counter())
    npz, meta_path = cache.cache_paths("table", {"n": 3})
    assert os.stat(npz).st_mode & 0o777 == 0o644
    assert os.stat(meta_path).st_mode & 0o777 == 0o644
