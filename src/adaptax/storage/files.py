"""Atomic file writes: a reader sees the old file or the complete new one, never a partial one.

The data goes to a temporary file in the destination's folder, is flushed to disk, and replaces
the destination with one ``os.replace`` (atomic on POSIX and Windows within one file system). A
process killed at any moment leaves at most a stray ``.NAME.*.tmp`` file, never a torn ``NAME``.

Example:
  >>> import pathlib, tempfile
  >>> path = pathlib.Path(tempfile.mkdtemp()) / "results.json"
  >>> write_text(path, '{"loss": 0.1}\\n')
  >>> path.read_text()
  '{"loss": 0.1}\\n'
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def write(path: str | Path, write_to: Callable[[IO[bytes]], Any]) -> None:
    """Writes ``path`` atomically by calling ``write_to`` on a binary file opened in its folder.

    The file gets mode 0644 (readable by all, as ``open`` would create it), not ``mkstemp``'s 0600.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write_to(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: str | Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically."""
    write(path, lambda f: f.write(data))


def write_text(path: str | Path, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"))
