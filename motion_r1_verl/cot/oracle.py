"""Render a structured sub-action chain into Motion-R1's ``<think>`` text and ``<output>`` plan.

The synthetic dataset's ``plans.jsonl`` holds the ground-truth chain of every clip; rendering it is
the "oracle" CoT source used when no LLM is available (``motion-r1 cot build --mode oracle``). The
rule-based and LLM sources produce the same step dicts and go through the same renderer, so the three
sources differ only in how the chain was obtained, never in how it reads.

    >>> think, plan = render_steps([
    ...     {"action": "walk", "direction": "forward", "count": 3, "start": 0, "end": 58},
    ...     {"action": "wave", "side": "right", "count": 2, "start": 58, "end": 100}])
    >>> plan
    '1. walk forward 3 steps\\n2. wave the right hand 2 times'

The text is deterministic (same steps -> same text): the SFT target must not change between runs.
"""

from __future__ import annotations

from typing import Any

from motion_r1_verl.cot.steps import normalize_step
from motion_r1_verl.motion.core.constants import FPS

# Body part each action mainly uses; ``{side}`` is filled with "left"/"right"/"both".
_BODY_PART: dict[str, str] = {
    "walk": "legs",
    "run": "legs",
    "turn": "whole body, pivoting on the feet",
    "jump": "both legs",
    "squat": "hips and knees",
    "sit_down": "hips and knees",
    "stand_up": "legs",
    "wave": "{side} hand",
    "raise_arm": "{side} arm",
    "kick": "{side} leg",
    "punch": "{side} arm",
    "bow": "upper body",
    "spin": "whole body",
    "clap": "both hands",
    "stand": "whole body",
}
# (imperative, third person) verb phrases of the closed vocabulary.
_VERB: dict[str, tuple[str, str]] = {
    "walk": ("walk", "walks"),
    "run": ("run", "runs"),
    "turn": ("turn", "turns"),
    "jump": ("jump", "jumps"),
    "squat": ("squat", "squats"),
    "sit_down": ("sit down", "sits down"),
    "stand_up": ("stand up", "stands up"),
    "wave": ("wave", "waves"),
    "raise_arm": ("raise", "raises"),
    "kick": ("kick", "kicks"),
    "punch": ("punch", "punches"),
    "bow": ("bow", "bows"),
    "spin": ("spin", "spins"),
    "clap": ("clap", "claps"),
    "stand": ("stand still", "stands still"),
}
_SPEED_ADVERB: dict[str, str] = {"slow": "slowly", "fast": "quickly"}
_CONNECTORS: tuple[str, ...] = ("First", "Then", "Next", "After that")


def _third_person(verb: str) -> str:
    """'stumble' -> 'stumbles', 'reach' -> 'reaches', 'carry' -> 'carries' (first word only)."""
    head, _, rest = verb.partition(" ")
    if head.endswith(("s", "sh", "ch", "x", "z", "o")):
        head += "es"
    elif head.endswith("y") and len(head) > 1 and head[-2] not in "aeiou":
        head = head[:-1] + "ies"
    else:
        head += "s"
    return f"{head} {rest}".strip()


def _side_word(side: str | None, default: str = "right") -> str:
    return {"left": "left", "right": "right", "both": "both"}.get(side or "", default)


def _object(step: dict[str, Any]) -> str:
    """What follows the verb: 'the right hand', 'both arms', 'with the left leg', ''."""
    action, side = step["action"], step["side"]
    if action == "wave":
        return "both hands" if side == "both" else f"the {_side_word(side)} hand"
    if action == "raise_arm":
        return "both arms" if side == "both" else f"the {_side_word(side)} arm"
    if action == "kick" and side:
        return "with both legs" if side == "both" else f"with the {side} leg"
    if action == "punch" and side:
        return "with both fists" if side == "both" else f"with the {side} fist"
    return ""


