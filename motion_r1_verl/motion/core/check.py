"""Validate a HumanML3D-format folder and list every problem, not just the first.

Why: the reader skips bad clips (and says so), but a person preparing or importing a dataset wants
the full list up front: which files have the wrong shape, NaN/inf, no captions, bad caption lines,
which split ids have no files, whether Mean/Std fit. ``motion-r1 data check DIR`` prints this list.

What counts as a problem (each one a line ``<relative path>: <reason>``):
- ``new_joint_vecs/*.npy``: unreadable/empty, not (T,263), NaN/inf; no matching ``texts/*.txt``.
- ``new_joints/*.npy`` (optional folder): not (T,22,3), NaN/inf, frame count differs from features.
- ``texts/*.txt``: not UTF-8, no lines, each bad line (with its number), a crop starting past the
  clip's end, a caption file without features.
- split files (train/val/test/test_heldout/all/train_val ``.txt``): not UTF-8, duplicate ids, ids
  without a features file; the same id in two of train/val/test/test_heldout.
- ``Mean.npy``/``Std.npy``: missing, not (263,), NaN/inf, Std <= 0.
Clips outside 40..199 frames are not problems (the reader filters them); they are counted in the
summary.

Usage::

    result = check_folder("data/hml")
    for problem in result.problems:
        print(problem)
    print(result.summary())
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.constants import FEATURE_DIM, FPS, LENGTH_LIMIT, MIN_FRAMES
from motion_r1_verl.motion.core.humanml3d import (
    FEATURES_DIR,
    JOINTS_DIR,
    TEXTS_DIR,
    check_motion_array,
    is_plain_id,
    read_caption_file,
)
from motion_r1_verl.runtime.files import load_npy

# Split files we know; the first four must not share ids (all/train_val are unions by design).
DISJOINT_SPLITS = ("train", "val", "test", "test_heldout")
UNION_SPLITS = ("all", "train_val")
STATS_FILES = ("Mean.npy", "Std.npy")


@dataclass(frozen=True)
class Problem:
    """One bad file or line: ``path`` relative to the checked folder, ``reason`` what is wrong."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class CheckResult:
    """Everything ``check_folder`` found. ``n_clips``: feature files looked at; ``n_out_of_range``:
    readable clips outside ``MIN_FRAMES <= T < LENGTH_LIMIT`` (filtered by the reader, not a problem)."""

    root: Path
    problems: list[Problem] = field(default_factory=list)
    n_clips: int = 0
    n_out_of_range: int = 0
    splits: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, path: str, reason: str) -> None:
        self.problems.append(Problem(path, reason))

    def summary(self) -> str:
        split_text = ", ".join(f"{name} {n}" for name, n in self.splits.items()) or "no split files"
        head = (
            f"{self.root}: {self.n_clips} clips ({split_text}); "
            f"{self.n_out_of_range} outside {MIN_FRAMES}..{LENGTH_LIMIT - 1} frames (the reader skips them)"
        )
        if self.ok:
            return f"OK {head}"
        n_files = len({p.path for p in self.problems})
        return f"FAILED {head}; {len(self.problems)} problems in {n_files} files"


