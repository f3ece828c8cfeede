"""The grpo_positive advantage estimator: verl's GRPO advantage with the below-mean samples set to 0."""

import numpy as np
import torch
from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage, get_adv_estimator_fn


def _batch():
    # Two prompt groups of 4 samples; the outcome reward sits on each response's last valid token.
    scores = torch.tensor([1.8, 0.2, 1.0, 1.4, 0.5, 0.5, 0.9, 0.1])
    lengths = torch.tensor([3, 5, 2, 4, 5, 1, 3, 2])
    mask = (torch.arange(5)[None, :] < lengths[:, None]).float()
    rewards = torch.zeros(8, 5)
    rewards[torch.arange(8), lengths - 1] = scores
    index = np.array(["a"] * 4 + ["b"] * 4, dtype=object)
    return rewards, mask, index


def test_the_replay_buffer_module_registers_the_estimator_by_name():
    import motion_r1_verl.verl_plugin.replay_buffer  # noqa: F401  (what +motion=grpo loads in the trainer)

    assert get_adv_estimator_fn("grpo_positive").__name__ == "compute_grpo_positive_advantage"


def test_above_mean_samples_keep_grpo_advantage_and_the_rest_get_zero():
    from motion_r1_verl.verl_plugin.advantages import compute_grpo_positive_advantage

    rewards, mask, index = _batch()
    for norm in (True, False):
        grpo, _ = compute_grpo_outcome_advantage(rewards, mask, index, norm_adv_by_std_in_grpo=norm)
        positive, returns = compute_grpo_positive_advantage(rewards, mask, index, norm_adv_by_std_in_grpo=norm)
        assert torch.equal(positive, returns)
        above = grpo > 0
        assert above.any() and (~above & (mask > 0)).any()
        assert torch.allclose(positive[above], grpo[above])
        assert torch.all(positive[~above] == 0)
        # Padding stays 0 and every token of one response carries its one advantage.
        assert torch.all(positive[mask == 0] == 0)
