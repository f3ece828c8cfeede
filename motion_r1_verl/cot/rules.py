"""Rule-based caption decomposer: free-form caption -> ordered steps, no LLM needed.

How it works, per sentence:

1. split into clauses on connectors (``then``, ``after that``, ``followed by``, ``before``, ``after``,
   ``while``, ``and``, commas); a clause without a verb is glued back onto the one before it, so
   "waves with the left and right hand" stays one step;
2. order the clauses by time, not by words: "Y after X" and "before X, Y" put X first, "after X, Y"
   and "Y before X" keep the word order; "while X" marks a step as simultaneous (``with_previous``);
3. in each clause find the verb (a motion-verb lexicon with inflections, then a suffix fallback for
   unknown verbs), map it onto the closed action vocabulary where it fits (jog -> run, crouch -> squat,
   gets up -> stand_up), and read side / direction / count / speed / angle from the words around it
   ("left hand" is a side, "to the left" a direction, "quarter circle" 90 degrees).

It is a baseline and a fallback, not a parser: ``bench/cot_rules.py`` measures how far it is from the
synthetic dataset's oracle plans and how often it splits real KIT-ML captions into several steps.
"""

from __future__ import annotations

import re
from typing import Any

from motion_r1_verl.cot.steps import normalize_step
from motion_r1_verl.motion.core.lexicon import MOTION_VERBS, VERB_FORMS

# Lemma -> action in the closed vocabulary; every other motion verb of the shared lexicon keeps the verb
# itself as the action.
_ACTION_OF: dict[str, str] = {
    "walk": "walk",
    "step": "walk",
    "stroll": "walk",
    "march": "walk",
    "pace": "walk",
    "tiptoe": "walk",
    "sidestep": "walk",
    "shuffle": "walk",
    "limp": "walk",
    "stride": "walk",
    "run": "run",
    "jog": "run",
    "sprint": "run",
    "dash": "run",
    "turn": "turn",
    "pivot": "turn",
    "rotate": "turn",
    "jump": "jump",
    "hop": "jump",
    "leap": "jump",
    "skip": "jump",
    "squat": "squat",
    "crouch": "squat",
    "sit": "sit_down",
    "stand": "stand",
    "rise": "stand_up",
    "wave": "wave",
    "raise": "raise_arm",
    "lift": "raise_arm",
    "kick": "kick",
    "punch": "punch",
    "box": "punch",
    "jab": "punch",
    "strike": "punch",
    "bow": "bow",
    "spin": "spin",
    "twirl": "spin",
    "clap": "clap",
    "stop": "stand",
    "wait": "stand",
    "pause": "stand",
    "remain": "stand",
    "stay": "stand",
}
_LEXICON: dict[str, str | None] = {**dict.fromkeys(MOTION_VERBS, None), **_ACTION_OF}
_NUMBERS: dict[str, int] = {
    "once": 1, "twice": 2, "thrice": 3, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "couple of": 2, "a single": 1,
}  # fmt: skip
_BODY = r"(hand|arm|leg|foot|feet|knee|elbow|shoulder|fist|wrist|toe|hip)s?"
_SUBJECT = re.compile(
    r"^(?:(?:a|an|the|one|this|that)\s+)?(?:\w+ing\s+|\w+ly\s+\w+\s+|old\s+|young\s+|tall\s+)?(?:person|man|woman|human|figure|subject|someone|somebody|individual|"
    r"guy|lady|boy|girl|he|she|they|it|character|people|actor|stick figure)\b\s*"
)
_AUX = re.compile(r"^(?:is|are|was|were|will|then|also|again|first|now|just|starts to|begins to)\s+")
# Connectors, longest first; the named group is the connector, the rest of the split is clause text.
_CONNECTOR = re.compile(
    r"\s*(?:,\s*)?\b(?P<c>and then|and after that|after that|afterwards|afterward|followed by|and finally|finally|"
    r"then|before|after|while|whilst|and|but)\b\s*|\s*(?P<comma>[,;])\s*"
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\s*[.!?]+$")
_NONVERB = frozenset(
    "forward forwards backward backwards left right times is his her their its ahead around sideways "
    "arms hands legs feet knees shoulders fingers hips objects things stairs circles degrees meters directions "
    "sides others slowly quickly fast slow always also as something anything nothing everything during ceiling "
    "this was has".split()
)
# "performs a turn", "starts jogging", "gets pushed": the motion is in the word after the light verb.
_LIGHT_VERBS = frozenset("perform do make take start begin continue keep give execute get go throw".split())


_FORMS = VERB_FORMS


def _fallback_lemma(word: str) -> str | None:
    """An unknown word that looks like a verb form (plays, stumbling, tossed) -> rough lemma."""
    if word in _NONVERB or len(word) < 4 or not word.isalpha() or word.endswith(("thing", "ss", "us", "ous")):
        return None
    if word.endswith("ing") and len(word) > 5:
        stem = word[:-3]
        return stem[:-1] if stem[-1] == stem[-2] and stem[-1] not in "ls" else stem
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return None


_QUANTIFIERS = frozenset("a an the few couple of some several many more two three four five six seven eight nine ten "
                         "small big large short long quick little tiny half".split())  # fmt: skip


def _find_verb(words: list[str], allow_fallback: bool, nouns: bool = False) -> tuple[int, str] | None:
    """(index, lemma) of the clause's verb: a known verb first in the clause, else an unknown verb-like
    first word ("ends up where it started" is about ending), else the first known verb anywhere.
    Adverbs in front are skipped ("slowly turns"); "steps" after a quantifier is a noun ("after a few
    steps" is not a clause) unless ``nouns`` (the object of a light verb: "takes two steps")."""
    first = 0
    while first < len(words) - 1 and words[first].endswith("ly") and words[first] not in _FORMS:
        first += 1
    if first >= len(words):
        return None
    if words[first] in _FORMS:
        return first, _FORMS[words[first]]
    if allow_fallback:
        lemma = _fallback_lemma(words[first])
        if lemma:
            return first, lemma
    for index, word in enumerate(words):
        if word in _FORMS:
            if (
                not nouns
                and word in ("step", "steps")
                and index > 0
                and (words[index - 1] in _QUANTIFIERS or words[index - 1].isdigit())
            ):
                continue
            return index, _FORMS[word]
    return None


def _strip_subject(text: str) -> tuple[str, bool]:
    """('walks forward', had_subject) for 'a person is walks forward' style clauses."""
    stripped = _SUBJECT.sub("", text, count=1)
    had_subject = stripped != text
    while True:
        new = _AUX.sub("", stripped, count=1)
        if new == stripped:
            return stripped, had_subject
        stripped = new


def _count(text: str, action: str) -> int | None:
    number = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten|a couple of|couple of|a single)"
    unit = r"(steps?|times|paces|jumps|hops|kicks|punches|claps|squats|waves)" if action != "turn" else r"times"
    match = re.search(rf"\b{number}\s+(?:\w+\s+)?{unit}\b", text)
    if match:
        word = match.group(1)
        return int(word) if word.isdigit() else _NUMBERS[word]
    match = re.search(r"\b(once|twice|thrice)\b", text)
    return _NUMBERS[match.group(1)] if match else None


