"""Read a folder of generated motions for evaluation.

Layout: ``GEN_DIR/<id>.npy`` (T, 263) features for each clip id of the split, or several samples
``GEN_DIR/<id>_<k>.npy`` (k = 0, 1, ...) for MultiModality. Optional ``GEN_DIR/captions.jsonl`` rows
``{"id": ..., "caption": ...}`` name the caption each motion was generated from; otherwise the clip's first
caption is assumed. Every problem (missing id, wrong shape, NaN) is collected and reported together.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.constants import FEATURE_DIM
from motion_r1_verl.runtime.files import load_npy

CAPTIONS_FILE = "captions.jsonl"
MAX_LISTED = 5  # problems named in the error message


@dataclass
class GeneratedMotions:
    samples: dict[str, list[np.ndarray]]  # clip id -> one or more (T, 263) feature arrays
    captions: dict[str, str]  # clip id -> caption text it was generated from (may be empty)


def _load_array(path: Path, problems: list[str]) -> np.ndarray | None:
    try:
        arr = load_npy(path)
    except ValueError as err:
        problems.append(f"{path.name}: {err}")
        return None
    if arr.ndim != 2 or arr.shape[1] != FEATURE_DIM or len(arr) == 0:
        problems.append(f"{path.name}: shape {arr.shape}, expected (T>0, {FEATURE_DIM})")
        return None
    if not np.isfinite(arr).all():
        problems.append(f"{path.name}: contains NaN or inf")
        return None
    return arr.astype(np.float32)


def load_generated(gen_dir: str | Path, ids: list[str]) -> GeneratedMotions:
    """Samples for every id in ``ids``; a UserError lists what is missing or malformed."""
    gen_dir = Path(gen_dir)
    if not gen_dir.is_dir():
        raise UserError(f"generated-motion folder {gen_dir} not found")
    by_id: dict[str, list[tuple[int, Path]]] = {}
    wanted = set(ids)
    for path in gen_dir.glob("*.npy"):
        stem = path.stem
        if stem in wanted:
            by_id.setdefault(stem, []).append((-1, path))
            continue
        match = re.fullmatch(r"(.+)_(\d+)", stem)
        if match and match.group(1) in wanted:
            by_id.setdefault(match.group(1), []).append((int(match.group(2)), path))
    problems = [f"{i}: no {i}.npy or {i}_<k>.npy" for i in ids if i not in by_id]
    samples: dict[str, list[np.ndarray]] = {}
    for clip_id in ids:
        arrays = [_load_array(p, problems) for _, p in sorted(by_id.get(clip_id, []))]
        samples[clip_id] = [a for a in arrays if a is not None]
    if problems:
        shown = "; ".join(problems[:MAX_LISTED])
        more = f" (and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""
        raise UserError(f"{gen_dir}: {len(problems)} problem(s) with generated motions: {shown}{more}")
    return GeneratedMotions(samples, _load_captions(gen_dir / CAPTIONS_FILE, wanted))


def _load_captions(path: Path, wanted: set[str]) -> dict[str, str]:
    if not path.is_file():
        return {}
    captions = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            clip_id, caption = str(row["id"]), str(row["caption"])
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise UserError(f"{path}:{n}: expected {{'id': ..., 'caption': ...}} ({err})") from err
        if clip_id in wanted:
            captions[clip_id] = caption
    return captions
