"""A reward for mixed verl datasets: motion rows get the Motion-R1 reward, every other row verl's own scorer.

List our RL parquet next to any verl dataset (gsm8k, MATH, ...) and point the reward at this module::

    data.train_files="[runs/rl/train.parquet,~/data/gsm8k/train.parquet]"
    reward.custom_reward_function.path=pkg://reward_fns.router
    reward.custom_reward_function.name=compute_score_async        # or compute_score (sync)
    +reward.custom_reward_function.reward_kwargs.vq_ckpt=runs/vq   # the Motion-R1 reward's kwargs, as before
    ...

Rows whose ``data_source`` is ``motion_r1`` (``motion_r1_verl.datasets.rl.DATA_SOURCE``) are scored by
:mod:`reward_fns.motion_r1` with every ``reward_kwargs``; every other row by
``verl.utils.reward_score.default_compute_score`` (what ``main_ppo`` uses without a custom reward), which
gets none of them. verl gathers the returned dicts key by key over a batch, so every row returns the same
keys: a non-motion row has its verl score as ``score``, the motion components at 0, ``parse_ok`` False and
``reason`` ``"scored by verl"``; a verl scorer's own extra keys (e.g. ``acc``) are dropped (its ``score``
is what GRPO uses). The motion means that verl logs (``format``, ``motion``...) then average over every
row of a step; ``motion-r1 rollouts`` reads motion rows only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from reward_fns import motion_r1

MOTION_DATA_SOURCE = "motion_r1"  # motion_r1_verl.datasets.rl.DATA_SOURCE (reward_fns stays importable alone)
OTHER_REASON = "scored by verl"

__all__ = ["MOTION_DATA_SOURCE", "OTHER_REASON", "compute_score", "compute_score_async"]


def _other(data_source: str, solution_str: Any, ground_truth: Any, extra_info: Any) -> dict[str, Any]:
    from verl.utils.reward_score import default_compute_score

    result = default_compute_score(data_source, solution_str, ground_truth, extra_info)
    score = result["score"] if isinstance(result, Mapping) else result
    return {
        "score": float(score),
        "format": 0.0,
        "motion": 0.0,
        "semantic": 0.0,
        "parse_ok": False,
        "motion_len": 0,
        "reason": OTHER_REASON,
    }


def compute_score(data_source, solution_str, ground_truth, extra_info=None, **reward_kwargs) -> dict[str, Any]:
    """verl's reward signature: Motion-R1 for ``motion_r1`` rows, verl's default scorer for the rest."""
    if data_source == MOTION_DATA_SOURCE:
        return motion_r1.compute_score(data_source, solution_str, ground_truth, extra_info, **reward_kwargs)
    return _other(data_source, solution_str, ground_truth, extra_info)


async def compute_score_async(
    data_source, solution_str, ground_truth, extra_info=None, **reward_kwargs
) -> dict[str, Any]:
    """The async twin (verl awaits it): motion rows are batched by the scorer as in ``motion_r1``; verl's
    scorers are synchronous and run in a thread so they do not block the event loop."""
    if data_source == MOTION_DATA_SOURCE:
        return await motion_r1.compute_score_async(data_source, solution_str, ground_truth, extra_info, **reward_kwargs)
    return await asyncio.to_thread(_other, data_source, solution_str, ground_truth, extra_info)
