"""The run folder: the unit of work a user keeps.

``runs/<experiment>/<YYYYmmdd-HHMMSS>-s<seed>/`` holds ``config.json`` (experiment, preset, seed,
every config field, library versions), ``metrics.jsonl`` (one JSON record per logged chunk),
``checkpoint/`` (see :mod:`adaptax.storage.checkpoint`), ``figures/*.png``, ``results.json``
(every number of the printed tables, machine-readable) and ``report.md`` (ours next to the
paper's).
"""

from __future__ import annotations

import functools
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from adaptax.errors import AdaptaxError
from adaptax.storage import files


@functools.lru_cache(maxsize=1)
def _git_commit() -> str | None:
    """The commit of the adaptax checkout this process runs (``+dirty`` with local changes), or
    None outside a git checkout; read once per process, when its run folder is written first,
    so a commit made while a run trains does not relabel it."""
    import subprocess

    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--", "."],
                               capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty.strip() else "") if commit else None


def provenance() -> dict[str, Any]:
    """What produced a result: adaptax version and commit, library versions, platform, devices.

    Example:
      >>> sorted(provenance())[:3]
      ['adaptax', 'backend', 'commit']
    """
    from importlib.metadata import PackageNotFoundError, version

    import jax
    import jaxlib
    import numpy as np

    try:
        adaptax_version = version("adaptax")
    except PackageNotFoundError:
        adaptax_version = None
    devices = jax.devices()
    return {
        "adaptax": adaptax_version,
        "commit": _git_commit(),
        "cpu_count": os.cpu_count(),
        "device_count": len(devices),
        "device_kind": devices[0].device_kind,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "process_count": jax.process_count(),
        "python": platform.python_version(),
        "backend": jax.default_backend(),
    }


class RunDir:
    """A run folder on disk; create one with :meth:`create`, open one with :meth:`open`."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoint"

    @property
    def figures_dir(self) -> Path:
        return self.path / "figures"

    @classmethod
    def create(cls, experiment: str, seed: int, out: str | Path | None = None,
               root: str | Path = "runs") -> RunDir:
        """Makes a fresh, writable run folder; never reuses a non-empty one."""
        if out is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = Path(root) / experiment / f"{stamp}-s{seed}"
            n = 1
            while path.exists():
                n += 1
                path = Path(root) / experiment / f"{stamp}-s{seed}-{n}"
        else:
            path = Path(out)
            if path.exists() and (not path.is_dir() or any(path.iterdir())):
                raise AdaptaxError(
                    f"--out {path} already exists and is not empty; choose a new folder "
                    f"(or continue it with: adaptax resume {path})"
                )
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as e:
            raise AdaptaxError(
                f"cannot write the run folder {path} ({e.strerror}); choose a writable --out"
            ) from None
        return cls(path)

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """Opens an existing run folder (one with a ``config.json``)."""
        run = cls(Path(path))
        if not (run.path / "config.json").is_file():
            raise AdaptaxError(f"{path} is not a run folder (it has no config.json)")
        return run

    # config.json -------------------------------------------------------------------------------
    def write_config(self, experiment: str, preset: str, config: dict[str, Any]) -> None:
        import jax

        record = {
            "experiment": experiment,
            "preset": preset,
            "config": config,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "versions": {"python": platform.python_version(), "jax": jax.__version__},
            "backend": jax.default_backend(),
            "commit": _git_commit(),
        }
        files.write_text(self.path / "config.json", json.dumps(record, indent=2) + "\n")

    def update_config(self, config: dict[str, Any]) -> None:
        """Replaces the recorded config (e.g. new evaluation keys on resume), keeping the rest
        of ``config.json`` and listing the changed keys under ``changed_on_resume``."""
        record = self.read_config()
        changed = sorted(k for k in config if record["config"].get(k) != config[k])
        record["changed_on_resume"] = sorted(set(record.get("changed_on_resume", [])) |
                                             set(changed))
        record["config"] = config
        files.write_text(self.path / "config.json", json.dumps(record, indent=2) + "\n")

    def read_config(self) -> dict[str, Any]:
        try:
            record = json.loads((self.path / "config.json").read_text())
        except (OSError, ValueError) as e:
            raise AdaptaxError(f"{self.path}/config.json is unreadable ({e})") from None
        if not isinstance(record, dict) or not {"experiment", "config"} <= set(record):
            raise AdaptaxError(f"{self.path}/config.json is not an adaptax run config")
        return record

    # metrics.jsonl -----------------------------------------------------------------------------
    def append_metrics(self, record: dict[str, Any]) -> None:
        with open(self.path / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        path = self.path / "metrics.jsonl"
        if not path.exists():
            return []
        records = []
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue  # a line cut short by a kill
        return records

    def truncate_metrics(self, phase: str, step: int) -> None:
        """Drops records of ``phase`` past ``step`` (work lost by a kill, about to be redone)."""
        kept = [
            r for r in self.read_metrics()
            if not (r.get("phase") == phase and r.get("step", 0) > step)
        ]
        files.write_text(self.path / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in kept))

    # results.json and report.md ----------------------------------------------------------------
    def write_results(self, results: dict[str, Any]) -> None:
        """Writes ``results.json`` atomically, with the software and hardware that produced it
        (``provenance``) unless the record already carries them."""
        record = {**results, "provenance": results.get("provenance") or provenance()}
        files.write_text(self.path / "results.json", json.dumps(record, indent=1) + "\n")

    def read_results(self) -> dict[str, Any]:
        path = self.path / "results.json"
        if not path.exists():
            raise AdaptaxError(
                f"{self.path} has no results.json yet; finish it with: adaptax resume {self.path}"
            )
        try:
            return json.loads(path.read_text())
        except ValueError as e:
            raise AdaptaxError(f"{path} is unreadable ({e})") from None

    def write_report(self, text: str) -> Path:
        path = self.path / "report.md"
        files.write_text(path, text)
        return path
