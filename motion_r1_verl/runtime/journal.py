"""The one resumable JSONL journal: an append-only file of finished rows that a long job resumes from.

One torn-line policy for every journal: :func:`read_journal` keeps every complete row and drops (with a
warning) any line that does not parse or that the caller's ``valid`` rejects: the last line of a job killed
mid-write, or a corrupt one. :class:`Journal` first rewrites the file with the rows to keep (atomically), then
appends; each row is flushed (and fsynced when ``durable``), so a kill loses at most the row being written.

One writer: a :class:`Journal` holds an exclusive lock (``flock`` on ``.<name>.lock`` beside it) from before its
first write until it closes; a second writer of the same path fails at once with a one-line ``UserError``
instead of interleaving rows. One signature: a journal opened with ``signature`` (what its rows depend on:
a checkpoint's fingerprint, the input folder, ...) stores it as its first line, and :func:`resume_rows`
returns the rows only when the stored signature equals the caller's, so a rerun with other inputs starts over
instead of mixing two runs' rows.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from motion_r1_verl.errors import UserError
from motion_r1_verl.runtime.files import publish_file, write_jsonl_atomic

logger = logging.getLogger(__name__)

# The key of a journal's first line when it carries a signature (never a key of a data row).
SIGNATURE_KEY = "__journal_signature__"


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
            if isinstance(row, dict) and SIGNATURE_KEY in row:
                continue
            if not isinstance(row, dict) or not raw.endswith(b"\n") or not valid(row):
                logger.warning("%s:%d: incomplete or unreadable row (an interrupted write?), redoing it", path, number)
                continue
            rows.append(row)
    return rows


def read_signature(path: str | os.PathLike) -> dict[str, Any] | None:
    """The signature stored on the first line of the journal ``path``; None when there is none."""
    try:
        with Path(path).open("rb") as handle:
            first = json.loads(handle.readline())
    except (OSError, ValueError):
        return None
    return first.get(SIGNATURE_KEY) if isinstance(first, dict) else None


def resume_rows(
    path: str | os.PathLike, signature: dict[str, Any], valid: Callable[[dict], bool] = lambda row: True
) -> list[dict[str, Any]]:
    """The rows of an interrupted journal written with the same ``signature``; none (with a warning naming
    what changed) when it was written for other inputs or without a signature."""
    path = Path(path)
    if not path.is_file():
        return []
    stored = read_signature(path)
    if stored != json.loads(json.dumps(signature)):
        changed = sorted(k for k in {*signature, *(stored or {})} if (stored or {}).get(k) != signature.get(k))
        logger.warning("%s was written for other inputs (%s differ): starting over", path, ", ".join(changed))
        return []
    return read_journal(path, valid)


def lock_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def exclusive(path: str | os.PathLike):
    """Hold the writer lock of ``path`` for the block; ``UserError`` at once when another process holds it."""
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    handle = lock.open("a")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                f"{path} is being written by another process (it holds {lock}); wait for it to finish "
                "or write to another output"
            ) from None
        yield
    finally:
        handle.close()  # releases the lock; the empty lock file stays (removing it would race a waiting writer)


class Journal:
    """Append-only JSONL at ``path`` that starts as exactly ``rows`` (after its ``signature``, when given),
    written by this process alone (see the module docstring)."""

    def __init__(
        self,
        path: str | os.PathLike,
        rows: Iterable[dict[str, Any]] = (),
        *,
        durable: bool = False,
        signature: dict[str, Any] | None = None,
    ):
        self.path = Path(path)
        self.durable = durable
        self._lock = exclusive(self.path)
        self._lock.__enter__()
        try:
            header = [{SIGNATURE_KEY: signature}] if signature is not None else []
            write_jsonl_atomic(self.path, [*header, *rows], durable=durable)
            self._handle = self.path.open("a", encoding="utf-8")
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise

    def append(self, *rows: dict[str, Any]) -> None:
        """Write ``rows`` as one flushed (and, when durable, fsynced) block."""
        self._handle.write("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
        self._handle.flush()
        if self.durable:
            os.fsync(self._handle.fileno())

    def publish(self, target: str | os.PathLike) -> Path:
        """Close the journal and rename it, whole, to ``target`` (signature line dropped) while still holding
        the lock, so no other writer can start on it in between; returns ``target``."""
        self._handle.close()
        try:
            if read_signature(self.path) is not None:
                write_jsonl_atomic(self.path, read_journal(self.path), durable=self.durable)
            return publish_file(self.path, target, durable=self.durable)
        finally:
            self._lock.__exit__(None, None, None)

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()
            self._lock.__exit__(None, None, None)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
