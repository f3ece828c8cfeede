"""Step-level agreement between two chains (e.g. the rule-based decomposer vs the oracle plan).

Steps are aligned in order with a longest-common-subsequence on a per-step key, so a missing or extra
step costs only itself, while a swapped order costs a match (order is the point of a decomposition).
Three keys: ``action`` alone; ``action+side+direction+timing`` (what every caption states); and all
attributes including count/speed/angle (which a caption may omit, so that figure is a floor).
Precision = matched / predicted steps, recall = matched / reference steps, micro-averaged over captions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

StepKey = Callable[[dict[str, Any]], tuple]


def action_key(step: dict[str, Any]) -> tuple:
    return (step["action"],)


def full_key(step: dict[str, Any]) -> tuple:
    """What a caption always states about a step: action, limb side, direction, overlap with the previous."""
    return (step["action"], step.get("side"), step.get("direction"), step.get("timing") or "after_previous")


def all_key(step: dict[str, Any]) -> tuple:
    """Every attribute, count/speed/angle included (captions may leave those out, so this is a floor)."""
    speed = None if step.get("speed") == "normal" else step.get("speed")  # nobody says "at normal speed"
    return (*full_key(step), step.get("count"), speed, step.get("angle"))


def lcs_matches(pred: list[dict[str, Any]], gold: list[dict[str, Any]], key: StepKey = action_key) -> int:
    """Length of the longest common subsequence of the two chains' step keys."""
    a, b = [key(s) for s in pred], [key(s) for s in gold]
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
    return table[len(a)][len(b)]


@dataclass
class StepScore:
    """Micro-averaged step precision/recall plus the share of chains matched exactly (same length, all steps)."""

    matched: int = 0
    predicted: int = 0
    reference: int = 0
    exact: int = 0
    chains: int = 0

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.reference if self.reference else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def exact_rate(self) -> float:
        return self.exact / self.chains if self.chains else 0.0


def score_chains(pairs: Iterable[tuple[list[dict[str, Any]], list[dict[str, Any]]]], key: StepKey) -> StepScore:
    """StepScore over (predicted chain, reference chain) pairs."""
    score = StepScore()
    for pred, gold in pairs:
        matched = lcs_matches(pred, gold, key)
        score.matched += matched
        score.predicted += len(pred)
        score.reference += len(gold)
        score.exact += int(matched == len(pred) == len(gold))
        score.chains += 1
    return score
