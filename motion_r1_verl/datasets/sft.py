"""Triplets -> verl SFT parquet: one ``messages`` column (system, user, assistant).

``verl.trainer.sft_trainer`` (``MultiTurnSFTDataset``) applies the model's chat template to each turn
and puts the loss on assistant turns only. The assistant turn is
``<think>CoT</think><output>plan</output><Motion><Motion_i>...</Motion>``.

Paraphrases: a clip usually has several captions (several CoT rows with the same id). By default
every caption is a row; ``captions_per_clip`` samples at most that many per clip. The validation split
is made by CLIP, so paraphrases of one motion never sit on both sides.

Run: ``motion-r1 dataset sft --cot runs/cot.jsonl --codes runs/codes.jsonl --out runs/sft``
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from motion_r1_verl.datasets.splits import SplitConfig, build_parquet_splits, split_by_clip
from motion_r1_verl.datasets.triplets import Triplet
from motion_r1_verl.errors import UserError
from motion_r1_verl.protocol import REASONING_CHOICES, SYSTEM_PROMPT, chat_prompt, format_response, system_prompt_for


def sft_messages(
    triplet: Triplet, system_prompt: str = SYSTEM_PROMPT, with_output: bool = True, with_think: bool = True
) -> list[dict]:
    """The full conversation for one triplet."""
    response = format_response(triplet.think, triplet.plan, triplet.codes, with_output, with_think)
    return [*chat_prompt(triplet.caption, system_prompt), {"role": "assistant", "content": response}]


@dataclass
class SFTBuildConfig(SplitConfig):
    """How triplets become SFT rows: the shared ``SplitConfig`` fields, plus

    Fields:
        with_output: include the ``<output>plan</output>`` block (Motion-R1 does).
        with_think: include the ``<think>CoT</think>`` block; both False is the no-CoT ablation baseline.
    """

    with_output: bool = True
    with_think: bool = True

    @classmethod
    def for_reasoning(cls, reasoning: str, **split_fields) -> "SFTBuildConfig":
        """``reasoning`` is one of REASONING_CHOICES (the ``dataset sft --reasoning`` flag); the system prompt
        is that layout's (``protocol.system_prompt_for``) unless ``split_fields`` names one."""
        if reasoning not in REASONING_CHOICES:
            raise UserError(f"reasoning must be one of {', '.join(REASONING_CHOICES)}, got {reasoning!r}")
        split_fields.setdefault("system_prompt", system_prompt_for(reasoning))
        return cls(**split_fields, with_think=reasoning != "none", with_output=reasoning == "think+output")


def split_rows(triplets: Sequence[Triplet], config: SFTBuildConfig) -> tuple[list[dict], list[dict]]:
    """(train rows, val rows), each row ``{"messages": [...], "id": clip_id}``."""
    chosen = split_by_clip(triplets, config)
    return _rows(chosen["train"], config), _rows(chosen["val"], config)


def _rows(triplets: Sequence[Triplet], config: SFTBuildConfig) -> list[dict]:
    return [
        {"messages": sft_messages(t, config.system_prompt, config.with_output, config.with_think), "id": t.id}
        for t in triplets
    ]


def build_sft_dataset(triplets: Sequence[Triplet], out_dir: str | Path, config: SFTBuildConfig) -> dict[str, int]:
    """Write ``out_dir/train.parquet`` (and ``val.parquet``); returns row counts per split."""
    return build_parquet_splits(triplets, out_dir, config, lambda _split, chosen: _rows(chosen, config), "SFT")
