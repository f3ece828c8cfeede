"""Triplets -> verl RL parquet for GRPO (``verl.trainer.main_ppo``).

One row per (clip, caption), in verl's RL layout (as ``verl:examples/data_preprocess/gsm8k.py``)::

    {"data_source": "motion_r1",
     "prompt": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": caption}],
     "ability": "motion",
     "reward_model": {"style": "rule", "ground_truth": {"id": clip_id, "codes": [int, ...]}},
     "extra_info": {"split": "train", "index": i, "id": clip_id, "caption": caption}}

The prompt is the SFT prompt (``sft.chat_prompt``, same ``SYSTEM_PROMPT``), so the policy starts GRPO
on exactly the conversation it was fine-tuned on. ``reward_fns.motion_r1`` reads the ground truth
(motion id + codes) and ``extra_info["caption"]``. The validation split is made by clip with the same
rule and seed as the SFT builder, so the same clips are held out in both stages.

Run: ``motion-r1 build-rl --cot runs/cot.jsonl --codes runs/codes.jsonl --out runs/rl``
(or ``--plans runs/synth/plans.jsonl --data runs/synth`` instead of ``--cot``).
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from motion_r1_verl.datasets.prompts import SYSTEM_PROMPT
from motion_r1_verl.datasets.sft import TRAIN_FILE, VAL_FILE, chat_prompt, write_parquet
from motion_r1_verl.datasets.triplets import Triplet
from motion_r1_verl.errors import UserError

logger = logging.getLogger(__name__)

DATA_SOURCE = "motion_r1"
ABILITY = "motion"


@dataclass
class RLBuildConfig:
    """How triplets become RL rows.

    Fields:
        captions_per_clip: at most this many captions (rows) per clip; None keeps every paraphrase.
        val_fraction: fraction of CLIPS held out into ``val.parquet`` (0 writes no val file); the same rule
            and seed as ``SFTBuildConfig`` hold out the same clips.
        system_prompt: system turn of every prompt (keep the SFT one).
        seed: caption sampling and split seed.
    """

    captions_per_clip: int | None = None
    val_fraction: float = 0.0
    system_prompt: str = SYSTEM_PROMPT
    seed: int = 0

    def __post_init__(self) -> None:
        if self.captions_per_clip is not None and self.captions_per_clip < 1:
            raise UserError(f"--captions-per-clip must be >= 1 (or omitted for all), got {self.captions_per_clip}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise UserError(f"--val-fraction must be in [0, 1), got {self.val_fraction}")


def rl_row(triplet: Triplet, split: str, index: int, system_prompt: str = SYSTEM_PROMPT) -> dict:
    """One verl RL row for a triplet (the CoT text is not used: the policy writes its own)."""
    return {
        "data_source": DATA_SOURCE,
        "prompt": chat_prompt(triplet.caption, system_prompt),
        "ability": ABILITY,
        "reward_model": {"style": "rule", "ground_truth": {"id": triplet.id, "codes": [int(c) for c in triplet.codes]}},
        "extra_info": {"split": split, "index": index, "id": triplet.id, "caption": triplet.caption},
    }


def split_rows(triplets: Sequence[Triplet], config: RLBuildConfig) -> tuple[list[dict], list[dict]]:
    """(train rows, val rows); clips are shuffled and split exactly as ``sft.split_rows`` does."""
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
    rows: dict[str, list[dict]] = {"train": [], "val": []}
    for clip_id in sorted(by_clip):
        chosen = by_clip[clip_id]
        if config.captions_per_clip is not None and len(chosen) > config.captions_per_clip:
            chosen = rng.sample(chosen, config.captions_per_clip)
        split = "val" if clip_id in val_ids else "train"
        for triplet in chosen:
            rows[split].append(rl_row(triplet, split, len(rows[split]), config.system_prompt))
    return rows["train"], rows["val"]


def build_rl_dataset(triplets: Sequence[Triplet], out_dir: str | Path, config: RLBuildConfig) -> dict[str, int]:
    """Write ``out_dir/train.parquet`` (and ``val.parquet``); returns row counts per split."""
    if not triplets:
        raise UserError("no triplets to build the RL dataset from (see the join report for skipped rows)")
    train, val = split_rows(triplets, config)
    if not train:
        raise UserError("every clip went to validation; lower --val-fraction")
    out_dir = Path(out_dir)
    write_parquet(train, out_dir / TRAIN_FILE)
    counts = {"train": len(train)}
    if val:
        write_parquet(val, out_dir / VAL_FILE)
        counts["val"] = len(val)
    logger.info("RL dataset %s: %s", out_dir, counts)
    return counts
