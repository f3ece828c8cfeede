"""Repeat a randomised metric and summarise it as mean and 95% confidence interval.

The protocol reports every metric as the mean over 20 replications +- 1.96 * std / sqrt(20) (``np.std``,
population form, as in the reference evaluation scripts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

REPLICATIONS = 20
CI_Z = 1.96  # two-sided 95% normal quantile


@dataclass(frozen=True)
class Summary:
    """Mean and half-width of the 95% confidence interval of one metric over replications."""

    mean: float
    ci95: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return {"mean": self.mean, "ci95": self.ci95, "n": self.n}


def summarize(values: Sequence[float]) -> Summary:
    """Mean and 95% CI half-width of replicated values."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        raise ValueError("cannot summarise zero replications")
    return Summary(float(arr.mean()), float(CI_Z * arr.std() / np.sqrt(arr.size)), int(arr.size))


def replicate(
    fn: Callable[[np.random.Generator], dict[str, float]], rng: np.random.Generator, times: int = REPLICATIONS
) -> dict[str, Summary]:
    """Call ``fn(rng)`` ``times`` times (each returns {metric: value}) and summarise each metric."""
    if times < 1:
        raise ValueError(f"times must be >= 1, got {times}")
    runs = [fn(rng) for _ in range(times)]
    keys = runs[0].keys()
    return {k: summarize([r[k] for r in runs]) for k in keys}
