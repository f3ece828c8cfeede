"""Triplets -> verl RL parquet for GRPO (``verl.trainer.main_ppo``).

One row per (clip, caption), in verl's RL layout (as ``verl:examples/data_preprocess/gsm8k.py``)::

    {"data_source": "motion_r1",
     "prompt": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": caption}],
     "ability": "motion",
     "reward_model": {"style": "rule", "ground_truth": '{"id": "<clip id>", "codes": [int, ...]}'},
     "extra_info": {"split": "train", "index": i, "id": clip_id, "caption": caption}}

The ground truth is a JSON string, as in verl's own datasets (gsm8k's answer is a string), so our parquet
concatenates with theirs in one ``data.train_files`` list: ``datasets.concatenate_datasets`` cannot align a
struct column with a string one. ``extra_info`` holds ``split``, ``index``, ``id`` and ``caption`` (struct
fields that differ between datasets are aligned). ``reward_fns.router`` scores a mixed list: motion rows
with the Motion-R1 reward, every other ``data_source`` with verl's default scorer.

The prompt is the SFT prompt (``protocol.chat_prompt``, same ``SYSTEM_PROMPT``), so the policy starts GRPO
on exactly the conversation it was fine-tuned on. ``reward_fns.motion_r1`` reads the ground truth
(motion id + codes) and ``extra_info["caption"]``. The validation split is made by clip with the same
rule and seed as the SFT builder, so the same clips are held out in both stages.

Run: ``motion-r1 dataset rl --cot runs/cot.jsonl --codes runs/codes.jsonl --out runs/rl``
(or ``--plans runs/synth/plans.jsonl --data runs/synth`` instead of ``--cot``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from motion_r1_verl.datasets.splits import SplitConfig, build_parquet_splits, split_by_clip
from motion_r1_verl.datasets.triplets import Triplet
from motion_r1_verl.protocol import SYSTEM_PROMPT, chat_prompt

DATA_SOURCE = "motion_r1"
ABILITY = "motion"


@dataclass
class RLBuildConfig(SplitConfig):
    """How triplets become RL rows: the ``SplitConfig`` fields; the same rule and seed as
    ``SFTBuildConfig`` hold out the same clips."""


def ground_truth_json(triplet: Triplet) -> str:
    """``{"id", "codes"}`` of a triplet as the JSON string the reward reads."""
    return json.dumps({"id": triplet.id, "codes": [int(c) for c in triplet.codes]}, separators=(",", ":"))


def rl_row(triplet: Triplet, split: str, index: int, system_prompt: str = SYSTEM_PROMPT) -> dict:
    """One verl RL row for a triplet (the CoT text is not used: the policy writes its own)."""
    return {
        "data_source": DATA_SOURCE,
        "prompt": chat_prompt(triplet.caption, system_prompt),
        "ability": ABILITY,
        "reward_model": {"style": "rule", "ground_truth": ground_truth_json(triplet)},
        "extra_info": {"split": split, "index": index, "id": triplet.id, "caption": triplet.caption},
    }


def split_rows(triplets: Sequence[Triplet], config: RLBuildConfig) -> tuple[list[dict], list[dict]]:
    """(train rows, val rows); clips are chosen and held out exactly as for SFT."""
    chosen = split_by_clip(triplets, config)
    return _rows("train", chosen["train"], config), _rows("val", chosen["val"], config)


def _rows(split: str, triplets: Sequence[Triplet], config: RLBuildConfig) -> list[dict]:
    return [rl_row(t, split, index, config.system_prompt) for index, t in enumerate(triplets)]


def build_rl_dataset(triplets: Sequence[Triplet], out_dir: str | Path, config: RLBuildConfig) -> dict[str, int]:
    """Write ``out_dir/train.parquet`` (and ``val.parquet``); returns row counts per split."""
    return build_parquet_splits(triplets, out_dir, config, lambda split, chosen: _rows(split, chosen, config), "RL")