def _angle(text: str) -> int | None:
    match = re.search(r"\b(\d+)\s*-?\s*degrees?\b", text)
    if match:
        return int(match.group(1))
    if re.search(r"\b(quarter)\b", text):
        return 90
    if re.search(r"\b(half|around|about face)\b", text):
        return 180
    if re.search(r"\b(full (turn|circle|rotation)|360)\b", text):
        return 360
    return None


def _side(text: str) -> tuple[str | None, str | None]:
    """(side, body part) from 'left hand', 'both arms', 'his hands'."""
    match = re.search(rf"\b(?:left and right|right and left|both)\s+(?:\w+\s+)?{_BODY}\b", text)
    if match:
        return "both", match.group(0)
    match = re.search(rf"\b(left|right)\s+{_BODY}\b", text)
    if match:
        return match.group(1), match.group(0)
    match = re.search(r"\b(left|right)\s+(?:\w+\s+)?(kick|punch|hook|jab|uppercut)s?\b", text)
    if match:
        return match.group(1), f"{match.group(1)} {'leg' if match.group(2) == 'kick' else 'arm'}"
    match = re.search(r"\b(?:his|her|their|the|its)?\s*(hands|arms|legs|feet|fists)\b", text)
    if match:
        return "both", f"both {match.group(1)}"
    match = re.search(rf"\b{_BODY}\b", text)
    return None, (match.group(0) if match else None)


def _direction(text: str, rotation: bool = True) -> str | None:
    """Travel/turn direction; (counter)clockwise counts only for rotations (``rotation``), since for
    "walks in a circle clockwise" neither left nor right is the truth."""
    # "left"/"right" right before a body part is a side, not a direction.
    text = re.sub(rf"\b(left|right)\s+{_BODY}", " ", text)
    if re.search(r"\b(counter[- ]?clockwise|anti[- ]?clockwise)\b", text):
        return "left" if rotation else None
    if re.search(r"\bclockwise\b", text):
        return "right" if rotation else None
    found = re.search(
        r"\b(in place|on the spot|on the same spot|in one place)\b|\b(forwards?|foreward|ahead|straight)\b|"
        r"\b(backwards?|back)\b|\b(left)\b|\b(right)\b",
        text,
    )
    if not found:
        return None
    return ("in_place", "forward", "backward", "left", "right")[found.lastindex - 1]