def _direction(step: dict[str, Any]) -> str:
    action, direction, angle = step["action"], step["direction"], step["angle"]
    if action in ("turn", "spin"):
        parts = []
        if angle is not None:
            parts.append(f"{abs(angle)} degrees")
        if direction in ("left", "right"):
            parts.append(f"to the {direction}" if parts else direction)
        return " ".join(parts)
    if direction == "in_place":
        return "in place"
    return direction or ""


def _count(step: dict[str, Any]) -> str:
    count, action = step["count"], step["action"]
    if count is None or action in ("turn", "spin", "sit_down", "stand_up", "stand"):
        return ""
    if action in ("walk", "run"):
        return f"{count} step" + ("" if count == 1 else "s")
    return "once" if count == 1 else f"{count} times"


def _phrase(step: dict[str, Any], third_person: bool) -> str:
    """The step as a verb phrase, e.g. 'walk forward 3 steps slowly'.

    A step that carries its own ``phrase`` (rule-based and LLM chains: the caption's words) is said in
    those words; the templates are for structured plans, whose attributes are all there is.
    """
    action = step["action"]
    if step.get("phrase"):
        return _third_person(step["phrase"]) if third_person else step["phrase"]
    if action in _VERB:
        verb = _VERB[action][1 if third_person else 0]
    else:
        base = action.replace("_", " ")
        verb = _third_person(base) if third_person else base
    words = [verb, _object(step), _direction(step), _count(step), _SPEED_ADVERB.get(step["speed"] or "", "")]
    return " ".join(w for w in words if w)


def _body_part(step: dict[str, Any]) -> str | None:
    if step.get("body_part"):
        return step["body_part"]
    template = _BODY_PART.get(step["action"])
    if template is None:
        return None
    side = step["side"]
    if "{side}" in template and side == "both":
        return template.replace("{side} ", "both ") + "s"
    return template.format(side=_side_word(side))


def _timing(step: dict[str, Any]) -> str:
    if step["start"] is None or step["end"] is None:
        return ""
    return f" (from {step['start'] / FPS:.1f} s to {step['end'] / FPS:.1f} s)"


def _simultaneous(step: dict[str, Any]) -> bool:
    """Steps from the rule-based or LLM decomposer may overlap the previous one ("while ...")."""
    return step.get("timing") == "with_previous"


def _think_sentence(index: int, n: int, step: dict[str, Any]) -> str:
    if n == 1:
        lead = "The person"
    elif index > 0 and _simultaneous(step):
        lead = "At the same time, the person"
    elif index == n - 1:
        lead = "Finally, the person"
    else:
        lead = f"{_CONNECTORS[min(index, len(_CONNECTORS) - 1)]}, the person"
    phrase = _phrase(step, third_person=True)
    sentence = f"{lead} {phrase}{_timing(step)}"
    part = _body_part(step)
    # "kicks with the left leg, using the left leg" says the body part twice.
    if part and part.split(",")[0] not in phrase:
        sentence += f", using the {part}" if not part.startswith("both") else f", using {part}"
    return sentence + "."


def render_steps(steps: list[dict]) -> tuple[str, str]:
    """(think text, plan text) for an ordered chain of steps in the ``plans.jsonl`` format.

    The think text names how many sub-actions there are, then walks through them in order with the
    body part, direction and timing (seconds at 20 fps) of each; the plan is a numbered list of
    imperative verb phrases, one per line. Raises ``ValueError`` for an empty chain or a malformed step.
    """
    if not steps:
        raise ValueError("cannot render an empty chain of steps")
    norm = [normalize_step(s) for s in steps]
    n = len(norm)
    if n == 1:
        intro = "The description is a single action, so the motion has one sub-action."
    else:
        overlap = any(_simultaneous(s) for s in norm[1:])
        how = "in order, some of them at the same time" if overlap else "in order"
        intro = f"The description can be broken into {n} sub-actions performed {how}."
    think = " ".join([intro, *(_think_sentence(i, n, s) for i, s in enumerate(norm))])
    plan = "\n".join(
        f"{i + 1}. " + ("at the same time, " if i > 0 and _simultaneous(s) else "") + _phrase(s, third_person=False)
        for i, s in enumerate(norm)
    )
    return think, plan
