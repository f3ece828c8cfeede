"""What the SFT and RL builders share: choosing captions per clip, holding out clips, writing parquet.

Both builders call ``split_by_clip`` with the same config fields and seed, so SFT and RL hold out the
same clips; paraphrases of one clip never straddle the split.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from motion_r1_verl.datasets.triplets import Triplet
from motion_r1_verl.errors import UserError, field_error
from motion_r1_verl.protocol import SYSTEM_PROMPT
from motion_r1_verl.runtime.files import atomic_write

logger = logging.getLogger(__name__)

TRAIN_FILE = "train.parquet"
VAL_FILE = "val.parquet"
SPLITS = ("train", "val")


@dataclass
class SplitConfig:
    """How triplets become rows (fields shared by the SFT and RL builders).

    Fields:
        captions_per_clip: at most this many captions (rows) per clip; None keeps every paraphrase.
        val_fraction: fraction of CLIPS held out into ``val.parquet`` (0 writes no val file).
        system_prompt: system turn of every row (SFT and RL must use the same one).
        seed: caption sampling and split seed.
        val_ids: clips held out BY NAME (e.g. the dataset's own val split); replaces ``val_fraction``.
        val_captions_per_clip: captions per held-out clip (None: as ``captions_per_clip``); 1 gives a small,
            fixed validation set whose every prompt is a different motion.
    """

    captions_per_clip: int | None = None
    val_fraction: float = 0.0
    system_prompt: str = SYSTEM_PROMPT
    seed: int = 0
    val_ids: frozenset[str] | None = None
    val_captions_per_clip: int | None = None

    def __post_init__(self) -> None:
        if self.captions_per_clip is not None and self.captions_per_clip < 1:
            raise field_error("captions_per_clip", f"must be >= 1 (or omitted for all), got {self.captions_per_clip}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise field_error("val_fraction", f"must be in [0, 1), got {self.val_fraction}")
        if self.val_ids is not None and self.val_fraction > 0:
            raise UserError("give either val_ids or val_fraction, not both", mentions=("val_ids", "val_fraction"))
        if self.val_captions_per_clip is not None and self.val_captions_per_clip < 1:
            raise field_error("val_captions_per_clip", f"must be >= 1, got {self.val_captions_per_clip}")


def split_by_clip(triplets: Sequence[Triplet], config: SplitConfig) -> dict[str, list[Triplet]]:
    """``{"train": [...], "val": [...]}``: clips shuffled with ``config.seed``, whole clips held out."""
    rng = random.Random(config.seed)
    by_clip: dict[str, list[Triplet]] = defaultdict(list)
    for triplet in triplets:
        by_clip[triplet.id].append(triplet)
    clip_ids = sorted(by_clip)
    rng.shuffle(clip_ids)
    if config.val_ids is not None:
        val_ids = set(config.val_ids)
    else:
        n_val = int(round(len(clip_ids) * config.val_fraction))
        if config.val_fraction > 0 and n_val == 0 and len(clip_ids) > 1:
            n_val = 1
        val_ids = set(clip_ids[:n_val])
    chosen_by_split: dict[str, list[Triplet]] = {split: [] for split in SPLITS}
    for clip_id in sorted(by_clip):
        chosen = by_clip[clip_id]
        split = "val" if clip_id in val_ids else "train"
        keep = config.captions_per_clip
        if split == "val" and config.val_captions_per_clip is not None:
            keep = config.val_captions_per_clip
        if keep is not None and len(chosen) > keep:
            chosen = rng.sample(chosen, keep)
        chosen_by_split[split].extend(chosen)
    return chosen_by_split


def write_parquet(rows: list[dict], path: str | Path) -> Path:
    """Write rows atomically (a hidden ``.parquet`` temp file in the same folder, then rename)."""
    return atomic_write(path, lambda tmp: pd.DataFrame(rows).to_parquet(tmp, index=False))


def build_parquet_splits(
    triplets: Sequence[Triplet],
    out_dir: str | Path,
    config: SplitConfig,
    make_rows: Callable[[str, list[Triplet]], list[dict]],
    kind: str,
) -> dict[str, int]:
    """Split, turn each split's triplets into rows with ``make_rows(split, triplets)``, write the parquet
    files; returns row counts per split. ``kind`` names the dataset in messages ("SFT", "RL")."""
    if not triplets:
        raise UserError(f"no triplets to build the {kind} dataset from (see the join report for skipped rows)")
    chosen = split_by_clip(triplets, config)
    rows = {split: make_rows(split, chosen[split]) for split in SPLITS}
    if not rows["train"]:
        raise UserError("every clip went to validation; lower val_fraction", mentions=("val_fraction",))
    out_dir = Path(out_dir)
    write_parquet(rows["train"], out_dir / TRAIN_FILE)
    counts = {"train": len(rows["train"])}
    if rows["val"]:
        write_parquet(rows["val"], out_dir / VAL_FILE)
        counts["val"] = len(rows["val"])
    else:
        # A val.parquet of an earlier build would overlap this build's train rows.
        (out_dir / VAL_FILE).unlink(missing_ok=True)
    logger.info("%s dataset %s: %s", kind, out_dir, counts)
    return counts
