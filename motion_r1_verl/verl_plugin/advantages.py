"""An advantage estimator for verl: GRPO that reinforces only the better half of each group.

``algorithm.adv_estimator=grpo_positive`` is verl's GRPO advantage (group mean, optionally divided by the
group std, per ``algorithm.norm_adv_by_std_in_grpo``) with every negative advantage set to 0: samples above
their group's mean are pushed up, the rest leave the gradient. Why an option: a negative advantage pushes
probability off the sampled tokens onto every other token, which raises the entropy of a small policy
(measured on the tiny model: 0.355 -> 0.398 over 20 steps at lr 3e-4) while sampling at a lower
temperature, i.e. a sharper policy, scores higher similarity. Only-positive updates concentrate the policy
on its own better samples, as rejection-sampling fine-tuning does, with GRPO's group baseline.

verl looks estimators up by name in the process that computes advantages (the trainer). That process loads
the custom replay buffer (:mod:`motion_r1_verl.verl_plugin.replay_buffer`), which imports this module, so
``+motion=grpo`` makes the name available with no other setting.
"""

from __future__ import annotations

import numpy as np
import torch
from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage, register_adv_est

GRPO_POSITIVE = "grpo_positive"


@register_adv_est(GRPO_POSITIVE)
def compute_grpo_positive_advantage(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index: np.ndarray,
    epsilon: float = 1e-6,
    norm_adv_by_std_in_grpo: bool = True,
    config=None,
    **_unused,
) -> tuple[torch.Tensor, torch.Tensor]:
    """verl's GRPO outcome advantage with negative values clamped to 0 (returns == advantages)."""
    advantages, _ = compute_grpo_outcome_advantage(
        token_level_rewards=token_level_rewards,
        response_mask=response_mask,
        index=index,
        epsilon=epsilon,
        norm_adv_by_std_in_grpo=norm_adv_by_std_in_grpo,
        config=config,
    )
    advantages = advantages.clamp(min=0.0) * response_mask
    return advantages, advantages
