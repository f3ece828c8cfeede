"""Parse a Motion-R1 response and decide whether it has the required format.

The response the policy must write (``motion_r1_verl.response_format``)::

    <think>reasoning</think><output>numbered plan</output><Motion><Motion_12><Motion_7>...</Motion>

or, in the paper's variant (``with_output=False``), the same without the ``<output>`` block.

:func:`check_format` never raises and runs in time linear in the response length (no backtracking
regex over the whole text), so a 10 MB garbage response costs milliseconds. It returns a
:class:`ParsedResponse` with two separate verdicts:

- ``format_ok``: the whole response is exactly the template (whitespace between blocks allowed),
  the think (and plan) text is non-empty and holds no stray tags, and the motion span holds only
  ``<Motion_N>`` tokens with ``min_codes <= count <= max_codes`` and every id in the codebook;
- ``parse_ok``: the response contains a well-formed motion span somewhere (the tolerant parser of
  ``motion_r1_verl.vq.parse``); the motion and semantic rewards only need this.

Example::

    >>> r = check_format("<think>walk</think><output>1. walk</output><Motion>" + "<Motion_3>" * 12 + "</Motion>",
    ...                  codebook_size=512)
    >>> (r.format_ok, r.parse_ok, len(r.codes), r.reason)
    (True, True, 12, 'ok')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from motion_r1_verl.motion.constants import MAX_FRAMES, MIN_FRAMES
from motion_r1_verl.response_format import (
    MOTION_END,
    MOTION_START,
    OUTPUT_END,
    OUTPUT_START,
    THINK_END,
    THINK_START,
)
from motion_r1_verl.vq.parse import parse_motion_text

# One code covers 4 frames (the VQ downsamples time by 2**2). The allowed span lengths are the dataset's
# clip lengths (HumanML3D keeps clips of 40..196 frames): 10..49 codes.
FRAMES_PER_CODE = 4
DEFAULT_MIN_CODES = MIN_FRAMES // FRAMES_PER_CODE
DEFAULT_MAX_CODES = MAX_FRAMES // FRAMES_PER_CODE

# A span body that is only motion tokens (optionally separated by whitespace: some tokenizers decode
# added tokens with spaces between them). fullmatch over it is linear: no nested quantifiers overlap.
_BODY_RE = re.compile(r"(?:\s*<Motion_(?:0|[1-9][0-9]*)>)*\s*")
_CODE_RE = re.compile(r"<Motion_(0|[1-9][0-9]*)>")
# Tags that may not appear inside the think/plan text (a second block, or motion tokens in the reasoning).
_BLOCK_TAGS = (THINK_START, THINK_END, OUTPUT_START, OUTPUT_END, MOTION_START, MOTION_END, "<Motion_")
# Ids with more digits than this are out of range for any codebook; skip int() on them.
_MAX_ID_DIGITS = 9


@dataclass(frozen=True)
class ParsedResponse:
    """What :func:`check_format` found in one response."""

    format_ok: bool
    """The response is exactly the required template (see module docstring)."""
    reason: str
    """``"ok"`` or the first format problem, one of ``FORMAT_REASONS``."""
    parse_ok: bool
    """A well-formed motion span exists (at least one code, all ids in range)."""
    parse_reason: str
    """The tolerant parser's reason (``"ok"`` or what was wrong with the motion span)."""
    codes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """(N,) int64 in-range codes of the first well-formed span (or of the first span when none is)."""


# Every reason check_format can give, so callers can count them by a fixed key.
FORMAT_REASONS = (
    "ok",
    "not a string",
    "missing <think> at the start",
    "unterminated <think>",
    "empty <think>",
    "tag inside <think>",
    "missing <output> after </think>",
    "unterminated <output>",
    "empty <output>",
    "tag inside <output>",
    "missing <Motion> after the reasoning",
    "text after </Motion>",
    "junk inside the motion span",
    "motion id out of range",
    "too few motion codes",
    "too many motion codes",
)


def _block(text: str, pos: int, start: str, end: str, name: str) -> tuple[str | None, int, str]:
    """Body of ``start...end`` beginning at ``text[pos:]`` (after whitespace): (body, next pos, problem)."""
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if not text.startswith(start, pos):
        return None, pos, f"missing {start} {'at the start' if name == 'think' else 'after </think>'}"
    close = text.find(end, pos + len(start))
    if close < 0:
        return None, pos, f"unterminated {start}"
    body = text[pos + len(start) : close]
    if not body.strip():
        return None, pos, f"empty {start}"
    if any(tag in body for tag in _BLOCK_TAGS):
        return None, pos, f"tag inside {start}"
    return body, close + len(end), "ok"


def _format_problem(text: str, codebook_size: int, with_output: bool, min_codes: int, max_codes: int) -> str:
    """``"ok"`` or the first reason (from FORMAT_REASONS) why ``text`` is not exactly the template."""
    _, pos, problem = _block(text, 0, THINK_START, THINK_END, "think")
    if problem != "ok":
        return problem
    if with_output:
        _, pos, problem = _block(text, pos, OUTPUT_START, OUTPUT_END, "output")
        if problem != "ok":
            return problem
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if not text.startswith(MOTION_START, pos):
        return "missing <Motion> after the reasoning"
    body_start = pos + len(MOTION_START)
    close = text.find(MOTION_END, body_start)
    if close < 0 or text[close + len(MOTION_END) :].strip():
        # No closing tag at all, or something (a second span, prose) after the first one.
        return "text after </Motion>" if close >= 0 else "missing <Motion> after the reasoning"
    body = text[body_start:close]
    if _BODY_RE.fullmatch(body) is None:
        return "junk inside the motion span"
    n = 0
    for match in _CODE_RE.finditer(body):
        digits = match.group(1)
        if len(digits) > _MAX_ID_DIGITS or int(digits) >= codebook_size:
            return "motion id out of range"
        n += 1
    if n < min_codes:
        return "too few motion codes"
    if n > max_codes:
        return "too many motion codes"
    return "ok"


def check_format(
    text: object,
    codebook_size: int,
    *,
    with_output: bool = True,
    min_codes: int = DEFAULT_MIN_CODES,
    max_codes: int = DEFAULT_MAX_CODES,
) -> ParsedResponse:
    """Format verdict and motion codes of one response; never raises (see module docstring)."""
    if not isinstance(text, str):
        return ParsedResponse(False, "not a string", False, f"expected a string, got {type(text).__name__}")
    problem = _format_problem(text.strip(), codebook_size, with_output, min_codes, max_codes)
    parsed = parse_motion_text(text, codebook_size)
    return ParsedResponse(
        format_ok=problem == "ok",
        reason=problem,
        parse_ok=bool(parsed.valid),
        parse_reason=parsed.reason,
        codes=np.asarray(parsed.codes, dtype=np.int64),
    )


def format_reward(
    text: object,
    codebook_size: int,
    *,
    with_output: bool = True,
    min_codes: int = DEFAULT_MIN_CODES,
    max_codes: int = DEFAULT_MAX_CODES,
) -> float:
    """1.0 if ``text`` is exactly the required template (see :func:`check_format`), else 0.0."""
    parsed = check_format(text, codebook_size, with_output=with_output, min_codes=min_codes, max_codes=max_codes)
    return 1.0 if parsed.format_ok else 0.0
