"""The captions of a dataset split, one per clip, named by clip id: what to generate for ``motion-r1 eval``.

    ids, captions = split_captions("runs/synth", "test")
    results = generate_motions(model, captions, n=1, ids=ids)
    write_results(results, "runs/gen", video=None, bvh=False)   # then: motion-r1 eval --motions runs/gen

The clips are those ``motion-r1 eval`` reads (``load_split`` with its defaults: length filter, crops as their
own clips), so every id the evaluation expects gets a sample. The caption of a clip is its first one, or a
seeded random one (``choice="random"``); ``write_results`` records it in ``captions.jsonl`` and the
evaluation pairs the motion with exactly that text.
"""

from __future__ import annotations

import os
import random

from motion_r1_verl.errors import UserError, field_error
from motion_r1_verl.motion.core.humanml3d import load_split

CAPTION_CHOICES = ("first", "random")


def split_captions(
    data_dir: str | os.PathLike, split: str, choice: str = "first", seed: int = 0, limit: int | None = None
) -> tuple[list[str], list[str]]:
    """(clip ids, one caption each) of ``data_dir/<split>.txt``; ``limit`` keeps the first N clips."""
    if choice not in CAPTION_CHOICES:
        raise UserError(f"caption choice must be one of {CAPTION_CHOICES}, got {choice!r}")
    if limit is not None and limit < 1:
        raise field_error("limit", f"must be >= 1, got {limit}")
    clips, _ = load_split(data_dir, split)
    clips = [c for c in clips if c.captions]
    if not clips:
        raise UserError(f"{data_dir}/{split}.txt: no clips with captions")
    clips = clips[:limit] if limit is not None else clips
    rng = random.Random(seed)
    captions = [c.captions[0].text if choice == "first" else rng.choice(c.captions).text for c in clips]
    return [c.id for c in clips], captions
