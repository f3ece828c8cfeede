"""check_format / format_reward: one table row per rule, each with why it passes or fails."""

import time

import pytest

from motion_r1_verl.protocol import codes_to_text, format_response
from reward_fns.format import FORMAT_REASONS, check_format, format_reward

K = 32  # codebook size
OK_CODES = list(range(12))
GOOD = format_response("the person walks", "1. walk forward", OK_CODES)

CASES = [
    # (response, with_output, format_ok, reason, parse_ok)
    (GOOD, True, True, "ok", True),  # the template exactly
    ("  \n" + GOOD + "\n ", True, True, "ok", True),  # surrounding whitespace is fine
    (GOOD.replace("</think>", "</think>\n").replace("</output>", "</output> "), True, True, "ok", True),
    (GOOD.replace("><Motion_", "> <Motion_"), True, True, "ok", True),  # spaces between motion tokens
    (format_response("t", "p", OK_CODES, with_output=False), False, True, "ok", True),  # paper variant
    (format_response("t", "p", OK_CODES, with_output=False), True, False, "missing <output> after </think>", True),
    (GOOD, False, False, "missing <Motion> after the reasoning", True),  # variant forbids <output>
    ("", True, False, "missing <think> at the start", False),
    ("hello " + GOOD, True, False, "missing <think> at the start", True),  # prose before the template
    ("<think>abc", True, False, "unterminated <think>", False),
    (GOOD.replace("the person walks", "  "), True, False, "empty <think>", True),
    (GOOD.replace("the person walks", "a <Motion_1> b"), True, False, "tag inside <think>", True),
    (GOOD.replace("1. walk forward", ""), True, False, "empty <output>", True),
    (GOOD.replace("</output>", ""), True, False, "unterminated <output>", True),
    (GOOD.replace("1. walk forward", "<think>x"), True, False, "tag inside <output>", True),
    (GOOD + "thanks!", True, False, "text after </Motion>", True),
    (GOOD + codes_to_text(OK_CODES), True, False, "text after </Motion>", True),  # a second span
    (GOOD[: -len("</Motion>")], True, False, "missing <Motion> after the reasoning", False),  # truncated
    (GOOD.replace("<Motion_3>", "<Motion_3>walk"), True, False, "junk inside the motion span", True),
    (GOOD.replace("<Motion_3>", "<Motion_03>"), True, False, "junk inside the motion span", True),
    (GOOD.replace("<Motion_3>", "<Motion_32>"), True, False, "motion id out of range", False),
    (GOOD.replace("<Motion_3>", "<Motion_" + "9" * 40 + ">"), True, False, "motion id out of range", False),
    (format_response("t", "p", list(range(9))), True, False, "too few motion codes", True),  # 9 < 10
    (format_response("t", "p", [1] * 50), True, False, "too many motion codes", True),  # 50 > 49
    (format_response("t", "p", [1] * 49), True, True, "ok", True),
    (format_response("t", "p", []), True, False, "too few motion codes", False),  # empty span
]


@pytest.mark.parametrize(("text", "with_output", "format_ok", "reason", "parse_ok"), CASES)
def test_format_table(text, with_output, format_ok, reason, parse_ok):
    parsed = check_format(text, K, with_output=with_output)
    assert (parsed.format_ok, parsed.reason, parsed.parse_ok) == (format_ok, reason, parse_ok)
    assert parsed.reason in FORMAT_REASONS
    assert format_reward(text, K, with_output=with_output) == (1.0 if format_ok else 0.0)


def test_codes_come_from_the_span():
    parsed = check_format(GOOD, K)
    assert parsed.codes.tolist() == OK_CODES
    assert parsed.codes.dtype.name == "int64"


@pytest.mark.parametrize("value", [None, 3, b"<think>", ["a"], {"x": 1}])
def test_non_strings_are_rejected_without_raising(value):
    parsed = check_format(value, K)
    assert (parsed.format_ok, parsed.reason, parsed.parse_ok) == (False, "not a string", False)


def test_length_limits_are_configurable():
    text = format_response("t", "p", [1] * 5)
    assert not check_format(text, K).format_ok
    assert check_format(text, K, min_codes=5, max_codes=5).format_ok


def test_huge_response_is_linear_time():
    # 2 MB of nested, unterminated tags: a backtracking parser would take minutes.
    text = ("<think>" + "<output><Motion><Motion_1>" * 30_000) * 3
    start = time.perf_counter()
    parsed = check_format(text, K)
    assert not parsed.format_ok
    assert time.perf_counter() - start < 2.0
