"""One scan, two readings: what the writer writes the strict reading accepts, and both readings agree."""

from hypothesis import given, settings
from hypothesis import strategies as st

from motion_r1_verl.protocol import (
    DEFAULT_MAX_CODES,
    DEFAULT_MIN_CODES,
    code_limits,
    codes_to_text,
    format_response,
    scan_response,
)

K = 64
# Reasoning text without any tag character: what a well-behaved model writes.
# Pieces of responses, good and bad, for the agreement property.
PIECES = ["<think>", "</think>", "<output>", "</output>", "<Motion>", "</Motion>", "<Motion_3>", "<Motion_03>",
          "<Motion_99>", "<Motion_", " ", "x"]  # fmt: skip
plain_text = st.text(alphabet=st.characters(blacklist_characters="<>", blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=200, deadline=None)
@given(
    plain_text.filter(lambda s: s.strip()),
    plain_text.filter(lambda s: s.strip()),
    st.lists(st.integers(0, K - 1), min_size=DEFAULT_MIN_CODES, max_size=DEFAULT_MAX_CODES),
)
def test_every_written_response_is_well_formed_and_reads_back(think, plan, codes):
    scan = scan_response(format_response(think, plan, codes), K)
    assert scan.format_ok and scan.reason == "ok"
    assert scan.parse_ok and scan.codes.tolist() == codes
    assert (scan.think, scan.plan, scan.notes) == (think.strip(), plan.strip(), ())
    assert len(scan.spans) == 1 and scan.spans[0].terminated and not scan.spans[0].junk


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_a_well_formed_response_always_has_a_well_formed_span_with_the_same_codes(text):
    scan = scan_response(text, K)
    if scan.format_ok:
        assert scan.parse_ok and len(scan.spans) == 1
        assert DEFAULT_MIN_CODES <= scan.codes.size <= DEFAULT_MAX_CODES


def test_non_canonical_ids_fail_the_format_and_are_junk_to_the_reader():
    codes = list(range(12))
    text = format_response("t", "p", codes).replace("<Motion_3>", "<Motion_03>")
    scan = scan_response(text, K)
    assert scan.reason == "junk inside the motion span"
    assert scan.parse_ok and 3 not in scan.codes.tolist() and "<Motion_03>" in scan.spans[0].junk


def test_second_span_is_read_but_breaks_the_format():
    text = format_response("t", "p", list(range(12))) + codes_to_text([5, 6])
    scan = scan_response(text, K)
    assert scan.reason == "text after </Motion>" and [list(s.codes) for s in scan.spans][1] == [5, 6]


def test_code_limits_follow_the_frames_per_code():
    assert code_limits(4) == (DEFAULT_MIN_CODES, DEFAULT_MAX_CODES) == (10, 49)
    assert code_limits(2) == (20, 98)
    text = format_response("t", "p", [1] * 15)
    assert scan_response(text, K).format_ok
    low, high = code_limits(2)
    assert scan_response(text, K, min_codes=low, max_codes=high).reason == "too few motion codes"
