"""Captions for a plan: several paraphrases from varied templates, every one true to the plan.

Each step becomes a verb phrase in two forms (third person "walks forward three steps", gerund
"walking forward three steps") drawn from per-action paraphrase lists; a template then joins the
phrases, stating the order explicitly ("..., then ...", "first ..., then ..., finally ...") or
implicitly ("after walking ..., someone turns ...", "... before turning ...") and, for an arm action
done during another one (a step with ``timing == "with_previous"``), "while ...".

A phrase may leave a detail out (the count, the speed) but never says something the plan does not:
captions are derived from the plan, and ``tests/motion/synth`` checks them against plans.jsonl.
"""

from __future__ import annotations

import numpy as np

SUBJECTS = (
    "a person",
    "someone",
    "a man",
    "a woman",
    "the person",
    "a human",
    "somebody",
    "the man",
    "the woman",
    "a figure",
)
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
TIMES = {1: "once", 2: "twice"}

Phrase = tuple[str, str]  # (third person singular, gerund)


def _times(n: int) -> str:
    return TIMES.get(n, f"{NUMBER_WORDS[n]} times")


def _pick(rng: np.random.Generator, options: list):
    return options[int(rng.integers(len(options)))]


def _maybe(rng: np.random.Generator, p: float) -> bool:
    return bool(rng.random() < p)


def _side_phrase(rng: np.random.Generator, side: str, part: str) -> str:
    """ "the right hand" / "their left hand" / "both hands"."""
    if side == "both":
        return f"both {part}s"
    return f"{_pick(rng, ['the', 'their', 'the'])} {side} {part}"


def _steps_words(rng: np.random.Generator, count: int | None, p: float = 0.7) -> str:
    if count is None or not _maybe(rng, p):
        return ""
    return f" {NUMBER_WORDS[count]} step{'s' if count > 1 else ''}"


def _walk(rng: np.random.Generator, step: dict) -> Phrase:
    direction, count, speed = step["direction"], step["count"], step["speed"]
    adverb = ""
    if speed == "slow" and _maybe(rng, 0.8):
        adverb = " " + _pick(rng, ["slowly", "slowly", "carefully"])
    elif speed == "fast" and _maybe(rng, 0.8):
        adverb = " " + _pick(rng, ["quickly", "briskly", "fast"])
    n = _steps_words(rng, count)
    if direction in ("left", "right"):
        where = _pick(rng, [f"to the {direction}", f"to their {direction}", f"{direction}"])
        verb = _pick(
            rng,
            [
                ("sidesteps", "sidestepping"),
                ("steps sideways", "stepping sideways"),
                ("walks sideways", "walking sideways"),
                ("shuffles sideways", "shuffling sideways"),
            ],
        )
        return f"{verb[0]}{n} {where}{adverb}", f"{verb[1]}{n} {where}{adverb}"
    if direction == "backward":
        form = _pick(rng, [0, 1, 2])
        if form == 0:
            back = _pick(rng, ["backward", "backwards"])
            return f"walks {back}{n}{adverb}", f"walking {back}{n}{adverb}"
        if form == 1:
            return f"steps back{n}{adverb}", f"stepping back{n}{adverb}"
        return f"backs up{n}{adverb}", f"backing up{n}{adverb}"
    ahead = _pick(rng, ["forward", "forward", "ahead", "straight ahead", "forwards"])
    if n and _maybe(rng, 0.3):
        size = {"slow": "small ", "fast": "quick ", "normal": ""}[speed or "normal"]
        noun = f"{NUMBER_WORDS[count]} {size}step{'s' if count > 1 else ''}"
        return f"takes {noun} {ahead}", f"taking {noun} {ahead}"
    verb = _pick(rng, [("walks", "walking"), ("walks", "walking"), ("strides", "striding"), ("moves", "moving")])
    return f"{verb[0]} {ahead}{n}{adverb}", f"{verb[1]} {ahead}{n}{adverb}"


def _run(rng: np.random.Generator, step: dict) -> Phrase:
    n = _steps_words(rng, step["count"], 0.5)
    ahead = _pick(rng, ["forward", "ahead", "forwards"])
    if step["speed"] == "fast":
        verb = _pick(
            rng, [("sprints", "sprinting"), ("runs quickly", "running quickly"), ("runs fast", "running fast")]
        )
    else:
        verb = _pick(rng, [("runs", "running"), ("jogs", "jogging"), ("runs", "running")])
    return f"{verb[0]} {ahead}{n}", f"{verb[1]} {ahead}{n}"


