"""Fixtures for the CoT tests: a tiny HumanML3D-format folder with plans.jsonl, and the chat server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .chat_server import ChatServer

PLANS = {
    "000001": [
        {"action": "walk", "side": None, "direction": "forward", "count": 3, "speed": "normal", "angle": None,
         "start": 0, "end": 60},
        {"action": "turn", "side": None, "direction": "left", "count": None, "speed": None, "angle": 90,
         "start": 60, "end": 80},
        {"action": "wave", "side": "right", "direction": None, "count": 2, "speed": None, "angle": None,
         "start": 80, "end": 120},
    ],
    "000002": [
        {"action": "squat", "side": None, "direction": None, "count": 2, "speed": "slow", "angle": None,
         "start": 0, "end": 50},
        {"action": "jump", "side": None, "direction": "in_place", "count": 1, "speed": None, "angle": None,
         "start": 50, "end": 90},
    ],
    "000003": [
        {"action": "kick", "side": "left", "direction": None, "count": 1, "speed": "fast", "angle": None,
         "start": 0, "end": 40},
    ],
}  # fmt: skip
CAPTIONS = {
    "000001": ["a person walks forward three steps, then turns left and waves the right hand twice.",
               "someone walks ahead, turns to the left and waves"],
    "000002": ["after squatting slowly twice, the person jumps in place."],
    "000003": ["a man kicks quickly with his left leg.", "a man kicks quickly with his left leg."],  # duplicate
}  # fmt: skip


def write_dataset(root: Path, captions: dict[str, list[str]], plans: dict[str, list[dict]] | None) -> Path:
    (root / "texts").mkdir(parents=True)
    for clip_id, lines in captions.items():
        text = "".join(f"{line}#a/DET#0.0#0.0\n" for line in lines)
        (root / "texts" / f"{clip_id}.txt").write_text(text, encoding="utf-8")
    (root / "train.txt").write_text("\n".join(captions) + "\n")
    if plans is not None:
        with (root / "plans.jsonl").open("w") as handle:
            for clip_id, steps in plans.items():
                handle.write(json.dumps({"id": clip_id, "length": steps[-1]["end"], "steps": steps}) + "\n")
    return root


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    """3 clips, 4 distinct (id, caption) items (one duplicate line), oracle plans for all."""
    return write_dataset(tmp_path / "data", CAPTIONS, PLANS)


@pytest.fixture
def chat_server():
    with ChatServer() as server:
        yield server
