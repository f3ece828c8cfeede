"""Hydra configs shipped with the package: the ``motion`` group that adds Motion-R1 to any verl GRPO config.

    python -m verl.trainer.main_ppo --config-name=<your ppo_trainer overlay> \\
        'hydra.searchpath=[pkg://motion_r1_verl.config]' +motion=grpo \\
        reward.custom_reward_function.reward_kwargs.vq_ckpt=runs/vq ...

See ``motion/grpo.yaml``. The recipe profiles (``recipes/motion_r1/config/grpo_*.yaml``) compose the same group.
"""