def _speed(text: str) -> str | None:
    if re.search(r"\b(slow|slowly|carefully|gently|cautiously)\b", text):
        return "slow"
    if re.search(r"\b(fast|quick|quickly|rapid|rapidly|hurriedly|briskly|energetically)\b", text):
        return "fast"
    return None


def _canonical(lemma: str, rest: str, side: str | None, body: str | None) -> str:
    """The closed-vocabulary action for a verb in its clause, or the verb itself."""
    if lemma == "rise" or (lemma in ("stand", "get") and re.match(r"^(back )?up\b", rest)):
        return "stand_up"
    if lemma == "back" and re.match(r"^(up|away|off)\b", rest):
        return "walk"  # "backs up": walks backward
    if lemma in ("move", "go") and _direction(rest) in ("forward", "backward", "left", "right"):
        return "walk"
    if lemma in ("raise", "lift", "put") and (body is None or re.search(r"arm|hand", body)):
        if lemma != "put" or re.search(r"\bup\b", rest):
            return "raise_arm"
    if lemma == "take" and re.match(r"^(a )?seat\b", rest):
        return "sit_down"
    if lemma == "bend" and re.search(r"\b(forward|at the waist|over)\b", rest) and not body:
        return "bow"
    if lemma == "sit" and re.search(r"\bup\b", rest):
        return "sit_up"
    if lemma == "lie" and re.search(r"\bdown\b", rest):
        return "lie_down"
    if lemma in ("turn", "rotate") and re.search(r"\b(spin|360|full (turn|circle)|twirl)\b", rest):
        return "spin"
    mapped = _LEXICON.get(lemma)
    return mapped if mapped is not None else lemma


def clause_step(clause: str) -> dict[str, Any] | None:
    """One step from one clause ("a man waves his right hand twice"), or None when it has no verb."""
    text, _ = _strip_subject(clause.strip())
    words = text.split()
    found = _find_verb(words, allow_fallback=True)
    if found is None:
        return None
    index, lemma = found
    rest = " ".join(words[index + 1 :])
    phrase = " ".join([lemma, rest]).strip()
    if lemma in _LIGHT_VERBS:
        head = _find_verb(words[index + 1 : index + 5], allow_fallback=False, nouns=True)
        if head is not None and head[1] not in _LIGHT_VERBS and not (lemma == "get" and head[1] == "stand"):
            # "makes four small steps forward": walk, but count/direction come from the whole tail
            lemma = head[1]
            if head[0] == 0:
                rest = " ".join(words[index + 2 :])
    side, body = _side(rest)
    if body is None:  # "both arms are raised", "does a left kick": the side came before the verb
        side, body = _side(" ".join(words[: index + 1]))
    action = _canonical(lemma, rest, side, body)
    step: dict[str, Any] = {"action": action, "phrase": phrase}
    if action in ("wave", "raise_arm", "kick", "punch") or (body and action != "clap"):
        step["side"] = side  # clapping always uses both hands: no side to tell
    if action in ("walk", "run", "turn", "jump", "spin", "stumble", "move", "go", "crawl"):
        step["direction"] = _direction(rest, rotation=action in ("turn", "spin"))
        if lemma == "back":
            step["direction"] = "backward"
        if action == "jump" and step["direction"] is None:
            step["direction"] = "in_place"  # a jump that goes nowhere is a jump on the spot
    elif action not in ("wave", "raise_arm", "kick", "punch", "clap", "stand", "sit_down", "stand_up", "bow"):
        step["direction"] = _direction(rest, rotation=False) if not body else None
    # One clause is one sub-action, so its numbers and adverbs belong to it wherever they stand
    # ("does two squats", "does a half turn": the count/angle come before the verb).
    whole = " ".join(words)
    step["count"] = _count(whole, action)
    step["speed"] = "fast" if lemma in ("sprint", "dash") else _speed(whole)
    if action == "turn":
        step["angle"] = _angle(whole)
    elif action == "spin":
        # a spin is a full turn; "spins around twice" is two of them
        turns = step["count"] or 1
        step["angle"], step["count"] = _angle(whole) if re.search(r"\d+\s*-?\s*degree", whole) else 360 * turns, None
    if (
        step["count"] is None
        and action in ("jump", "squat", "punch")
        and not re.search(r"\b(repeated|several|few)", whole)
    ):
        step["count"] = 1  # "jumps" is one jump
    if body:
        step["body_part"] = body
    return normalize_step(step)


