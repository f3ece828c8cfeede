"""Split a model response into the parts a user reads: the ``<think>`` reasoning and the ``<output>`` plan.

The response format (``motion_r1_verl.response_format``) is
``<think>reasoning</think><output>plan</output><Motion>...</Motion>``. A model does not always follow
it: a block may be missing, unterminated (the token budget ran out) or out of order. ``split_reasoning``
never raises; it returns what it found, ``None`` for a block that is absent, and notes on what was off,
so the generate command can show the reasoning of malformed responses too. Whether the MOTION span is
usable is decided elsewhere (the VQ codec's tolerant parser).

    >>> r = split_reasoning("<think>walk, then wave</think><output>1. walk</output><Motion><Motion_3></Motion>")
    >>> (r.think, r.plan, r.notes)
    ('walk, then wave', '1. walk', [])
"""

from __future__ import annotations

from dataclasses import dataclass, field

from motion_r1_verl.response_format import MOTION_START, OUTPUT_END, OUTPUT_START, THINK_END, THINK_START


@dataclass
class Reasoning:
    """The readable parts of a response."""

    think: str | None
    """Text inside ``<think>...</think>`` (stripped), or None when there is no ``<think>``."""
    plan: str | None
    """Text inside ``<output>...</output>`` (stripped), or None when there is no ``<output>``."""
    notes: list[str] = field(default_factory=list)
    """What deviates from the format, e.g. ``"no </think>"``; empty for a well-formed response."""


def _block(text: str, start_tag: str, end_tag: str, stops: tuple[str, ...], notes: list[str]) -> str | None:
    """Body of the first ``start_tag`` block; unterminated blocks end at the next stop tag or the text's end."""
    start = text.find(start_tag)
    if start < 0:
        notes.append(f"no {start_tag} block")
        return None
    body_start = start + len(start_tag)
    end = text.find(end_tag, body_start)
    if end < 0:
        notes.append(f"no {end_tag}")
        ends = [i for i in (text.find(stop, body_start) for stop in stops) if i >= 0]
        end = min(ends) if ends else len(text)
    return text[body_start:end].strip()


def split_reasoning(text: str) -> Reasoning:
    """The ``<think>`` and ``<output>`` bodies of ``text`` (see module docstring); never raises."""
    if not isinstance(text, str):
        return Reasoning(None, None, [f"expected a string, got {type(text).__name__}"])
    notes: list[str] = []
    think = _block(text, THINK_START, THINK_END, (OUTPUT_START, MOTION_START), notes)
    plan = _block(text, OUTPUT_START, OUTPUT_END, (MOTION_START,), notes)
    return Reasoning(think, plan, notes)
