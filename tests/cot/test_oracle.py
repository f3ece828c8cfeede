"""render_steps: plans.jsonl steps -> (<think> text, <output> plan)."""

import pytest

from motion_r1_verl.cot.oracle import render_steps

WALK = {
    "action": "walk",
    "side": None,
    "direction": "forward",
    "count": 3,
    "speed": "normal",
    "angle": None,
    "start": 0,
    "end": 58,
}
TURN = {
    "action": "turn",
    "side": None,
    "direction": "left",
    "count": None,
    "speed": None,
    "angle": 90,
    "start": 58,
    "end": 80,
}
WAVE = {
    "action": "wave",
    "side": "right",
    "direction": None,
    "count": 2,
    "speed": "fast",
    "angle": None,
    "start": 80,
    "end": 120,
}


def test_plan_is_numbered_in_order():
    _, plan = render_steps([WALK, TURN, WAVE])
    assert plan.splitlines() == [
        "1. walk forward 3 steps",
        "2. turn 90 degrees to the left",
        "3. wave the right hand 2 times quickly",
    ]


def test_think_orders_steps_with_body_part_and_timing():
    think, _ = render_steps([WALK, TURN, WAVE])
    assert think.startswith("The description can be broken into 3 sub-actions")
    first, then, final = think.index("First,"), think.index("Then,"), think.index("Finally,")
    assert first < then < final
    assert "walks forward 3 steps (from 0.0 s to 2.9 s), using the legs" in think
    assert "turns 90 degrees to the left" in think
    assert "waves the right hand" in think


def test_single_step_and_optional_fields():
    think, plan = render_steps([{"action": "sit_down"}])
    assert plan == "1. sit down"
    assert "one sub-action" in think and "sits down" in think and "(from" not in think


def test_deterministic():
    assert render_steps([WALK, WAVE]) == render_steps([dict(WALK), dict(WAVE)])


def test_free_form_action_uses_phrase():
    think, plan = render_steps(
        [{"action": "stumble", "phrase": "stumble"}, {"action": "carry", "phrase": "carry a box"}]
    )
    assert plan == "1. stumble\n2. carry a box"
    assert "stumbles" in think and "carries a box" in think


@pytest.mark.parametrize(
    "steps, field",
    [
        ([], "empty"),
        ([{"action": ""}], "action"),
        ([{"action": "walk", "side": "up"}], "side"),
        ([{"action": "walk", "count": 2.5}], "count"),
        ([{"action": "walk", "start": 10, "end": 5}], "before"),
    ],
)
def test_bad_steps_raise(steps, field):
    with pytest.raises(ValueError, match=field):
        render_steps(steps)
