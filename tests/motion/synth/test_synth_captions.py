"""Every caption says what its plan says: the actions (in order where the text states it), sides,
directions and counts. The checker below is written independently of the caption templates."""

import json
import re

import numpy as np
import pytest

from motion_r1_verl.motion.core.humanml3d import load_split
from motion_r1_verl.motion.sources.synth.captions import NUMBER_WORDS, captions
from motion_r1_verl.motion.sources.synth.compose import compose

# Idioms that mention a second verb but are one action, rewritten before matching.
IDIOMS = [
    (r"\b(raises|raising) (the|their|both) ?(left|right)? hands? and (waves|waving)", r"\4 \2 \3 hand"),
    (r"\band (stands|standing) back up\b", ""),
    (r"\b(takes|taking) a bow\b", "bows"),
    (r"\b(takes|taking) a seat\b", "sits down"),
    (r"\b(takes|taking) (\w+ )?(small |quick )?steps?\b", r"walks \2steps"),
    (r"\bto face the other way\b", ""),
]
ACTION_WORDS = {
    "walk": r"walks|walking|strides|striding|sidesteps|sidestepping|steps (back|sideways)|stepping (back|sideways)|"
    r"shuffles|shuffling|backs up|backing up|moves|moving",
    "run": r"runs|running|jogs|jogging|sprints|sprinting",
    "turn": r"turns|turning|rotates|rotating|pivots|pivoting|quarter turn|half turn",
    "spin": r"spins|spinning|full spin",
    "jump": r"jumps|jumping|leaps|leaping|hops|hopping",
    "squat": r"squats|squatting|crouches|crouching",
    "sit_down": r"sits down|sitting down",
    "stand_up": r"stands up|standing up|gets up|getting up|rises|rising",
    "wave": r"waves|waving",
    "raise_arm": r"raises|raising|lifts|lifting|puts up|putting up",
    "kick": r"kicks|kicking|kick",
    "punch": r"punches|punching",
    "bow": r"bows|bowing|bends forward|bending forward",
    "clap": r"claps|clapping",
    "stand": r"stands still|standing still|stays still|staying still|pauses|pausing|waits|waiting|stands in place|"
    r"standing in place",
}
PATTERN = re.compile("|".join(f"(?P<{a}>\\b(?:{w})\\b)" for a, w in ACTION_WORDS.items()))
COUNT_WORDS = {w: n for n, w in NUMBER_WORDS.items()} | {"once": 1, "twice": 2}


def mentioned_actions(text: str) -> list[str]:
    text = text.lower()
    for pattern, repl in IDIOMS:
        text = re.sub(pattern, repl, text)
    return [m.lastgroup for m in PATTERN.finditer(text)]


def check_caption(text: str, steps: list[dict]) -> None:
    actions = [s["action"] for s in steps]
    mentioned = mentioned_actions(text)
    assert sorted(mentioned) == sorted(actions), (text, actions)
    lower = text.lower()
    if not lower.startswith("before"):  # "before B, A" is the one template that reverses the order
        order = mentioned
        sequential = [s["action"] for s in steps if s.get("timing") != "with_previous"]
        assert [a for a in order if a in sequential] == sequential or "while" in lower, (text, actions)
    for side in ("left", "right"):
        if re.search(rf"\b{side}\b", lower):
            assert any(side in (s["side"], s["direction"]) for s in steps), (text, steps)
    if "both" in lower:
        assert any(s["side"] == "both" for s in steps), (text, steps)
    # "forward"/"backward" of locomotion must match a step's direction (bows, punches and kicks go
    # forward too, so only phrases of the walking/running/jumping verbs are checked).
    for word in ("forward", "backward"):
        if re.search(
            rf"\b(walks|walking|strides|striding|runs|running|jogs|jogging|jumps|leaps|hops|moves)\b {word}", lower
        ):
            assert any(s["direction"] == word for s in steps), (text, steps)
    counts = {s["count"] for s in steps} | {s["angle"] for s in steps} | {1, 2}  # "twice" also names spins of 720
    for word in re.findall(r"\b(" + "|".join(COUNT_WORDS) + r")\b", lower):
        assert COUNT_WORDS[word] in counts, (text, steps)
    for degrees in re.findall(r"(\d+) degrees", lower):
        assert int(degrees) in {s["angle"] for s in steps}, (text, steps)


def test_generated_captions_match_their_plans(synth_dir):
    plans = {p["id"]: p for p in map(json.loads, (synth_dir / "plans.jsonl").read_text().splitlines())}
    n_captions = 0
    for split in ("train", "val", "test", "test_heldout"):
        clips, _ = load_split(synth_dir, split)
        for clip in clips:
            assert len(clip.captions) == 3
            for cap in clip.captions:
                check_caption(cap.text, plans[clip.id]["steps"])
                assert all("/" in token for token in cap.tokens)  # word/POS tokens
                n_captions += 1
    assert n_captions >= 100


def test_many_plans_many_paraphrases():
    # Broader than the fixture: 300 plans, 3 captions each, plus template variety.
    texts = set()
    implicit = {"after": 0, "before": 0, "while": 0}
    for i in range(300):
        rng = np.random.default_rng([11, i])
        clip = compose(rng, heldout=i % 4 == 0)
        for text in captions(clip.steps, rng, n=3):
            check_caption(text, clip.steps)
            texts.add(text)
            for key in implicit:
                implicit[key] += f"{key} " in text.lower()
    assert len(texts) > 800
    assert min(implicit.values()) > 10, implicit


@pytest.mark.parametrize(
    "text, steps_ok",
    [
        ("A person walks forward, then waves with the left hand.", True),
        ("A person walks forward, then waves with the right hand.", False),  # wrong side
        ("A person waves with the left hand, then walks forward.", False),  # wrong order
        ("A person walks forward.", False),  # missing action
    ],
)
def test_checker_catches_wrong_captions(text, steps_ok):
    steps = [
        {"action": "walk", "side": None, "direction": "forward", "count": 3, "speed": "normal", "angle": None},
        {"action": "wave", "side": "left", "direction": None, "count": 2, "speed": None, "angle": None},
    ]
    if steps_ok:
        check_caption(text, steps)
    else:
        with pytest.raises(AssertionError):
            check_caption(text, steps)
