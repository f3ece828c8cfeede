"""Rule-based decomposer: table of captions -> ordered (action, side, direction, count, angle, timing)."""

import json

import pytest

from motion_r1_verl.cot.rules import decompose_caption
from motion_r1_verl.cot.score import action_key, full_key, lcs_matches, score_chains


def summary(caption):
    return [(s["action"], s["side"], s["direction"], s["count"], s["angle"], s.get("timing")) for s in
            decompose_caption(caption)]  # fmt: skip


A, W = "after_previous", "with_previous"


@pytest.mark.parametrize(
    "caption, expected",
    [
        # plain sequence with "then" and a comma; count from a number word, angle from "90 degrees"
        ("A person walks forward three steps, then turns left 90 degrees.",
         [("walk", None, "forward", 3, None, A), ("turn", None, "left", None, 90, A)]),
        # "Y after X": X happened first (order reversed against the words)
        ("the person jumps after walking forward", [("walk", None, "forward", None, None, A),
                                                    ("jump", None, "in_place", 1, None, A)]),
        # "After X, Y": word order is already temporal order
        ("After squatting twice, a man jumps forward.", [("squat", None, None, 2, None, A),
                                                         ("jump", None, "forward", 1, None, A)]),
        # "before X, Y": Y first
        ("before sitting down, someone waves", [("wave", None, None, None, None, A),
                                                ("sit_down", None, None, None, None, A)]),
        # "Y before X": word order
        ("a person waves with the left hand before he sits down",
         [("wave", "left", None, None, None, A), ("sit_down", None, None, None, None, A)]),
        # "while": simultaneous, marked with_previous
        ("a man walks backwards slowly while raising both arms",
         [("walk", None, "backward", None, None, A), ("raise_arm", "both", None, None, None, W)]),
        # "left hand" is a side, "to the right" a direction
        ("someone kicks with the right leg and runs to the left",
         [("kick", "right", None, None, None, A), ("run", None, "left", None, None, A)]),
        # "and" between body parts does not split the clause
        ("a person waves with the left and right hand", [("wave", "both", None, None, None, A)]),
        # verbless fragment after "and" is glued back ("forward and backwards" is one step)
        ("someone walks forward and backwards", [("walk", None, "forward", None, None, A)]),
        # synonyms map onto the closed vocabulary; "turns around" is 180 degrees; clockwise -> right
        ("A human jogs, turns around and crouches", [("run", None, None, None, None, A),
                                                     ("turn", None, None, None, 180, A),
                                                     ("squat", None, None, 1, None, A)]),
        # a spin is a full turn
        ("Somebody spins clockwise", [("spin", None, "right", None, 360, A)]),
        ("Somebody spins around twice", [("spin", None, None, None, 720, A)]),
        # light verbs: the motion is the noun / gerund after them; "gets up" is stand_up
        ("A person performs a turn to the right and gets up", [("turn", None, "right", None, None, A),
                                                               ("stand_up", None, None, None, None, A)]),
        # unknown verb kept as its own action (suffix fallback)
        ("A person juggles three balls.", [("juggle", None, None, None, None, A)]),
        # two sentences keep their order
        ("A person claps. Then he bows.", [("clap", None, None, None, None, A), ("bow", None, None, None, None, A)]),
        # "before X and then Y, S Z": the held clauses come after the main one, in their own order
        ("Before waiting for a moment and then bowing, the woman kicks the left leg forward.",
         [("kick", "left", None, None, None, A), ("stand", None, None, None, None, A),
          ("bow", None, None, None, None, A)]),
        # "while X-ing and Y-ing": both overlap the main action
        ("a man walks forward while waving and clapping",
         [("walk", None, "forward", None, None, A), ("wave", None, None, None, None, W),
          ("clap", None, None, None, None, W)]),
        # idioms: "raises a hand and waves" is one wave; "squats down and stands back up" one squat ...
        ("someone raises their left hand and waves", [("wave", "left", None, None, None, A)]),
        ("a person squats down and stands back up", [("squat", None, None, 1, None, A)]),
        # counts and angles stated before the verb
        ("the man does three squats and a half turn to the left", [("squat", None, None, 3, None, A),
                                                                  ("turn", None, "left", None, 180, A)]),
        ("the man does a half turn to the left", [("turn", None, "left", None, 180, A)]),
        # ... but "and then" keeps two sub-actions
        ("someone raises the left arm and then waves with the left hand",
         [("raise_arm", "left", None, None, None, A), ("wave", "left", None, None, None, A)]),
        # side before the verb, "backs up", "bends forward at the waist" is a bow
        ("The man does a right kick, backs up and bends forward at the waist",
         [("kick", "right", None, None, None, A), ("walk", None, "backward", None, None, A),
          ("bow", None, None, None, None, A)]),
        # adverb before the verb still starts a clause; "after a few steps" is not a clause
        ("A human walks forwards and slowly turns left, then stops after a few steps.",
         [("walk", None, "forward", None, None, A), ("turn", None, "left", None, None, A),
          ("stand", None, None, None, None, A)]),
        # nothing to decompose
        ("Cannot see anything", []),
    ],
)  # fmt: skip
def test_decompose(caption, expected):
    assert summary(caption) == expected


def test_phrase_keeps_the_words():
    steps = decompose_caption("A person throws an object with the right hand.")
    assert steps[0]["action"] == "throw" and steps[0]["phrase"] == "throw an object with the right hand"
    assert steps[0]["side"] == "right" and steps[0]["body_part"] == "right hand"


def test_lcs_scoring():
    walk, turn, wave = {"action": "walk"}, {"action": "turn"}, {"action": "wave"}
    assert lcs_matches([walk, turn, wave], [walk, turn, wave]) == 3
    assert lcs_matches([turn, walk], [walk, turn]) == 1  # swapped order costs a match
    assert lcs_matches([walk, wave], [walk, turn, wave]) == 2  # a missing step costs only itself
    score = score_chains([([walk, wave], [walk, turn, wave]), ([walk], [walk])], action_key)
    assert (score.matched, score.predicted, score.reference, score.exact) == (3, 3, 4, 1)
    assert score.precision == 1.0 and score.recall == 0.75
    left = {"action": "wave", "side": "left"}
    assert score_chains([([wave], [left])], full_key).matched == 0


def test_kitml_real_captions(shared_data):
    """The rules run on every real KIT-ML caption and split a real share of them into several steps."""
    annotations = json.loads((shared_data / "kitml_captions" / "annotations.json").read_text())
    captions = [a["text"] for motion in annotations.values() for a in motion["annotations"]]
    lengths = [len(decompose_caption(c)) for c in captions]
    assert len(captions) == 12164
    assert sum(k == 0 for k in lengths) / len(lengths) < 0.02
    assert 0.15 < sum(k >= 2 for k in lengths) / len(lengths) < 0.6