def check_folder(root: str | os.PathLike, *, progress: bool = False) -> CheckResult:
    """Check every file of a HumanML3D-format folder; raise ``UserError`` only if ``root`` is no folder."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"motion folder {root} not found")
    result = CheckResult(root=root)
    lengths = _check_features(root, result, progress)
    _check_joints(root, result, lengths)
    _check_texts(root, result, lengths)
    _check_splits(root, result, set(lengths) | _unreadable_feature_ids(root, lengths))
    _check_stats(root, result)
    return result


def _unreadable_feature_ids(root: Path, lengths: dict[str, int]) -> set[str]:
    """Ids whose features file exists but is bad (already reported; not again as 'missing')."""
    folder = root / FEATURES_DIR
    if not folder.is_dir():
        return set()
    return {p.stem for p in folder.glob("*.npy")} - set(lengths)


def _check_features(root: Path, result: CheckResult, progress: bool) -> dict[str, int]:
    """Validate every features file; return id -> frame count for the readable ones."""
    folder = root / FEATURES_DIR
    if not folder.is_dir():
        result.add(FEATURES_DIR + "/", "missing folder (expected <id>.npy feature files of shape (T, 263))")
        return {}
    lengths: dict[str, int] = {}
    files = sorted(folder.glob("*.npy"))
    if not files:
        result.add(FEATURES_DIR + "/", "no .npy feature files")
    for path in tqdm(files, desc="features", unit="file", disable=not progress):
        rel = f"{FEATURES_DIR}/{path.name}"
        result.n_clips += 1
        try:
            features = check_motion_array(load_npy(path), "features")
        except ValueError as err:
            result.add(rel, str(err))
            continue
        lengths[path.stem] = features.shape[0]
        if not MIN_FRAMES <= features.shape[0] < LENGTH_LIMIT:
            result.n_out_of_range += 1
        if not (root / TEXTS_DIR / f"{path.stem}.txt").is_file():
            result.add(rel, f"missing text: no {TEXTS_DIR}/{path.stem}.txt")
    return lengths


def _check_joints(root: Path, result: CheckResult, lengths: dict[str, int]) -> None:
    folder = root / JOINTS_DIR
    if not folder.is_dir():
        return  # optional
    for path in sorted(folder.glob("*.npy")):
        rel = f"{JOINTS_DIR}/{path.name}"
        try:
            joints = check_motion_array(load_npy(path), "joints")
        except ValueError as err:
            result.add(rel, str(err))
            continue
        n_features = lengths.get(path.stem)
        if n_features is not None and joints.shape[0] != n_features:
            result.add(rel, f"{joints.shape[0]} frames but {FEATURES_DIR}/{path.name} has {n_features}")


def _check_texts(root: Path, result: CheckResult, lengths: dict[str, int]) -> None:
    folder = root / TEXTS_DIR
    if not folder.is_dir():
        result.add(TEXTS_DIR + "/", "missing folder (expected <id>.txt caption files)")
        return
    feature_ids = {p.stem for p in (root / FEATURES_DIR).glob("*.npy")} if (root / FEATURES_DIR).is_dir() else set()
    for path in sorted(folder.glob("*.txt")):
        rel = f"{TEXTS_DIR}/{path.name}"
        if path.stem not in feature_ids:
            result.add(rel, f"caption file without features ({FEATURES_DIR}/{path.stem}.npy missing)")
        try:
            captions, bad_lines = read_caption_file(path)
        except ValueError as err:
            result.add(rel, str(err))
            continue
        for number, reason in bad_lines:
            result.add(rel, f"bad line {number}: {reason}")
        n_frames = lengths.get(path.stem)
        if n_frames is None:
            continue
        for caption in captions:
            if not caption.is_whole and int(caption.start * FPS) >= n_frames:
                result.add(
                    rel,
                    f"crop {caption.start:g}-{caption.end:g}s starts after the clip ends ({n_frames} frames)",
                )


def _check_splits(root: Path, result: CheckResult, feature_ids: set[str]) -> None:
    owners: dict[str, str] = {}
    for split in DISJOINT_SPLITS + UNION_SPLITS:
        path = root / f"{split}.txt"
        rel = path.name
        if path.exists() and not path.is_file():
            result.add(rel, "is not a regular file (expected one id per line)")
            continue
        if not path.is_file():
            continue
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as err:
            result.add(rel, f"not UTF-8 text (bad byte at offset {err.start})")
            continue
        ids = [line.strip() for line in text.splitlines() if line.strip()]
        result.splits[split] = len(ids)
        seen: set[str] = set()
        for clip_id in ids:
            if clip_id in seen:
                result.add(rel, f"duplicate id {clip_id}")
                continue
            seen.add(clip_id)
            if not is_plain_id(clip_id):
                result.add(rel, f"id {clip_id!r} is not a plain file name (no '/', '\\', '.' or '..')")
                continue
            if clip_id not in feature_ids:
                result.add(rel, f"id {clip_id} has no {FEATURES_DIR}/{clip_id}.npy")
            if split in DISJOINT_SPLITS:
                other = owners.setdefault(clip_id, split)
                if other != split:
                    result.add(rel, f"id {clip_id} is also in {other}.txt (splits must not overlap)")
    if not any(s in result.splits for s in DISJOINT_SPLITS):
        result.add("train.txt", "no split files (expected train.txt/val.txt/test.txt, one id per line)")


def _check_stats(root: Path, result: CheckResult) -> None:
    for name in STATS_FILES:
        try:
            stats = load_npy(root / name)
        except ValueError as err:
            result.add(name, f"{err} (expected ({FEATURE_DIM},) normalisation statistics computed on train)")
            continue
        if stats.shape != (FEATURE_DIM,):
            result.add(name, f"shape {tuple(stats.shape)}, expected ({FEATURE_DIM},)")
            continue
        if not np.issubdtype(stats.dtype, np.number) or not np.isfinite(stats).all():
            result.add(name, "NaN/inf or non-numeric values")
            continue
        if name == "Std.npy" and (stats <= 0).any():
            bad = np.nonzero(stats <= 0)[0]
            reason = f"{len(bad)} dimension(s) with std <= 0 (first: {int(bad[0])}); normalising would divide by 0"
            result.add(name, reason)
