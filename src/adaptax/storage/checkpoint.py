"""Atomic, pickle-free checkpoints of pytrees: msgpack data plus a JSON manifest.

A checkpoint named ``NAME`` in a folder is two files:

* ``NAME-<step>.msgpack`` — the pytree's state dict serialised by ``flax.serialization``
  (msgpack with raw array buffers; nothing in it is ever executed on load);
* ``NAME.json`` — the manifest: format tag, version, the experiment it belongs to, the step, the
  data file's name and SHA-256, and each leaf's path, shape and dtype.

Writing goes data first, then the manifest by atomic rename, then the previous data file is
removed: a run killed at any moment leaves the manifest pointing at a complete data file. Loading
checks the format tag, the experiment, the checksum and every leaf's shape and dtype against the
caller's template, and refuses anything else with a :class:`CheckpointError`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import serialization

from adaptax.errors import CheckpointError
from adaptax.storage import files

FORMAT = "adaptax-checkpoint"
VERSION = 1


def _leaf_specs(tree: Any) -> dict[str, list]:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {
        jax.tree_util.keystr(path): [list(np.shape(x)), str(np.asarray(x).dtype)]
        for path, x in leaves
    }


def save(folder: str | Path, name: str, tree: Any, *, step: int, experiment: str,
         config_hash: str | None = None) -> Path:
    """Writes ``tree`` as checkpoint ``name`` in ``folder`` atomically; returns the manifest path.

    Args:
      folder: the checkpoint folder (created if missing).
      name: the checkpoint's name, e.g. a training phase.
      tree: any pytree of arrays (NamedTuples, dicts, Flax params, optax states).
      step: the iteration it was taken at (recorded in the manifest and the data file's name).
      experiment: the experiment it belongs to; :func:`load` refuses a checkpoint of another.
      config_hash: a hash of the training config that produced it; :func:`load` given another
        hash refuses it (a checkpoint copied from another run).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    host_tree = jax.tree_util.tree_map(np.asarray, jax.device_get(tree))
    data = serialization.msgpack_serialize(serialization.to_state_dict(host_tree))
    data_name = f"{name}-{step}.msgpack"
    manifest_path = folder / f"{name}.json"
    previous = None
    if manifest_path.exists():
        try:
            previous = json.loads(manifest_path.read_text()).get("data")
        except (OSError, ValueError):
            previous = None
    files.write_bytes(folder / data_name, data)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "experiment": experiment,
        "name": name,
        "step": int(step),
        "data": data_name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "leaves": _leaf_specs(host_tree),
        "config_sha256": config_hash,
    }
    files.write_bytes(manifest_path, json.dumps(manifest, indent=1).encode())
    if previous and previous != data_name:
        (folder / previous).unlink(missing_ok=True)
    return manifest_path


def _retrain(manifest_path: Path, manifest: dict[str, Any]) -> str:
    """What to do about an unusable checkpoint: delete it, and this phase trains again."""
    files = [str(manifest_path)]
    if manifest.get("data"):
        files.append(str(manifest_path.parent / str(manifest["data"])))
    return (f"delete {' and '.join(files)} and resume to train this phase again from its start "
            "(only the newest checkpoint of a phase is kept)")


def exists(folder: str | Path, name: str) -> bool:
    """Whether checkpoint ``name`` has a manifest in ``folder``."""
    return (Path(folder) / f"{name}.json").exists()


def load(folder: str | Path, name: str, template: Any, *, experiment: str,
         config_hash: str | None = None) -> tuple[Any, int]:
    """Reads checkpoint ``name`` into the structure of ``template``; returns ``(tree, step)``.

    Raises:
      CheckpointError: missing, unreadable, corrupt (checksum), foreign (another format,
        experiment or, when both hashes are known, training config), or shaped differently from
        ``template``. The message says which files to delete to train the phase again.
    """
    folder = Path(folder)
    manifest_path = folder / f"{name}.json"
    where = f"checkpoint {manifest_path}"
    if not manifest_path.exists():
        raise CheckpointError(f"{where} does not exist")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{where} is not a readable JSON manifest ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{where} is not an adaptax checkpoint (no '{FORMAT}' format tag)")
    if manifest.get("version") != VERSION:
        raise CheckpointError(f"{where} has version {manifest.get('version')}, expected {VERSION}")
    if manifest.get("experiment") != experiment:
        raise CheckpointError(
            f"{where} belongs to experiment {manifest.get('experiment')!r}, not {experiment!r}"
        )
    theirs = manifest.get("config_sha256")
    if config_hash is not None and theirs is not None and theirs != config_hash:
        raise CheckpointError(
            f"{where} was written by another training config (a checkpoint copied from another "
            f"run?); {_retrain(manifest_path, manifest)}")
    data_path = folder / str(manifest.get("data", ""))
    try:
        data = data_path.read_bytes()
    except OSError:
        raise CheckpointError(f"{where}: its data file {data_path} is missing; "
                              f"{_retrain(manifest_path, manifest)}") from None
    if hashlib.sha256(data).hexdigest() != manifest.get("sha256"):
        raise CheckpointError(f"{where}: data file {data_path} is corrupt (checksum mismatch); "
                              f"{_retrain(manifest_path, manifest)}")
    host_template = jax.tree_util.tree_map(np.asarray, jax.device_get(template))
    if _leaf_specs(host_template) != manifest.get("leaves"):
        raise CheckpointError(f"{where} holds a different model or optimiser than this config")
    try:
        state_dict = serialization.msgpack_restore(data)
        tree = serialization.from_state_dict(host_template, state_dict)
    except Exception as e:  # msgpack and flax raise many types on malformed input
        raise CheckpointError(f"{where}: data file {data_path} cannot be decoded ({e}); "
                              f"{_retrain(manifest_path, manifest)}") from None
    if _leaf_specs(tree) != manifest["leaves"]:
        raise CheckpointError(f"{where}: data file {data_path} does not match its manifest")
    return tree, int(manifest["step"])
