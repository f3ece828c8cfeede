"""Hypothesis strategies for model-like responses: right and wrong tags, truncation, bad ids, huge text.

Shared by tests/reward_fns/test_fuzz.py (small, in CI) and bench/reward.py (10,000 examples).
"""

from hypothesis import strategies as st

from motion_r1_verl.protocol import MOTION_END, MOTION_START, REASONING_TAGS

TAGS = [*REASONING_TAGS, MOTION_START, MOTION_END, "<Motion_", ">", "<output", "</", "<|im_end|>"]
code_token = st.builds(
    lambda n: f"<Motion_{n}>",
    st.one_of(st.integers(0, 40), st.integers(-5, 10**30), st.just("01"), st.just("x"), st.just("")),
)
piece = st.one_of(
    st.text(max_size=20),
    st.sampled_from(TAGS),
    code_token,
    st.lists(code_token, max_size=60).map("".join),
)
well_formed = st.builds(
    lambda think, plan, codes, with_output: (
        f"<think>{think}</think>"
        + (f"<output>{plan}</output>" if with_output else "")
        + MOTION_START
        + "".join(f"<Motion_{c}>" for c in codes)
        + MOTION_END
    ),
    st.text(max_size=30),
    st.text(max_size=30),
    st.lists(st.integers(0, 40), max_size=60),
    st.booleans(),
)
truncated = st.builds(lambda s, cut: s[:cut], well_formed, st.integers(0, 400))
huge = st.builds(lambda p, n: p * n, piece, st.integers(1000, 20_000))
responses = st.one_of(
    well_formed,
    truncated,
    st.lists(piece, max_size=30).map("".join),
    st.text(max_size=200),
    huge,
    st.none(),
    st.integers(),
    st.binary(max_size=20),
)
