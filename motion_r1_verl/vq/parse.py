"""Tolerant parsing of motion-token text: ``"...<Motion><Motion_12><Motion_7></Motion>..." -> [12, 7]``.

Why tolerant: the text comes from a language model. It may wrap the span in prose, repeat it, leave
it unterminated (the generation budget ran out), emit ids outside the codebook or put stray text
between tokens. Rewards must score all of that without crashing, so :func:`parse_motion_text` never
raises: it returns a :class:`ParseResult` with ``valid`` and a human-readable ``reason``.

Rules (each one is tested):

- A span is ``<Motion>`` ... ``</Motion>``; when several ``<Motion>`` open before a ``</Motion>`` the
  innermost (last) one starts the span.
- The first *well-formed* span wins: at least one code, every id in ``0..codebook_size-1``. Later
  spans are only looked at when earlier ones are not well-formed.
- Inside a span, only canonical tokens ``<Motion_N>`` (N without leading zeros) are codes; any other
  text (whitespace, words, ``<Motion_-1>``, ``<Motion_x>``) is ignored junk and is mentioned in the
  reason, but does not make the span invalid.
- No well-formed span: ``valid=False``; ``codes`` holds the in-range codes of the first span (or of an
  unterminated trailing span), so a caller can still look at them; ``reason`` says what was wrong
  (no span, empty span, out-of-range ids, unterminated span).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from motion_r1_verl.response_format import MOTION_END, MOTION_START

_CODE_RE = re.compile(r"<Motion_(0|[1-9][0-9]*)>")
# Longest junk excerpt quoted in a reason.
_JUNK_EXCERPT = 40


def _empty_codes() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


@dataclass
class ParseResult:
    """Outcome of parsing motion-token text."""

    valid: bool
    """True when a well-formed span was found (``codes`` non-empty and all in range)."""
    codes: np.ndarray = field(default_factory=_empty_codes)
    """(N,) int64 codes of the chosen span (in-range ids only)."""
    reason: str = ""
    """``"ok"`` or what was wrong / ignored, e.g. ``"out-of-range ids [600] (codebook 512)"``."""


@dataclass
class _Span:
    codes: list[int]
    out_of_range: list[int]
    junk: str
    terminated: bool

    def problem(self, codebook_size: int) -> str | None:
        if self.out_of_range:
            shown = self.out_of_range[:5]
            more = f" and {len(self.out_of_range) - 5} more" if len(self.out_of_range) > 5 else ""
            return f"out-of-range ids {shown}{more} (codebook size {codebook_size})"
        if not self.codes:
            return "empty motion span" if self.terminated else "unterminated motion span with no codes"
        if not self.terminated:
            return f"unterminated motion span (no {MOTION_END})"
        return None


def _parse_body(body: str, codebook_size: int, terminated: bool) -> _Span:
    codes: list[int] = []
    out_of_range: list[int] = []
    junk_parts: list[str] = []
    pos = 0
    for match in _CODE_RE.finditer(body):
        junk_parts.append(body[pos : match.start()])
        pos = match.end()
        digits = match.group(1)
        # Bound the digit count before int(): a 10,000-digit id is out of range either way.
        code = int(digits) if len(digits) <= 18 else codebook_size + 10**18
        (codes if code < codebook_size else out_of_range).append(code)
    junk_parts.append(body[pos:])
    junk = "".join(junk_parts).strip()
    return _Span(codes=codes, out_of_range=out_of_range, junk=junk, terminated=terminated)


def _spans(text: str, codebook_size: int) -> list[_Span]:
    spans: list[_Span] = []
    pos = 0
    while True:
        start = text.find(MOTION_START, pos)
        if start < 0:
            return spans
        end = text.find(MOTION_END, start)
        if end < 0:
            # Innermost opening of the trailing, unterminated span.
            inner = text.rfind(MOTION_START, start)
            spans.append(_parse_body(text[inner + len(MOTION_START) :], codebook_size, terminated=False))
            return spans
        inner = text.rfind(MOTION_START, start, end)
        spans.append(_parse_body(text[inner + len(MOTION_START) : end], codebook_size, terminated=True))
        pos = end + len(MOTION_END)


def parse_motion_text(text: object, codebook_size: int) -> ParseResult:
    """Codes of the first well-formed motion span of ``text`` (see module docstring); never raises."""
    if not isinstance(text, str):
        return ParseResult(False, _empty_codes(), f"expected a string, got {type(text).__name__}")
    if codebook_size < 1:
        return ParseResult(False, _empty_codes(), f"codebook size must be >= 1, got {codebook_size}")
    spans = _spans(text, codebook_size)
    if not spans:
        return ParseResult(False, _empty_codes(), f"no {MOTION_START} span found")
    for span in spans:
        if span.problem(codebook_size) is None:
            reason = "ok"
            if span.junk:
                excerpt = span.junk[:_JUNK_EXCERPT] + ("..." if len(span.junk) > _JUNK_EXCERPT else "")
                reason = f"ok (ignored junk inside the span: {excerpt!r})"
            return ParseResult(True, np.asarray(span.codes, dtype=np.int64), reason)
    first = spans[0]
    reason = str(first.problem(codebook_size))
    if len(spans) > 1:
        reason += f" (none of the {len(spans)} spans is well-formed)"
    return ParseResult(False, np.asarray(first.codes, dtype=np.int64), reason)
