"""What adaptax keeps on disk, in one place: the run folder, checkpoints, the array cache, and the
atomic writes all three use.

- :mod:`~adaptax.storage.runs` — ``RunDir``: a run's ``config.json``, metrics, results, report.
- :mod:`~adaptax.storage.checkpoint` — pickle-free, checksummed pytree checkpoints.
- :mod:`~adaptax.storage.cache` — precomputed arrays (Gittins tables, preprocessed datasets).
- :mod:`~adaptax.storage.files` — atomic writes.
"""

from adaptax.storage import cache, checkpoint, files, runs
from adaptax.storage.runs import RunDir

__all__ = ["RunDir", "cache", "checkpoint", "files", "runs"]
