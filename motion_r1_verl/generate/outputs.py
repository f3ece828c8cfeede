"""Write generated motions to a folder that people can watch and ``motion-r1 eval`` can read.

Layout of ``OUT`` (``name`` is ``<id>`` for one sample per caption, ``<id>_<k>`` for several)::

    OUT/<name>.npy            (T, 263) float32 features  (= the eval's GEN_DIR layout)
    OUT/joints/<name>.npy     (T, 22, 3) float32 joint positions, metres, y up
    OUT/video/<name>.mp4      stick-figure animation with the caption (or .gif)
    OUT/bvh/<name>.bvh        the motion on the 22-joint skeleton, for Blender & co.
    OUT/results.jsonl         one row per sample: caption, raw text, reasoning, codes, validity, attempts, files
    OUT/captions.jsonl        {"id", "caption"} per caption (the eval uses it to pair motions with text)
    OUT/summary.json          counts and the captions that never gave a valid motion

Re-running into the same folder replaces the rows and files of the ids generated again and keeps the rest, so
a batch can be generated in parts. Stale ``<id>.npy`` / ``<id>_<k>.npy`` of a re-generated id are removed
first (the eval would otherwise mix old and new samples). Every file is written atomically.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from motion_r1_verl.errors import UserError, field_error
from motion_r1_verl.generate.generation import GenerationResult, sample_name
from motion_r1_verl.motion.core.constants import ROOT_SLICE, VEL_SLICE
from motion_r1_verl.motion.outputs.bvh_export import save_joints_as_bvh
from motion_r1_verl.motion.outputs.render import render_animation
from motion_r1_verl.runtime.files import save_npy_atomic, write_jsonl_atomic, write_text_atomic

logger = logging.getLogger(__name__)

RESULTS_FILE = "results.jsonl"
CAPTIONS_FILE = "captions.jsonl"  # read by motion_r1_verl.eval.generated
SUMMARY_FILE = "summary.json"
VIDEO_FORMATS = ("mp4", "gif")


def _save_npy(path: Path, array: np.ndarray) -> None:
    save_npy_atomic(path, np.ascontiguousarray(array, dtype=np.float32))


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise UserError(
                    f"{path}:{n}: not JSON ({err}); move the file away or pick another out_dir", mentions=("out_dir",)
                ) from err
    return rows


def _merge_jsonl(path: Path, new_rows: Sequence[dict], replaced_ids: set[str]) -> None:
    """Rows of ``path`` whose id is not being replaced, then ``new_rows``."""
    kept = [row for row in _read_jsonl(path) if str(row.get("id")) not in replaced_ids]
    write_jsonl_atomic(path, [*kept, *new_rows])


def _remove_stale(out_dir: Path, ids: Iterable[str]) -> None:
    """Delete old ``<id>.npy`` / ``<id>_<k>.npy`` (and their joints/video/bvh) of the ids about to be written."""
    for clip_id in ids:
        pattern = re.compile(re.escape(clip_id) + r"(_\d+)?")
        for sub, suffixes in (("", (".npy",)), ("joints", (".npy",)), ("video", (".mp4", ".gif")), ("bvh", (".bvh",))):
            folder = out_dir / sub
            for suffix in suffixes:
                for path in folder.glob(f"{glob_escape(clip_id)}*{suffix}"):
                    if pattern.fullmatch(path.name[: -len(suffix)]):
                        path.unlink()


def glob_escape(text: str) -> str:
    """Escape glob metacharacters (ids are file-name safe, but ``[`` could still appear in a stem)."""
    return re.sub(r"([*?\[\]])", r"[\1]", text)


def result_row(result: GenerationResult, files: dict[str, str], warnings: list[str]) -> dict:
    """The ``results.jsonl`` row of one sample."""
    return {
        "id": result.id,
        "k": result.k,
        "name": result.name,
        "caption": result.caption,
        "valid": result.valid,
        "reason": result.reason,
        "attempts": result.attempts,
        "failed_attempts": [{"reason": a.reason, "text": a.text} for a in result.failed_attempts],
        "think": result.think,
        "plan": result.plan,
        "format_notes": result.format_notes,
        "codes": [int(c) for c in result.codes],
        "n_frames": result.n_frames,
        "seconds": round(result.seconds, 3),
        "text": result.text,
        "files": files,
        "warnings": warnings,
    }


def write_sample(
    result: GenerationResult, out_dir: Path, video: str | None = "mp4", bvh: bool = True
) -> tuple[dict[str, str], list[str]]:
    """Files of one valid sample (paths relative to ``out_dir``) and warnings for outputs that failed.

    A motion the renderer or the BVH writer rejects (``UserError``: e.g. a degenerate skeleton) loses only
    that file, with a warning; the features and joints are still written.
    """
    files: dict[str, str] = {}
    warnings: list[str] = []
    if not result.valid or result.features is None or result.joints is None:
        return files, warnings
    targets = {"features": Path(f"{result.name}.npy"), "joints": Path("joints") / f"{result.name}.npy"}
    _save_npy(out_dir / targets["features"], result.features)
    _save_npy(out_dir / targets["joints"], result.joints)
    if video is not None:
        targets["video"] = Path("video") / f"{result.name}.{video}"
        try:
            render_animation([result.joints], out_dir / targets["video"], caption=result.caption)
        except UserError as err:
            warnings.append(f"video not written: {err}")
            del targets["video"]
    if bvh:
        targets["bvh"] = Path("bvh") / f"{result.name}.bvh"
        try:
            save_joints_as_bvh(out_dir / targets["bvh"], result.joints)
        except UserError as err:
            warnings.append(f"BVH not written: {err}")
            del targets["bvh"]
    files.update({key: str(path) for key, path in targets.items()})
    return files, warnings


def write_results(
    results: Sequence[GenerationResult],
    out_dir: str | os.PathLike,
    *,
    video: str | None = "mp4",
    bvh: bool = True,
    progress: bool = True,
) -> list[dict]:
    """Write every sample (see module docstring); returns the ``results.jsonl`` rows of ``results``.

    ``video``: ``"mp4"``, ``"gif"`` or None (no animation: rendering is the slow part, ~1 s a clip).
    """
    if video is not None and video not in VIDEO_FORMATS:
        raise field_error("video", f"must be one of {VIDEO_FORMATS} or none, got {video!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ids = list(dict.fromkeys(r.id for r in results))
    _remove_stale(out_dir, ids)
    rows = []
    for result in tqdm(results, desc="write", unit="sample", disable=not progress):
        files, warnings = write_sample(result, out_dir, video, bvh)
        for warning in warnings:
            logger.warning("%s: %s", result.name, warning)
        rows.append(result_row(result, files, warnings))
    replaced = set(ids)
    _merge_jsonl(out_dir / RESULTS_FILE, rows, replaced)
    captions = {r.id: r.caption for r in results}
    _merge_jsonl(out_dir / CAPTIONS_FILE, [{"id": i, "caption": c} for i, c in captions.items()], replaced)
    all_rows = _read_jsonl(out_dir / RESULTS_FILE)
    summary = summarize_rows(all_rows)
    write_text_atomic(out_dir / SUMMARY_FILE, json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    return rows


def completed_ids(out_dir: str | os.PathLike, n: int) -> set[str]:
    """Ids with all ``n`` samples (valid or not, after their retries) in ``out_dir/results.jsonl``."""
    names: dict[str, set[str]] = {}
    for row in _read_jsonl(Path(out_dir) / RESULTS_FILE):
        names.setdefault(str(row.get("id")), set()).add(str(row.get("name")))
    return {i for i, got in names.items() if got == {sample_name(i, k, n) for k in range(n)}}


def summarize_rows(rows: Sequence[dict]) -> dict:
    """Counts over ``results.jsonl`` rows, and the captions none of whose samples is valid."""
    by_id: dict[str, list[dict]] = {}
    for row in rows:
        by_id.setdefault(str(row["id"]), []).append(row)
    failed = [{"id": i, "caption": rs[0]["caption"]} for i, rs in by_id.items() if not any(r["valid"] for r in rs)]
    return {
        "captions": len(by_id),
        "samples": len(rows),
        "valid_samples": sum(bool(r["valid"]) for r in rows),
        "retried_samples": sum(r["attempts"] > 1 for r in rows),
        "captions_without_valid_motion": failed,
    }


def motionless_clip(data_dir: Path, frames: int = 40) -> np.ndarray:
    """The stand-in for a malformed generation: the dataset's mean feature frame, held still."""
    mean = np.load(data_dir / "Mean.npy").astype(np.float32)
    mean[ROOT_SLICE.start : ROOT_SLICE.start + 3] = 0.0  # no root rotation / translation velocity
    mean[VEL_SLICE] = 0.0
    return np.repeat(mean[None], frames, axis=0)


def fill_failed(results: Sequence[GenerationResult], out_dir: str | os.PathLike, data_dir: str | os.PathLike) -> int:
    """Write :func:`motionless_clip` for every sample without a usable motion; returns how many.

    An evaluation then counts those samples against the model in every metric instead of missing them.
    """
    failed = [r for r in results if not r.valid]
    if failed:
        stand_in = motionless_clip(Path(data_dir))
        for result in failed:
            _save_npy(Path(out_dir) / f"{result.name}.npy", stand_in)
    return len(failed)
