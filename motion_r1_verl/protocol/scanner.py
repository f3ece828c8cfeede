"""One linear scan of a model response into a typed :class:`Response`: reasoning, motion spans, verdicts.

The response format (:mod:`motion_r1_verl.protocol.template`) is::

    <think>reasoning</think><output>numbered plan</output><Motion><Motion_12><Motion_7>...</Motion>

or, in the paper's variant (``with_output=False``), the same without the ``<output>`` block. A language
model does not always follow it, so the scan never raises and reads every response two ways at once:

- **strict** (``format_ok``, ``reason``): the whole response is exactly the template (whitespace between
  blocks and between motion tokens allowed), the think (and plan) text is non-empty and holds no tag,
  the motion span holds only canonical ``<Motion_N>`` tokens (N without leading zeros), with
  ``min_codes <= count <= max_codes`` and every id in the codebook. This is the format reward.
- **tolerant** (``parse_ok``, ``parse_reason``, ``codes``, ``spans``, ``think``, ``plan``, ``notes``):
  what a reader or a similarity reward can still use. A span is ``<Motion>`` ... ``</Motion>``; when
  several ``<Motion>`` open before a ``</Motion>`` the innermost (last) one starts it; a ``</Motion>``
  before any opening is ignored. The first *well-formed* span (at least one code, every id in range)
  gives ``codes``; inside it, anything but a canonical token is junk, mentioned in ``parse_reason`` but
  not fatal. With no well-formed span, ``codes`` holds the in-range codes of the first span so a caller
  can still look at them. ``think``/``plan`` are the first blocks' bodies; an unterminated block ends at
  the next block's tag (or the text's end) and is noted.

One regular expression finds every tag in a single left-to-right pass (alternatives of literals, no
nested quantifiers): a 10 MB garbage response costs milliseconds. Both readings walk that tag list.

    >>> r = scan_response("<think>walk</think><output>1. walk</output><Motion>" + "<Motion_3>" * 12 + "</Motion>",
    ...                   codebook_size=512)
    >>> (r.format_ok, r.parse_ok, r.codes.tolist()[:2], r.think, r.plan, r.reason)
    (True, True, [3, 3], 'walk', '1. walk', 'ok')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from motion_r1_verl.motion.core.constants import MAX_FRAMES, MIN_FRAMES
from motion_r1_verl.protocol.template import (
    MOTION_END,
    MOTION_START,
    OUTPUT_END,
    OUTPUT_START,
    THINK_END,
    THINK_START,
)

# One code covers 2**down_t frames of the VQ-VAE (4 for T2M-GPT's down_t = 2). Callers that hold a codec
# pass its ``frames_per_code``; this default serves those that judge text without one.
DEFAULT_FRAMES_PER_CODE = 4
# An id with more digits than this is out of range for any codebook; int() is never called on it.
MAX_ID_DIGITS = 18
# Longest junk excerpt quoted in a reason.
_JUNK_EXCERPT = 40

# Every tag, or the start of a motion token: group 1 = a canonical id (``<Motion_N>``, no leading zero);
# a bare ``<Motion_`` match is the start of a non-canonical token (``<Motion_03>``, ``<Motion_x>``).
_TAG_RE = re.compile(r"</?think>|</?output>|</?Motion>|<Motion_(?:(0|[1-9][0-9]*)>)?")
_CODE = "code"  # the kind of a canonical motion token
_BARE = "<Motion_"  # the kind of a non-canonical one

# Every reason the strict reading can give, so callers can count them by a fixed key.
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


def code_limits(frames_per_code: int = DEFAULT_FRAMES_PER_CODE) -> tuple[int, int]:
    """Allowed motion span length in codes: the dataset's clip lengths (40..196 frames), 10..49 at 4 frames/code."""
    return MIN_FRAMES // frames_per_code, MAX_FRAMES // frames_per_code


DEFAULT_MIN_CODES, DEFAULT_MAX_CODES = code_limits()


# A tag is a plain tuple (kind, start, end, digits): a 10 MB response holds a million of them, and tuples are
# made several times faster than objects. kind is the tag's literal text, _CODE or _BARE.
_Tag = tuple[str, int, int, str]
KIND, START, END, DIGITS = range(4)


