"""The one resumable JSONL journal: an append-only file of finished rows that a long job resumes from.

One torn-line policy for every journal: :func:`read_journal` keeps every complete row and drops (with a
warning) any line that does not parse or that the caller's ``valid`` rejects: the last line of a job killed
mid-write, or a corrupt one. :class:`Journal` first rewrites the file with the rows to keep (atomically), then
appends; each row is flushed (and fsynced when ``durable``), so a kill loses at most the row being written.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from motion_r1_verl.runtime.files import write_jsonl_atomic

logger = logging.getLogger(__name__)


def read_journal(path: str | os.PathLike, valid: Callable[[dict], bool] = lambda row: True) -> list[dict[str, Any]]:
    """The complete rows of ``path`` (none when it does not exist), in order; see the module docstring."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                row = None
            if not isinstance(row, dict) or not raw.endswith(b"\n") or not valid(row):
                logger.warning("%s:%d: incomplete or unreadable row (an interrupted write?), redoing it", path, number)
                continue
            rows.append(row)
    return rows


class Journal:
    """Append-only JSONL at ``path`` that starts as exactly ``rows`` (see the module docstring)."""

    def __init__(self, path: str | os.PathLike, rows: Iterable[dict[str, Any]] = (), *, durable: bool = False):
        self.path = Path(path)
        self.durable = durable
        write_jsonl_atomic(self.path, list(rows), durable=durable)
        self._handle = self.path.open("a", encoding="utf-8")

    def append(self, *rows: dict[str, Any]) -> None:
        """Write ``rows`` as one flushed (and, when durable, fsynced) block."""
        self._handle.write("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
        self._handle.flush()
        if self.durable:
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
