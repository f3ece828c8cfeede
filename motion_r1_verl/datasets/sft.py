"""Triplets -> verl SFT parquet: one ``messages`` column (system, user, assistant).

``verl.trainer.sft_trainer`` (``MultiTurnSFTDataset``) applies the model's chat template to each turn
and puts the loss on assistant turns only. The assistant turn is
``<think>CoT</think><output>plan</output><Motion><Motion_i>...</Motion>``.

Paraphrases: a clip usually has several captions (several CoT rows with the same id). By default
every caption is a row; ``captions_per_clip`` samples at most that many per clip. The validation split
is made by CLIP, so paraphrases of one motion never sit on both sides.

Run: ``motion-r1 build-sft --cot runs/cot.jsonl --codes runs/codes.jsonl --out runs/sft``
"""

import logging
import os
import random
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from motion_r1_verl.datasets.prompts import SYSTEM_PROMPT, user_prompt
from motion_r1_verl.datasets.triplets import Triplet
from motion_r1_verl.errors import UserError
from motion_r1_verl.response_format import format_response

logger = logging.getLogger(__name__)

TRAIN_FILE, VAL_FILE = "train.parquet", "val.parquet"


def chat_prompt(caption: str, system_prompt: str = SYSTEM_PROMPT) -> list[dict[str, str]]:
    """The prompt turns (system, user) for a caption; the RL builder uses the same ones."""
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": user_prompt(caption)}]


def sft_messages(triplet: Triplet, system_prompt: str = SYSTEM_PROMPT, with_output: bool = True) -> list[dict]:
    """The full conversation for one triplet."""
    response = format_response(triplet.think, triplet.plan, triplet.codes, with_output=with_output)
    return [*chat_prompt(triplet.caption, system_prompt), {"role": "assistant", "content": response}]


@dataclass
class SFTBuildConfig:
    """How triplets become SFT rows.

    Fields:
        captions_per_clip: at most this many captions (rows) per clip; None keeps all paraphrases.
        val_fraction: fraction of CLIPS held out into ``val.parquet`` (0 writes no val file).
        with_output: include the ``<output>plan</output>`` block (Motion-R1 does).
        system_prompt: system turn of every row.
        seed: caption sampling and split seed.
    """

    captions_per_clip: int | None = None
    val_fraction: float = 0.0
    with_output: bool = True
    system_prompt: str = SYSTEM_PROMPT
    seed: int = 0

    def __post_init__(self) -> None:
        if self.captions_per_clip is not None and self.captions_per_clip < 1:
            raise UserError(f"--captions-per-clip must be >= 1 (or omitted for all), got {self.captions_per_clip}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise UserError(f"--val-fraction must be in [0, 1), got {self.val_fraction}")


def split_rows(triplets: Sequence[Triplet], config: SFTBuildConfig) -> tuple[list[dict], list[dict]]:
    """(train rows, val rows), each row ``{"messages": [...], "id": clip_id}``."""
    rng = random.Random(config.seed)
    by_clip: dict[str, list[Triplet]] = defaultdict(list)
    for triplet in triplets:
        by_clip[triplet.id].append(triplet)
    clip_ids = sorted(by_clip)
    rng.shuffle(clip_ids)
    n_val = int(round(len(clip_ids) * config.val_fraction))
    if config.val_fraction > 0 and n_val == 0 and len(clip_ids) > 1:
        n_val = 1
    val_ids = set(clip_ids[:n_val])
    train, val = [], []
    for clip_id in sorted(by_clip):
        chosen = by_clip[clip_id]
        if config.captions_per_clip is not None and len(chosen) > config.captions_per_clip:
            chosen = rng.sample(chosen, config.captions_per_clip)
        rows = [{"messages": sft_messages(t, config.system_prompt, config.with_output), "id": clip_id} for t in chosen]
        (val if clip_id in val_ids else train).extend(rows)
    return train, val


def write_parquet(rows: list[dict], path: str | Path) -> Path:
    """Write rows atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pd.DataFrame(rows).to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def build_sft_dataset(triplets: Sequence[Triplet], out_dir: str | Path, config: SFTBuildConfig) -> dict[str, int]:
    """Write ``out_dir/train.parquet`` (and ``val.parquet``); returns row counts per split."""
    if not triplets:
        raise UserError("no triplets to build the SFT dataset from (see the join report for skipped rows)")
    train, val = split_rows(triplets, config)
    if not train:
        raise UserError("every clip went to validation; lower --val-fraction")
    out_dir = Path(out_dir)
    write_parquet(train, out_dir / TRAIN_FILE)
    counts = {"train": len(train)}
    if val:
        write_parquet(val, out_dir / VAL_FILE)
        counts["val"] = len(val)
    logger.info("SFT dataset %s: %s", out_dir, counts)
    return counts