@dataclass(frozen=True)
class MotionSpan:
    """One ``<Motion>`` ... ``</Motion>`` span (or an unterminated trailing one)."""

    codes: tuple[int, ...]
    """In-range codes, in order."""
    out_of_range: tuple[str, ...]
    """Ids at or above the codebook size, as written."""
    junk: str
    """Everything inside the span that is not a canonical motion token, stripped."""
    terminated: bool

    def problem(self, codebook_size: int) -> str | None:
        """Why this span is not well-formed, or None."""
        if self.out_of_range:
            shown = ", ".join(d if len(d) <= 12 else d[:12] + "..." for d in self.out_of_range[:5])
            more = f" and {len(self.out_of_range) - 5} more" if len(self.out_of_range) > 5 else ""
            return f"out-of-range ids [{shown}]{more} (codebook size {codebook_size})"
        if not self.codes:
            return "empty motion span" if self.terminated else "unterminated motion span with no codes"
        if not self.terminated:
            return f"unterminated motion span (no {MOTION_END})"
        return None


@dataclass(frozen=True)
class Response:
    """What one scan found in a response (see the module docstring for both readings)."""

    format_ok: bool
    """The response is exactly the template."""
    reason: str
    """``"ok"`` or the first format problem, one of ``FORMAT_REASONS``."""
    parse_ok: bool
    """A well-formed motion span exists."""
    parse_reason: str
    """``"ok"`` (possibly with the junk it ignored) or what was wrong with the motion spans."""
    codes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """(N,) int64 codes of the first well-formed span (or the in-range codes of the first span)."""
    spans: tuple[MotionSpan, ...] = ()
    think: str | None = None
    """The first ``<think>`` body, stripped; None when there is none."""
    plan: str | None = None
    """The first ``<output>`` body, stripped; None when there is none."""
    notes: tuple[str, ...] = ()
    """What a reader should know about the blocks, e.g. ``"no </think>"``; empty when both are whole."""


def _in_range(tag: _Tag, codebook_size: int) -> bool:
    return len(tag[DIGITS]) <= MAX_ID_DIGITS and int(tag[DIGITS]) < codebook_size


def _span(text: str, tags: list[_Tag], body_start: int, body_end: int, codebook_size: int, terminated: bool):
    codes: list[int] = []
    out_of_range: list[str] = []
    junk: list[str] = []
    pos = body_start
    for tag in tags:
        if tag[KIND] != _CODE:
            continue  # a nested <Motion>, a bare <Motion_ or another tag: junk, kept in the text between codes
        junk.append(text[pos : tag[START]])
        pos = tag[END]
        (codes.append(int(tag[DIGITS])) if _in_range(tag, codebook_size) else out_of_range.append(tag[DIGITS]))
    junk.append(text[pos:body_end])
    return MotionSpan(tuple(codes), tuple(out_of_range), "".join(junk).strip(), terminated)


def _spans(text: str, tags: list[_Tag], codebook_size: int) -> list[MotionSpan]:
    spans: list[MotionSpan] = []
    opened: int | None = None  # index in tags of the innermost <Motion> not yet closed
    for i, tag in enumerate(tags):
        if tag[KIND] == MOTION_START:
            opened = i
        elif tag[KIND] == MOTION_END and opened is not None:
            start = tags[opened][END]
            spans.append(_span(text, tags[opened + 1 : i], start, tag[START], codebook_size, terminated=True))
            opened = None
    if opened is not None:
        spans.append(_span(text, tags[opened + 1 :], tags[opened][END], len(text), codebook_size, terminated=False))
    return spans


def _tolerant_codes(spans: list[MotionSpan], codebook_size: int) -> tuple[bool, np.ndarray, str]:
    if not spans:
        return False, np.zeros(0, dtype=np.int64), f"no {MOTION_START} span found"
    for span in spans:
        if span.problem(codebook_size) is None:
            reason = "ok"
            if span.junk:
                excerpt = span.junk[:_JUNK_EXCERPT] + ("..." if len(span.junk) > _JUNK_EXCERPT else "")
                reason = f"ok (ignored junk inside the span: {excerpt!r})"
            return True, np.asarray(span.codes, dtype=np.int64), reason
    reason = str(spans[0].problem(codebook_size))
    if len(spans) > 1:
        reason += f" (none of the {len(spans)} spans is well-formed)"
    return False, np.asarray(spans[0].codes, dtype=np.int64), reason


def _first(tags: list[_Tag], kind: str, after: int = 0) -> int | None:
    """Index of the first tag of ``kind`` from index ``after`` on."""
    return next((i for i in range(after, len(tags)) if tags[i][KIND] == kind), None)