def _turn(rng: np.random.Generator, step: dict) -> Phrase:
    d, angle = step["direction"], step["angle"]
    options = [f"to the {d}", f"{d}", f"{angle} degrees to the {d}"]
    if angle == 45:
        options.append(f"slightly to the {d}")
    if angle == 90:
        options += [f"90 degrees {d}"]
        if _maybe(rng, 0.5):
            return f"makes a quarter turn to the {d}", f"making a quarter turn to the {d}"
    if angle == 180:
        options += [f"around to the {d}", f"{d} to face the other way"]
        if _maybe(rng, 0.4):
            return f"does a half turn to the {d}", f"doing a half turn to the {d}"
    where = _pick(rng, options)
    verb = _pick(rng, [("turns", "turning"), ("turns", "turning"), ("rotates", "rotating"), ("pivots", "pivoting")])
    return f"{verb[0]} {where}", f"{verb[1]} {where}"


def _spin(rng: np.random.Generator, step: dict) -> Phrase:
    d = step["direction"]
    sense = "counterclockwise" if d == "left" else "clockwise"
    how = _pick(rng, [f"to the {d}", sense, f"around to the {d}"])
    if step["angle"] == 720:
        how = _pick(rng, [f"to the {d}", sense])
        return f"spins around twice {how}", f"spinning around twice {how}"
    if _maybe(rng, 0.3):
        return f"does a full spin {how}", f"doing a full spin {how}"
    verb = _pick(rng, [("spins", "spinning"), ("spins in a full circle", "spinning in a full circle")])
    return f"{verb[0]} {how}", f"{verb[1]} {how}"


def _jump(rng: np.random.Generator, step: dict) -> Phrase:
    count = step["count"] or 1
    times = "" if count == 1 and _maybe(rng, 0.6) else f" {_times(count)}"
    if step["direction"] == "forward":
        verb = _pick(
            rng,
            [
                ("jumps forward", "jumping forward"),
                ("leaps forward", "leaping forward"),
                ("hops forward", "hopping forward"),
            ],
        )
    else:
        verb = _pick(
            rng,
            [
                ("jumps in place", "jumping in place"),
                ("jumps up", "jumping up"),
                ("hops on the spot", "hopping on the spot"),
                ("jumps", "jumping"),
            ],
        )
    return f"{verb[0]}{times}", f"{verb[1]}{times}"


def _squat(rng: np.random.Generator, step: dict) -> Phrase:
    count = step["count"] or 1
    if count > 1 and _maybe(rng, 0.5):
        return f"does {NUMBER_WORDS[count]} squats", f"doing {NUMBER_WORDS[count]} squats"
    times = "" if count == 1 else f" {_times(count)}"
    verb = _pick(rng, [("squats", "squatting"), ("squats down", "squatting down"), ("crouches down", "crouching down")])
    if count == 1 and _maybe(rng, 0.3):
        return "squats down and stands back up", "squatting down and standing back up"
    return f"{verb[0]}{times}", f"{verb[1]}{times}"


def _fixed(options: list[Phrase]):
    def phrase(rng: np.random.Generator, step: dict) -> Phrase:
        return _pick(rng, options)

    return phrase


def _wave(rng: np.random.Generator, step: dict) -> Phrase:
    count = step["count"]
    times = f" {_times(count)}" if count and _maybe(rng, 0.6) else ""
    hand = _side_phrase(rng, step["side"], "hand")
    form = _pick(rng, [0, 1, 2])
    if form == 0:
        return f"waves{times} with {hand}", f"waving{times} with {hand}"
    if form == 1:
        return f"waves {hand}{times}", f"waving {hand}{times}"
    return f"raises {hand} and waves{times}", f"raising {hand} and waving{times}"


def _raise_arm(rng: np.random.Generator, step: dict) -> Phrase:
    arm = _side_phrase(rng, step["side"], _pick(rng, ["arm", "arm", "hand"]))
    verb = _pick(rng, [("raises", "raising"), ("lifts", "lifting"), ("puts up", "putting up")])
    tail = _pick(rng, ["", "", " up", " into the air"]) if verb[0] != "puts up" else ""
    return f"{verb[0]} {arm}{tail}", f"{verb[1]} {arm}{tail}"


def _kick(rng: np.random.Generator, step: dict) -> Phrase:
    side = step["side"]
    form = _pick(rng, [0, 1, 2])
    if form == 0:
        leg = _side_phrase(rng, side, _pick(rng, ["leg", "foot"]))
        return f"kicks with {leg}", f"kicking with {leg}"
    if form == 1:
        leg = _side_phrase(rng, side, "leg")
        return f"kicks {leg} forward", f"kicking {leg} forward"
    return f"does a {side} kick", f"doing a {side} kick"


