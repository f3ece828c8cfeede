"""Tolerant motion-token parsing: table of cases, and a hypothesis fuzz (any input -> no exception)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motion_r1_verl.protocol import Response, codes_to_text, scan_response

K = 512

CASES = [
    # plain span
    ("<Motion><Motion_12><Motion_7></Motion>", True, [12, 7], "ok"),
    # reasoning around it is ignored
    ("<think>walk</think><output>1. walk</output><Motion><Motion_0></Motion> bye", True, [0], "ok"),
    # whitespace and junk between tokens: ignored, mentioned
    ("<Motion> <Motion_1> hello <Motion_2>\n</Motion>", True, [1, 2], "ignored junk"),
    # non-canonical ids are junk, not codes
    ("<Motion><Motion_01><Motion_-3><Motion_x><Motion_5></Motion>", True, [5], "ignored junk"),
    # out-of-range id: invalid, in-range codes kept
    ("<Motion><Motion_3><Motion_512></Motion>", False, [3], "out-of-range ids [512]"),
    # absurdly long id is out of range, not a crash
    ("<Motion><Motion_" + "9" * 5000 + "></Motion>", False, [], "out-of-range"),
    # empty span
    ("<Motion></Motion>", False, [], "empty motion span"),
    # no span at all
    ("a person walks <Motion_3>", False, [], "no <Motion> span"),
    # unterminated (generation budget ran out): invalid, codes kept for inspection
    ("<Motion><Motion_4><Motion_5>", False, [4, 5], "unterminated"),
    # the first WELL-FORMED span wins
    ("<Motion></Motion> then <Motion><Motion_9></Motion>", True, [9], "ok"),
    ("<Motion><Motion_1></Motion><Motion><Motion_2></Motion>", True, [1], "ok"),
    # nested opening: the innermost one starts the span
    ("<Motion><Motion_1><Motion><Motion_2></Motion>", True, [2], "ok"),
    # a closing tag before any opening is ignored
    ("</Motion><Motion><Motion_8></Motion>", True, [8], "ok"),
    # several bad spans: the first one's problem is reported
    ("<Motion></Motion><Motion><Motion_999></Motion>", False, [], "empty motion span (none of the 2"),
]


@pytest.mark.parametrize("text, valid, codes, reason", CASES)
def test_parse_cases(text, valid, codes, reason):
    result = scan_response(text, K)
    assert result.parse_ok is valid
    assert result.codes.dtype == np.int64
    assert result.codes.tolist() == codes
    assert reason in result.parse_reason


def test_non_string_input_is_reported_not_raised():
    result = scan_response(None, K)  # type: ignore[arg-type]
    assert not result.parse_ok and "expected a string" in result.parse_reason


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/_Motin0123456789 x")) | st.characters(), max_size=200))
def test_fuzz_any_text_never_raises(text):
    result = scan_response(text, K)
    assert isinstance(result, Response)
    assert result.codes.ndim == 1 and result.codes.dtype == np.int64
    assert ((result.codes >= 0) & (result.codes < K)).all()
    assert result.parse_ok == (result.parse_reason.startswith("ok"))
    if result.parse_ok:
        assert result.codes.size > 0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, K - 1), min_size=1, max_size=60),
    st.text(max_size=40).filter(lambda s: "<Motion" not in s),
    st.text(max_size=40).filter(lambda s: "<Motion" not in s),
)
def test_fuzz_round_trip_inside_junk(codes, before, after):
    result = scan_response(before + codes_to_text(codes) + after, K)
    assert result.parse_ok and result.codes.tolist() == codes