def _reading_block(text: str, tags: list[_Tag], start: str, end: str, stops: tuple[str, ...], notes: list[str]):
    """Body of the first ``start`` block for a reader; an unterminated one ends at the next stop tag."""
    i = _first(tags, start)
    if i is None:
        notes.append(f"no {start} block")
        return None
    j = _first(tags, end, i + 1)
    if j is not None:
        return text[tags[i][END] : tags[j][START]].strip()
    notes.append(f"no {end}")
    stop = next((t[START] for t in tags[i + 1 :] if t[KIND] in stops), len(text))
    return text[tags[i][END] : stop].strip()


def _only_space(text: str, start: int, end: int) -> bool:
    return not text[start:end].strip()


def _strict_block(text: str, tags: list[_Tag], i: int, pos: int, start: str, end: str, missing: str):
    """(index after the block's end tag, text position after it, problem) for a block expected at ``pos``."""
    if i >= len(tags) or tags[i][KIND] != start or not _only_space(text, pos, tags[i][START]):
        return i, pos, missing
    j = _first(tags, end, i + 1)
    if j is None:
        return i, pos, f"unterminated {start}"
    if _only_space(text, tags[i][END], tags[j][START]):
        return i, pos, f"empty {start}"
    if j != i + 1:
        return i, pos, f"tag inside {start}"
    return j + 1, tags[j][END], "ok"


def _strict_problem(text, tags, codebook_size: int, with_output: bool, min_codes: int, max_codes: int) -> str:
    """``"ok"`` or the first reason (from FORMAT_REASONS) why the stripped ``text`` is not the template."""
    i, pos, problem = _strict_block(text, tags, 0, 0, THINK_START, THINK_END, "missing <think> at the start")
    if problem != "ok":
        return problem
    if with_output:
        i, pos, problem = _strict_block(text, tags, i, pos, OUTPUT_START, OUTPUT_END, "missing <output> after </think>")
        if problem != "ok":
            return problem
    if i >= len(tags) or tags[i][KIND] != MOTION_START or not _only_space(text, pos, tags[i][START]):
        return "missing <Motion> after the reasoning"
    close = _first(tags, MOTION_END, i + 1)
    if close is None:
        return "missing <Motion> after the reasoning"
    if tags[close][END] != len(text):
        return "text after </Motion>"
    body, gap_start = tags[i + 1 : close], tags[i][END]
    for tag in body:
        if tag[KIND] != _CODE or not _only_space(text, gap_start, tag[START]):
            return "junk inside the motion span"
        gap_start = tag[END]
    if not _only_space(text, gap_start, tags[close][START]):
        return "junk inside the motion span"
    if not all(_in_range(tag, codebook_size) for tag in body):
        return "motion id out of range"
    if len(body) < min_codes:
        return "too few motion codes"
    if len(body) > max_codes:
        return "too many motion codes"
    return "ok"


def scan_response(
    text: object,
    codebook_size: int,
    *,
    with_output: bool = True,
    min_codes: int = DEFAULT_MIN_CODES,
    max_codes: int = DEFAULT_MAX_CODES,
) -> Response:
    """Both readings of ``text`` (see the module docstring); never raises."""
    if not isinstance(text, str):
        what = f"expected a string, got {type(text).__name__}"
        return Response(False, "not a string", False, what, notes=(what,))
    if codebook_size < 1:
        what = f"codebook size must be >= 1, got {codebook_size}"
        return Response(False, "motion id out of range", False, what)
    text = text.strip()
    # group 1 is a canonical id; otherwise the match itself names the kind (a literal tag, or _BARE).
    tags = [(m[0] if m[1] is None else _CODE, m.start(), m.end(), m[1] or "") for m in _TAG_RE.finditer(text)]
    spans = _spans(text, tags, codebook_size)
    parse_ok, codes, parse_reason = _tolerant_codes(spans, codebook_size)
    notes: list[str] = []
    think = _reading_block(text, tags, THINK_START, THINK_END, (OUTPUT_START, MOTION_START), notes)
    plan = _reading_block(text, tags, OUTPUT_START, OUTPUT_END, (MOTION_START,), notes)
    reason = _strict_problem(text, tags, codebook_size, with_output, min_codes, max_codes)
    return Response(reason == "ok", reason, parse_ok, parse_reason, codes, tuple(spans), think, plan, tuple(notes))