def _punch(rng: np.random.Generator, step: dict) -> Phrase:
    count, side = step["count"] or 1, step["side"]
    if count > 1 and _maybe(rng, 0.4):
        return (
            f"throws {NUMBER_WORDS[count]} punches with the {side} hand",
            f"throwing {NUMBER_WORDS[count]} punches with the {side} hand",
        )
    times = "" if count == 1 and _maybe(rng, 0.7) else f" {_times(count)}"
    hand = _side_phrase(rng, side, _pick(rng, ["hand", "fist", "arm"]))
    form = _pick(rng, [0, 1])
    if form == 0:
        return f"punches{times} with {hand}", f"punching{times} with {hand}"
    return f"punches forward{times} with {hand}", f"punching forward{times} with {hand}"


def _clap(rng: np.random.Generator, step: dict) -> Phrase:
    times = f" {_times(step['count'])}" if step["count"] and _maybe(rng, 0.7) else ""
    verb = _pick(
        rng,
        [
            ("claps", "clapping"),
            ("claps their hands", "clapping their hands"),
            ("claps the hands", "clapping the hands"),
        ],
    )
    return f"{verb[0]}{times}", f"{verb[1]}{times}"


PHRASES = {
    "walk": _walk,
    "run": _run,
    "turn": _turn,
    "spin": _spin,
    "jump": _jump,
    "squat": _squat,
    "sit_down": _fixed(
        [
            ("sits down", "sitting down"),
            ("takes a seat", "taking a seat"),
            ("sits down on a chair", "sitting down on a chair"),
        ]
    ),
    "stand_up": _fixed(
        [
            ("stands up", "standing up"),
            ("gets up", "getting up"),
            ("rises to stand", "rising to stand"),
            ("stands up from the chair", "standing up from the chair"),
        ]
    ),
    "wave": _wave,
    "raise_arm": _raise_arm,
    "kick": _kick,
    "punch": _punch,
    "bow": _fixed(
        [
            ("bows", "bowing"),
            ("bows forward", "bowing forward"),
            ("takes a bow", "taking a bow"),
            ("bends forward at the waist", "bending forward at the waist"),
            ("bows down", "bowing down"),
        ]
    ),
    "clap": _clap,
    "stand": _fixed(
        [
            ("stands still", "standing still"),
            ("stays still", "staying still"),
            ("pauses", "pausing"),
            ("waits for a moment", "waiting for a moment"),
            ("stands in place", "standing in place"),
        ]
    ),
}


def _join(parts: list[str], rng: np.random.Generator) -> str:
    """Join sequential phrases with varied explicit-order connectors."""
    out = parts[0]
    for part in parts[1:]:
        out += _pick(rng, [", then ", " and then ", ", and then ", " then "]) + part
    return out


def _groups(plan: list[dict]) -> list[list[int]]:
    """Step indices grouped so an arm action done during the previous step shares its group."""
    groups: list[list[int]] = []
    for i, step in enumerate(plan):
        if step.get("timing") == "with_previous" and groups:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def caption(plan: list[dict], rng: np.random.Generator) -> str:
    """One caption for ``plan`` (plans.jsonl steps), template drawn from ``rng``."""
    subject = _pick(rng, list(SUBJECTS))
    phrases = [PHRASES[s["action"]](rng, s) for s in plan]
    # Each group: third-person and gerund forms of "A while B-ing" (or just A).
    third, gerund = [], []
    for group in _groups(plan):
        main = phrases[group[0]]
        if len(group) == 1:
            third.append(main[0])
            gerund.append(main[1])
        else:
            extra = " and ".join(phrases[i][1] for i in group[1:])
            third.append(f"{main[0]} while {extra}")
            gerund.append(f"{main[1]} while {extra}")
    n = len(third)
    if n == 1:
        style = "single"
    else:
        style = _pick(rng, ["then", "then", "first", "after", "before", "before_front"])
    if style == "single":
        text = f"{subject} {third[0]}"
    elif style == "then":
        text = f"{subject} {_join(third, rng)}"
    elif style == "first":
        middle = "".join(f", then {p}" for p in third[1:-1])
        text = f"{subject} first {third[0]}{middle}, {_pick(rng, ['and finally', 'and then', 'finally'])} {third[-1]}"
    else:
        k = int(rng.integers(1, n))
        if style == "after":
            head = " and then ".join(gerund[:k])
            text = f"after {head}, {subject} {_join(third[k:], rng)}"
        elif style == "before":
            text = f"{subject} {_join(third[:k], rng)} before {' and then '.join(gerund[k:])}"
        else:
            text = f"before {' and then '.join(gerund[k:])}, {subject} {_join(third[:k], rng)}"
    text = text[0].upper() + text[1:]
    return text + "."


def captions(plan: list[dict], rng: np.random.Generator, n: int = 3, max_tries: int = 20) -> list[str]:
    """``n`` distinct paraphrases of ``plan`` (fewer only if the templates run out)."""
    out: list[str] = []
    for _ in range(max_tries):
        text = caption(plan, rng)
        if text not in out:
            out.append(text)
        if len(out) == n:
            break
    return out
