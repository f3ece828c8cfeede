"""The structured sub-action step: vocabulary, normalisation and validation.

One step is a plain dict in the ``plans.jsonl`` format::

    {"action": "walk", "side": None, "direction": "forward", "count": 3, "speed": "normal",
     "angle": None, "start": 0, "end": 58}

The ``plans.jsonl`` contract (written by ``motion_r1_verl.motion.sources.synth``, read by the oracle CoT, the rules'
precision/recall and ``datasets.triplets``): one JSON object per line, ``{"id": clip id, "length": frames,
"steps": [step, ...]}``, steps in time order. A step's keys: ``action`` (one of ACTIONS), ``side`` (SIDES or
null), ``direction`` (DIRECTIONS or null), ``count`` (int or null), ``speed`` (SPEEDS or null), ``angle``
(degrees or null; turns and spins), ``start``/``end`` (frames at 20 fps, end exclusive). The synthetic
generator's ``synth.primitives.Step`` is the same record without ``start``/``end`` (composition assigns them)
and ``Step.to_dict`` writes it in this shape.

Every source of chains (the synthetic dataset's oracle plans, the rule-based decomposer, an LLM)
produces this shape, so rendering, verification and the step-level precision/recall all work on one
type. Optional keys widen it for free-form captions: ``body_part`` (e.g. "right arm"), ``phrase``
(the verb phrase as written, used when ``action`` is outside the closed vocabulary) and ``timing``
("after_previous" or "with_previous" for a sub-action overlapping the one before, "while ...").
"""

from __future__ import annotations

from typing import Any

# The synthetic dataset's closed action vocabulary (the plans.jsonl contract above).
ACTIONS: tuple[str, ...] = (
    "walk",
    "run",
    "turn",
    "jump",
    "squat",
    "sit_down",
    "stand_up",
    "wave",
    "raise_arm",
    "kick",
    "punch",
    "bow",
    "spin",
    "clap",
    "stand",
)
SIDES: tuple[str, ...] = ("left", "right", "both")
DIRECTIONS: tuple[str, ...] = ("forward", "backward", "left", "right", "in_place")
SPEEDS: tuple[str, ...] = ("slow", "normal", "fast")
TIMINGS: tuple[str, ...] = ("after_previous", "with_previous")
STEP_KEYS: tuple[str, ...] = ("action", "side", "direction", "count", "speed", "angle", "start", "end")
OPTIONAL_KEYS: tuple[str, ...] = ("body_part", "phrase", "timing")


def normalize_step(raw: dict[str, Any]) -> dict[str, Any]:
    """A step with every key of ``STEP_KEYS`` present (missing ones ``None``), enums lower-cased and
    checked. Raises ``ValueError`` naming the field for a value outside the vocabulary.

    ``action`` may be any non-empty verb (free-form captions say "stumble"); the other enums are
    closed because rendering and scoring depend on them.
    """
    if not isinstance(raw, dict):
        raise ValueError(f"step must be an object, got {type(raw).__name__}")
    action = raw.get("action")
    if not isinstance(action, str) or not action.strip():
        raise ValueError(f"step.action must be a non-empty string, got {action!r}")
    step: dict[str, Any] = {"action": action.strip().lower().replace(" ", "_")}
    for key, vocab in (("side", SIDES), ("direction", DIRECTIONS), ("speed", SPEEDS)):
        value = raw.get(key)
        if isinstance(value, str):
            value = value.strip().lower().replace(" ", "_").replace("-", "_") or None
        if value is not None and value not in vocab:
            raise ValueError(f"step.{key} must be one of {vocab} or null, got {value!r}")
        step[key] = value
    for key in ("count", "angle", "start", "end"):
        value = raw.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
                raise ValueError(f"step.{key} must be an integer or null, got {value!r}")
            value = int(value)
            if key != "angle" and value < 0:
                raise ValueError(f"step.{key} must be >= 0, got {value}")
        step[key] = value
    if step["start"] is not None and step["end"] is not None and step["end"] < step["start"]:
        raise ValueError(f"step.end ({step['end']}) is before step.start ({step['start']})")
    for key in OPTIONAL_KEYS:
        value = raw.get(key)
        if isinstance(value, str) and value.strip():
            step[key] = value.strip()
    if step.get("timing", TIMINGS[0]) not in TIMINGS:
        raise ValueError(f"step.timing must be one of {TIMINGS} or absent, got {step['timing']!r}")
    return step
