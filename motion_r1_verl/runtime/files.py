"""Atomic writes: a reader sees the old file or the new one, never half of one.

Every writer makes a hidden temp file beside its target (``.<name>.<random><suffix>``: same folder, so the final
``os.replace`` is one rename on one file system; the target's suffix kept, so writers that pick a format from
the name, or append one when it is missing, such as ``np.save``, ``imageio`` or ``pyarrow``, write what the target
needs), then renames it over the target. A failure anywhere removes the temp and leaves the target as it was.

One permission policy: ``mkstemp``/``mkdtemp`` create owner-only entries (0600/0700); every file and folder written
here ends as ``FILE_MODE``/``DIR_MODE``, what ``open()`` and ``np.save`` give under the usual umask 022, so the
outputs of one stage read the same for whoever runs the next.

``durable=True`` also fsyncs the data and the folder entry of the rename, so the new content survives a power
loss or a kernel crash, not just a killed process. It costs a disk flush per write: use it where a crash would
lose work that cannot be recomputed cheaply (journals, checkpoints, caches of paid API calls), not for outputs a
rerun rebuilds in seconds.

    write_json_atomic(out / "summary.json", summary)
    atomic_write(out / "clip.mp4", lambda tmp: writer.save(tmp))          # the temp ends in .mp4 too
    with atomic_dir(out / "checkpoint", durable=True) as tmp:              # swapped in when the block ends
        save_file(tensors, str(tmp / "model.safetensors"))
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

# What open()/np.save/mkdir give under umask 022: written data is meant to be read by whoever runs the next stage
# (a shared machine, a container running as another user), and mkstemp's 0600 would hide it from them.
FILE_MODE = 0o644
DIR_MODE = 0o755


def _fsync_path(path: Path) -> None:
    """Flush a file's data, or a folder's entries (a rename in it), to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_prefix(path: Path) -> str:
    """Temp files of ``path`` carry the writer's pid, so a later writer can tell a dead writer's leftovers."""
    return f".{path.name}.tmp{os.getpid()}."


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Remove the temp files that writers of ``path`` killed mid-write (kill -9, power loss) left beside it:
    those whose pid no longer runs. A live writer's temp is never touched. Returns what was removed."""
    path = Path(path)
    removed = []
    for candidate in path.parent.glob(f".{glob_escape(path.name)}.tmp*"):
        pid_text = candidate.name[len(f".{path.name}.tmp") :].split(".", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _pid_alive(int(pid_text)):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None], *, durable: bool = False) -> Path:
    """Call ``write(tmp)`` on a hidden temp file beside ``path``, then rename it to ``path``; returns ``path``.

    ``tmp`` exists (empty) and ends in ``path``'s suffix; ``write`` may reopen and truncate it, or hand it to a
    library that writes by name. The parent folder is created. On any exception (``KeyboardInterrupt`` too) the
    temp is removed, ``path`` is untouched and the exception propagates.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path), suffix=path.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        publish_file(tmp, path, durable=durable)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def publish_file(src: str | os.PathLike, target: str | os.PathLike, *, durable: bool = False) -> Path:
    """Rename the finished file ``src`` to ``target`` in one step, with ``FILE_MODE``; returns ``target``.

    For a file that was complete before it got its final name, written in ``target``'s folder (a journal
    appended row by row, then published whole). ``durable`` fsyncs its data before and the folder after.
    """
    target = Path(target)
    os.chmod(src, FILE_MODE)
    if durable:
        _fsync_path(Path(src))
    os.replace(src, target)
    if durable:
        _fsync_path(target.parent)
    return target


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, durable: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data), durable=durable)


def write_text_atomic(path: str | os.PathLike, text: str, *, durable: bool = False) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically (no newline translation)."""
    return write_bytes_atomic(path, text.encode("utf-8"), durable=durable)


def write_json_atomic(path: str | os.PathLike, payload: Any, indent: int | None = 2, *, durable: bool = False) -> Path:
    """``payload`` as JSON (UTF-8, ending in a newline) to ``path`` atomically."""
    return write_text_atomic(path, json.dumps(payload, indent=indent) + "\n", durable=durable)