def _clauses(sentence: str) -> list[tuple[str | None, str, bool]]:
    """[(connector or None, clause text, has subject)] in word order; verbless clauses merged into the
    previous one."""
    pieces: list[tuple[str | None, str]] = []
    position, connector = 0, None
    for match in _CONNECTOR.finditer(sentence):
        if match.start() > position or match.start() == 0:
            text = sentence[position : match.start()].strip()
            if text:
                pieces.append((connector, text))
                connector = None
        word = match.group("c") or match.group("comma")
        connector = word if connector is None or word not in ",;" else connector
        position = match.end()
    tail = sentence[position:].strip()
    if tail:
        pieces.append((connector, tail))
    merged: list[tuple[str | None, str, bool]] = []
    for conn, text in pieces:
        stripped, had_subject = _strip_subject(text)
        has_verb = _find_verb(stripped.split(), allow_fallback=True)
        if merged and (has_verb is None or stripped.split()[has_verb[0]] in _NONVERB):
            prev_conn, prev_text, prev_subject = merged[-1]
            glue = conn if conn not in (None, ",", ";") else ","
            merged[-1] = (prev_conn, f"{prev_text} {glue} {text}", prev_subject)
        else:
            merged.append((conn, text, had_subject))
    return merged


def _absorb(previous: dict[str, Any] | None, step: dict[str, Any], conn: str | None) -> bool:
    """Fold idioms that name one sub-action with two verbs into ``previous``; True when folded.

    "raises the right hand and waves" is a wave with the right hand; "squats down and stands back up"
    is one squat (a squat ends standing).
    """
    if previous is None or conn not in ("and", "and then"):
        return False
    if (
        conn == "and"  # "raises the hand and then waves" is two sub-actions
        and previous["action"] == "raise_arm"
        and step["action"] == "wave"
        and step["side"] in (None, previous["side"])
    ):
        previous.update(
            action="wave",
            side=previous["side"],
            count=step["count"],
            phrase=f"{previous['phrase']} and {step['phrase']}",
        )
        return True
    if previous["action"] == "squat" and step["action"] == "stand_up" and "back up" in step.get("phrase", ""):
        previous["phrase"] = f"{previous['phrase']} and {step['phrase']}"
        return True
    return False


_Clause = tuple[str | None, dict[str, Any], bool, bool]  # (connector, step, has subject, verb is a gerund)


def _order(clauses: list[_Clause]) -> list[dict[str, Any]]:
    """Temporal order of one sentence's clauses (see module docstring).

    A sentence opening with "before"/"while" holds its clauses (up to the one with the subject) and
    places them after the main clauses: "before X and then Y, someone Z" is Z, X, Y.
    """
    ordered: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    holding = False
    for position, (conn, step, has_subject, gerund) in enumerate(clauses):
        if position == 0 and conn in ("before", "while", "whilst"):
            holding = True
            held.append(step | ({"timing": "with_previous"} if conn != "before" else {}))
            continue
        if holding and not has_subject and conn not in (",", ";", None):
            if not _absorb(held[-1], step, conn):
                held.append(step)
            continue
        holding = False
        previous = ordered[-1] if ordered else None
        if _absorb(previous, step, conn):
            continue
        if conn in ("while", "whilst"):
            ordered.append(step | {"timing": "with_previous"})
        elif conn == "and" and gerund and previous is not None and previous.get("timing") == "with_previous":
            ordered.append(step | {"timing": "with_previous"})  # "walks while waving and clapping"
        elif conn == "after" and position > 0:
            ordered.insert(max(len(ordered) - 1, 0), step)  # "Y after X": X happened first
        else:
            ordered.append(step)
    ordered.extend(held)
    return ordered


def decompose_caption(caption: str) -> list[dict[str, Any]]:
    """Ordered steps of a free-form caption; empty when no clause has a recognisable verb.

    >>> [s["action"] for s in decompose_caption("After squatting twice, a man jumps forward.")]
    ['squat', 'jump']
    >>> [s["action"] for s in decompose_caption("a person waves before he sits down")]
    ['wave', 'sit_down']
    """
    text = caption.lower().replace("/", " ").replace("-", " ").replace("\u2019", "'")
    text = re.sub(r"\s+", " ", text).strip()
    steps: list[dict[str, Any]] = []
    for sentence in _SENTENCE.split(text):
        sentence = sentence.strip(" .!?")
        if not sentence:
            continue
        clauses: list[_Clause] = []
        for conn, clause, has_subject in _clauses(sentence):
            step = clause_step(clause)
            if step is not None:
                head = _strip_subject(clause)[0].split()
                clauses.append((conn, step, has_subject, bool(head) and head[0].endswith("ing")))
        steps.extend(_order(clauses))
    for index, step in enumerate(steps):
        step["timing"] = "after_previous" if index == 0 else step.get("timing", "after_previous")
    return steps
