"""Encode a HumanML3D-format folder into ``codes.jsonl`` (one ``{"id": ..., "codes": [...]}`` per clip).

Which clips: every id of the split files (default: all of train/val/test/test_heldout that exist),
read with the standard reader (clips of 40..199 frames cut to 196, caption crops expanded into their own
``id@s-e`` clips, so rows join with the CoT data by id). Lengths are trimmed to a multiple of 4 frames
(``MotionCodec`` ``tail="trim"``).

Resumable and atomic: rows are appended (and fsynced) to ``OUT.partial`` batch by batch, a journal
(:mod:`motion_r1_verl.runtime.journal`) signed with the codec's fingerprint, the data folder and the splits;
a rerun with the same three reads the ids already there (a torn last line is dropped) and encodes only the
rest, a rerun with any other starts over, and ``overwrite=True`` always starts over. One writer at a time:
a second encoding into the same ``OUT`` fails at once. The finished file is renamed to ``OUT``; a finished
``OUT`` is never overwritten unless ``overwrite=True``, and never by an encoding without a single clip.

Run: ``motion-r1 vq encode --data DIR --ckpt runs/vq --out codes.jsonl``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.humanml3d import SPLITS, MotionClip, load_split
from motion_r1_verl.runtime.journal import Journal, resume_rows
from motion_r1_verl.vq.codec import MotionCodec

logger = logging.getLogger(__name__)

# Clips per flush of the partial file (and per codec call).
CHUNK = 256


@dataclass
class EncodeReport:
    """What an encoding run did."""

    out: Path
    n_written: int
    """Rows written by this call."""
    n_resumed: int
    """Rows found in the partial file of an interrupted run and kept."""
    n_skipped: int
    """Clips the reader skipped (bad file, out-of-range length), with reasons in the log."""


def encode_dataset(
    data_dir: str | os.PathLike,
    codec: MotionCodec,
    out: str | os.PathLike,
    splits: tuple[str, ...] | None = None,
    *,
    overwrite: bool = False,
    progress: bool = True,
) -> EncodeReport:
    """Write ``out`` (codes.jsonl) for the clips of ``splits`` of ``data_dir`` (see module docstring)."""
    data_dir, out = Path(data_dir), Path(out)
    if out.exists() and not overwrite:
        raise UserError(
            f"{out} already exists (a finished encoding); pass overwrite=True to redo it", mentions=("overwrite",)
        )
    # A split path that exists but is not a file is named by the reader, not skipped.
    chosen = splits if splits is not None else tuple(s for s in SPLITS if (data_dir / f"{s}.txt").exists())
    if not chosen:
        raise UserError(f"{data_dir}: no split files ({', '.join(f'{s}.txt' for s in SPLITS)})")
    clips: dict[str, MotionClip] = {}
    n_skipped = 0
    for split in chosen:
        split_clips, report = load_split(data_dir, split)
        n_skipped += len(report.skipped)
        for clip in split_clips:
            clips.setdefault(clip.id, clip)
    if not clips:
        raise UserError(
            f"{data_dir}: no readable clip in {', '.join(f'{s}.txt' for s in chosen)} ({n_skipped} skipped: "
            f"see the warnings above); nothing written{f', {out} kept' if out.exists() else ''}"
        )
    partial = out.with_name(out.name + ".partial")
    out.parent.mkdir(parents=True, exist_ok=True)
    signature = {"codec": codec.fingerprint(), "data": str(data_dir.resolve()), "splits": list(chosen)}
    valid = lambda row: "id" in row and isinstance(row.get("codes"), list)  # noqa: E731
    kept = [] if overwrite else resume_rows(partial, signature, valid)
    done = {str(row["id"]) for row in kept}
    n_resumed = len(done)
    todo = [c for cid, c in clips.items() if cid not in done]
    if n_resumed:
        logger.info("%s: resuming, %d rows already encoded, %d to go", partial, n_resumed, len(todo))
    n_written = 0
    with (
        Journal(partial, kept, durable=True, signature=signature) as journal,
        tqdm(total=len(clips), initial=len(clips) - len(todo), desc="vq encode", disable=not progress) as bar,
    ):
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start : start + CHUNK]
            codes = codec.encode([c.features for c in chunk])
            journal.append(*({"id": c.id, "codes": k.tolist()} for c, k in zip(chunk, codes, strict=True)))
            n_written += len(chunk)
            bar.update(len(chunk))
        journal.publish(out)
    return EncodeReport(out=out, n_written=n_written, n_resumed=n_resumed, n_skipped=n_skipped)
