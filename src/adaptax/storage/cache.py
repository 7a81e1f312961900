"""A small on-disk cache of precomputed arrays (Gittins tables and the like), keyed by parameters.

Each entry is two files in `cache_dir()`:

  <name>-<key>.npz    the arrays, written with `numpy.savez` and read with `allow_pickle=False`
  <name>-<key>.json   a sidecar: the name, the parameters, each array's dtype and shape, and a
                      SHA-256 of the arrays' names, dtypes, shapes and bytes

where `<key>` is the first 16 hex digits of the SHA-256 of the canonical JSON of the parameters.
Both files are written atomically (a temporary file in the same folder, then `os.replace`), the
sidecar last, so a reader sees a complete entry or none. On load the sidecar's parameters and the
checksum are verified; a missing, corrupt or mismatched entry is reported in one line on stderr and
recomputed, never trusted. Nothing is ever unpickled.

Example:
  >>> import numpy as np

from adaptax.storage import files
  >>> tables = cached_arrays("squares", {"n": 4}, lambda: {"x": np.arange(4) ** 2})
  >>> tables["x"].tolist()
  [0, 1, 4, 9]
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from adaptax.storage import files

__all__ = ["cache_dir", "cache_paths", "cached_arrays"]

_FORMAT_VERSION = 1
_NAME_RE = re.compile(r"^[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*$")


def cache_dir() -> Path:
    """The cache folder: `$ADAPTAX_CACHE` if set, else `~/.cache/adaptax` (created on first write).

    Returns:
      The folder as a `Path` (it may not exist yet).

    Example:
      >>> isinstance(cache_dir(), Path)
      True
    """
    env = os.environ.get("ADAPTAX_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "adaptax"


def _canonical_params(params: Mapping[str, Any]) -> str:
    if not isinstance(params, Mapping):
        raise ValueError(f"cache params must be a dict of JSON values, got {type(params).__name__}")
    try:
        return json.dumps(dict(params), sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"cache params must be JSON-serialisable (str, int, float, bool, None, lists, dicts): "
            f"{err}"
        ) from None


def cache_paths(name: str, params: Mapping[str, Any]) -> tuple[Path, Path]:
    """The `.npz` and `.json` paths of the cache entry for `name` and `params`.

    Args:
      name: entry family, letters, digits and `_` with single `-` between words.
      params: JSON-serialisable parameters that determine the arrays.

    Returns:
      `(npz_path, sidecar_path)`.

    Example:
      >>> npz, meta = cache_paths("squares", {"n": 4})
      >>> npz.suffix, meta.suffix
      ('.npz', '.json')
    """
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"cache name must match {_NAME_RE.pattern}, got {name!r}")
    key = hashlib.sha256(_canonical_params(params).encode()).hexdigest()[:16]
    stem = cache_dir() / f"{name}-{key}"
    return Path(f"{stem}.npz"), Path(f"{stem}.json")


def _checksum(arrays: Mapping[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}|{arr.dtype.str}|{arr.shape}|".encode())
        digest.update(memoryview(arr).cast("B"))
    return digest.hexdigest()


def _validated_arrays(result: object) -> dict[str, np.ndarray]:
    if not isinstance(result, Mapping) or not result:
        raise ValueError("cached_arrays: compute() must return a non-empty dict of numpy arrays")
    arrays = {}
    for key, value in result.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(f"cached_arrays: array names must be identifiers, got {key!r}")
        arr = np.asarray(value)
        if arr.dtype.hasobject:
            raise ValueError(f"cached_arrays: array {key!r} has object dtype; it cannot be stored")
        arrays[key] = arr
    return arrays


class _Unusable(Exception):
    """A cache entry that exists but must not be trusted."""


def _load(npz_path: Path, meta_path: Path, name: str, canonical: str) -> dict[str, np.ndarray]:
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise _Unusable("has no sidecar") from None
    except (OSError, ValueError):
        raise _Unusable("has an unreadable sidecar") from None
    if not isinstance(meta, dict):
        raise _Unusable("has a malformed sidecar")
    if meta.get("version") != _FORMAT_VERSION or meta.get("name") != name:
        raise _Unusable("has a sidecar from another name or format version")
    if meta.get("params") != json.loads(canonical):
        raise _Unusable("has a sidecar whose parameters do not match")
    try:
        with np.load(npz_path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise _Unusable("has a sidecar but no arrays") from None
    except Exception as err:  # a damaged zip can raise many kinds of error; none is trusted
        raise _Unusable(f"has unreadable arrays ({type(err).__name__})") from None
    if sorted(arrays) != sorted(meta.get("arrays", {})):
        raise _Unusable("holds other arrays than its sidecar lists")
    if _checksum(arrays) != meta.get("sha256"):
        raise _Unusable("fails its SHA-256 check")
    return arrays


def _save(npz_path: Path, meta_path: Path, name: str, canonical: str, arrays: dict) -> None:
    npz_path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "version": _FORMAT_VERSION,
        "name": name,
        "params": json.loads(canonical),
        "arrays": {key: {"dtype": arr.dtype.str, "shape": list(arr.shape)}
                   for key, arr in sorted(arrays.items())},
        "sha256": _checksum(arrays),
    }
    files.write(npz_path, lambda f: np.savez(f, **arrays))
    files.write(meta_path, lambda f: f.write(json.dumps(meta, indent=1).encode()))


def cached_arrays(
    name: str,
    params: Mapping[str, Any],
    compute: Callable[[], Mapping[str, np.ndarray]],
) -> dict[str, np.ndarray]:
    """Returns `compute()`'s arrays, from the disk cache when a verified entry exists.

    The entry is found by `name` and the SHA-256 of the canonical JSON of `params`; it is used only
    if its sidecar names the same parameters and the arrays match the sidecar's SHA-256. Anything
    else (missing sidecar, damaged zip, edited parameters, flipped bits) is reported in one line on
    stderr, recomputed and overwritten. If the cache folder cannot be written, the arrays are
    returned anyway and one line on stderr says so.

    Args:
      name: entry family, e.g. `"gittins-calibration"`; letters, digits, `_`, single `-`.
      params: JSON-serialisable parameters that fully determine the arrays (include a version
        number of the computing code, so a change of algorithm invalidates old entries).
      compute: a no-argument function returning a non-empty dict of numpy arrays (no object dtype).

    Returns:
      A dict of numpy arrays, equal to what `compute()` returns.

    Example:
      >>> import numpy as np
      >>> out = cached_arrays("squares", {"n": 3}, lambda: {"x": np.arange(3) ** 2})
      >>> out["x"].tolist()
      [0, 1, 4]
    """
    canonical = _canonical_params(params)
    npz_path, meta_path = cache_paths(name, params)
    if npz_path.exists() or meta_path.exists():
        try:
            return _load(npz_path, meta_path, name, canonical)
        except _Unusable as why:
            print(f"adaptax cache: {npz_path} {why}; recomputing it", file=sys.stderr)
    arrays = _validated_arrays(compute())
    try:
        _save(npz_path, meta_path, name, canonical, arrays)
    except OSError as err:
        print(f"adaptax cache: cannot write {npz_path} ({err.strerror or err}); not cached",
              file=sys.stderr)
    return arrays
