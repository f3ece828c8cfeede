"""Per-step statistics of a batch of scored responses: reward components, group spread, truncation.

One home for what a GRPO step's rewards look like, shared by the training-time metrics
(:mod:`motion_r1_verl.verl_plugin.replay_buffer`, logged by verl every step) and the offline diagnosis of
a run's dumps (``motion-r1 rollouts``). Pure functions over plain values: no verl, no torch.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from typing import Any

import numpy as np

# String values seen more often than this many distinct ones per key are not logged one by one.
MAX_LOGGED_VALUES = 32


def metric_name(value: str) -> str:
    """A metric-safe spelling of a string value: ``"unterminated <think>"`` -> ``"unterminated_think"``."""
    return re.sub(r"[^0-9a-z]+", "_", value.lower()).strip("_") or "empty"


def group_of(key: str) -> str:
    """The prompt group of a trajectory key ``{uid}_{session}_{index}`` (verl's TransferQueue keys)."""
    return key.split("_", 1)[0]


def reward_metrics(
    keys: list[str],
    scores: list[float],
    extra: list[dict[str, Any]],
    response_lengths: list[int],
    max_response_length: int | None,
) -> dict[str, float]:
    """The per-step metrics of the module docstring, from one batch of trajectories (pure function)."""
    metrics: dict[str, float] = {}
    numeric: dict[str, list[float]] = defaultdict(list)
    strings: dict[str, Counter] = defaultdict(Counter)
    for info in extra:
        for key, value in info.items():
            if isinstance(value, bool | np.bool_):
                numeric[key].append(float(value))
            elif isinstance(value, int | float | np.integer | np.floating):
                if math.isfinite(float(value)):
                    numeric[key].append(float(value))
            elif isinstance(value, str):
                strings[key][value] += 1
    for key, values in numeric.items():
        metrics[f"reward/{key}/mean"] = float(np.mean(values))
    n = max(len(extra), 1)
    for key, counts in strings.items():
        if len(counts) > MAX_LOGGED_VALUES:
            continue
        for value, count in counts.items():
            metrics[f"reward/{key}/{metric_name(value)}"] = count / n
    groups: dict[str, list[float]] = defaultdict(list)
    for key, score in zip(keys, scores, strict=True):
        groups[group_of(key)].append(score)
    stds = [float(np.std(v)) for v in groups.values() if len(v) > 1]
    if stds:
        metrics["reward/group_score_std/mean"] = float(np.mean(stds))
        metrics["reward/zero_std_groups"] = float(np.mean([s < 1e-9 for s in stds]))
    if max_response_length and response_lengths:
        metrics["response/truncated"] = float(np.mean([n >= max_response_length for n in response_lengths]))
    return metrics
