"""``scan_response``: the readable parts of well-formed and malformed responses (never raises)."""

import pytest

from motion_r1_verl.protocol import scan_response

CASES = [
    # the training format: both blocks, no notes
    ("<think>walk, wave</think><output>1. walk</output><Motion><Motion_1></Motion>", "walk, wave", "1. walk", []),
    # whitespace inside blocks is stripped
    ("<think>\n  a b \n</think>\n<output> 1. a </output>", "a b", "1. a", []),
    # the paper's variant without the <output> block
    ("<think>x</think><Motion><Motion_1></Motion>", "x", None, ["no <output> block"]),
    # budget ran out inside the reasoning
    ("<think>the person walks and", "the person walks and", None, ["no </think>", "no <output> block"]),
    # unterminated think stops at the next block
    ("<think>a<output>plan</output>", "a", "plan", ["no </think>"]),
    # unterminated plan stops at the motion span
    ("<think>a</think><output>plan<Motion><Motion_1></Motion>", "a", "plan", ["no </output>"]),
    # no tags at all (a random model)
    ("garbage text", None, None, ["no <think> block", "no <output> block"]),
    # empty blocks are empty strings, not None
    ("<think></think><output></output>", "", "", []),
]


@pytest.mark.parametrize(("text", "think", "plan", "notes"), CASES)
def test_reasoning_blocks(text, think, plan, notes):
    result = scan_response(text, codebook_size=512)
    assert (result.think, result.plan, list(result.notes)) == (think, plan, notes)


def test_not_a_string():
    result = scan_response(None, codebook_size=512)
    assert result.think is None and result.plan is None
    assert "expected a string" in result.notes[0]