def write_jsonl_atomic(path: str | os.PathLike, rows: Iterable[Any], *, durable: bool = False) -> Path:
    """One JSON line per row (non-ASCII kept as is) to ``path`` atomically."""
    return write_text_atomic(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), durable=durable)


def save_npy_atomic(path: str | os.PathLike, array: np.ndarray, *, durable: bool = False) -> Path:
    """``np.save(array, allow_pickle=False)`` to ``path`` atomically (as given: no ``.npy`` appended)."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, array, allow_pickle=False)

    return atomic_write(path, write, durable=durable)


def _share_tree(root: Path, durable: bool) -> None:
    """``DIR_MODE``/``FILE_MODE`` on ``root`` and everything in it (symlinks left alone); fsync it all if durable."""
    for folder, dirs, files in os.walk(root, topdown=False):
        here = Path(folder)
        for name in files:
            file = here / name
            if file.is_symlink():
                continue
            os.chmod(file, FILE_MODE)
            if durable:
                _fsync_path(file)
        for name in dirs:
            if not (here / name).is_symlink():
                os.chmod(here / name, DIR_MODE)
        if durable:
            _fsync_path(here)
    os.chmod(root, DIR_MODE)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_dir(
    target: str | os.PathLike, *, durable: bool = False, aside: str | os.PathLike | None = None
) -> Iterator[Path]:
    """Yield a hidden temp folder beside ``target``; when the block ends, swap it in as ``target``.

    Fill the yielded folder inside the ``with`` block. On success every entry gets ``DIR_MODE``/``FILE_MODE``,
    an existing ``target`` is renamed aside (to ``aside``, default a hidden sibling), the temp folder is renamed
    to ``target`` and the old one is removed: two renames, so a reader never sees a mix of two versions, and the
    only window without ``target`` is between them (a crash there leaves the old folder at ``aside``, which
    :func:`recover_dir` puts back). On any exception the temp folder is removed, ``target`` is untouched and the
    exception propagates.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    old = Path(aside) if aside is not None else target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
    moved = False
    try:
        yield tmp
        _share_tree(tmp, durable)
        if target.exists() or target.is_symlink():
            os.replace(target, old)
            moved = True
        os.replace(tmp, target)
    except BaseException:
        if moved and not target.exists():
            os.replace(old, target)  # the second rename failed: put the old folder back
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if durable:
        _fsync_path(target.parent)
    if moved:
        _remove(old)


def recover_dir(target: str | os.PathLike, aside: str | os.PathLike) -> None:
    """Finish an :func:`atomic_dir` swap into ``target`` that a crash cut short, given its ``aside`` path.

    Between the two renames only the old folder exists, at ``aside``: it becomes ``target`` again. After the
    second one both exist, and ``aside`` (the old version) is removed.
    """
    target, aside = Path(target), Path(aside)
    if aside.is_dir() and not target.exists():
        os.replace(aside, target)
    elif aside.is_dir():
        shutil.rmtree(aside)


def load_npy(path: str | os.PathLike) -> np.ndarray:
    """``np.load`` without pickle, of a file whose header agrees with its size; raise ``ValueError``
    (reason only) for missing, empty, unreadable, object-typed or truncated files.

    The header is checked before any data is read: a few-KB file whose header claims 10^9 frames would
    otherwise make numpy allocate (and fail on) the whole claimed array.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError("missing file")
    size = path.stat().st_size
    if size == 0:
        raise ValueError("empty file (0 bytes)")
    try:
        with path.open("rb") as handle:
            major, _minor = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, _fortran, dtype = read_header(handle)
            offset = handle.tell()
    except (ValueError, OSError, EOFError, SyntaxError) as err:
        raise ValueError(f"not a readable .npy array ({err})") from None
    if dtype.hasobject:
        raise ValueError(f"dtype {dtype} holds Python objects, expected numbers")
    claimed = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize if shape else dtype.itemsize
    if claimed != size - offset:
        raise ValueError(f"header claims shape {shape} of {dtype} ({claimed} bytes) but the file holds {size - offset}")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"not a readable .npy array ({err})") from None
    if not isinstance(array, np.ndarray):
        raise ValueError(f"holds {type(array).__name__}, expected a single .npy array")
    return array
