"""Parse LLM answers: the decomposition into steps, the verification into a verdict.

Models wrap JSON in markdown fences, add a sentence before it, or emit trailing commas; this module
accepts the first JSON object in the text (fences stripped) and nothing looser. Anything else raises
``ParseError`` with a reason short enough to store in a failed row and to feed back to the model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from motion_r1_verl.cot.steps import normalize_step

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)
MAX_STEPS = 12  # more than this is padding, not a decomposition of one caption


class ParseError(ValueError):
    """The answer is not in the requested format; the message says what is wrong."""


def extract_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in ``text`` (inside a ``` fence if there is one)."""
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    start = text.find("{")
    if start < 0:
        raise ParseError(f"no JSON object in answer: {text[:80]!r}")
    try:
        obj, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as err:
        raise ParseError(f"malformed JSON ({err.msg} at char {err.pos - start})") from None
    if not isinstance(obj, dict):
        raise ParseError("answer JSON is not an object")
    return obj


def parse_steps(text: str) -> list[dict[str, Any]]:
    """Steps of a decomposition answer ``{"steps": [...]}``, normalised (see ``steps.normalize_step``).

    Each step keeps ``phrase``/``body_part`` and gets ``timing`` ("after_previous" unless the model
    said "with_previous"; the first step is always "after_previous").
    """
    obj = extract_json_object(text)
    raw_steps = obj.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ParseError('answer has no non-empty "steps" list')
    if len(raw_steps) > MAX_STEPS:
        raise ParseError(f"answer has {len(raw_steps)} steps, more than {MAX_STEPS}")
    steps = []
    for index, raw in enumerate(raw_steps):
        try:
            step = normalize_step(raw)
        except ValueError as err:
            raise ParseError(f"step {index + 1}: {err}") from None
        step["timing"] = "after_previous" if index == 0 else step.get("timing", "after_previous")
        steps.append(step)
    return steps


@dataclass(frozen=True)
class Verdict:
    """A verification answer: rubric scores 1..5, the model's pass flag and its one-line reason."""

    relevance: int
    logical_consistency: int
    conciseness: int
    passed: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "relevance": self.relevance,
            "logical_consistency": self.logical_consistency,
            "conciseness": self.conciseness,
            "pass": self.passed,
            "reason": self.reason,
        }


def parse_verdict(text: str) -> Verdict:
    """A ``Verdict`` from ``{"relevance": int, "logical_consistency": int, "conciseness": int, "pass": bool,
    "reason": str}``."""
    obj = extract_json_object(text)
    scores = {}
    for key in ("relevance", "logical_consistency", "conciseness"):
        value = obj.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 5:
            raise ParseError(f"verdict.{key} must be a score 1..5, got {value!r}")
        scores[key] = int(value)
    passed = obj.get("pass")
    if not isinstance(passed, bool):
        raise ParseError(f"verdict.pass must be true or false, got {passed!r}")
    reason = obj.get("reason")
    return Verdict(**scores, passed=passed, reason=str(reason or "").strip()[:300])
