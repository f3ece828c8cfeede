"""Reward functions verl loads by path: ``reward.custom_reward_function.path=pkg://reward_fns.motion_r1``.

- ``motion_r1``: ``compute_score`` / ``compute_score_async`` (format + motion + semantic) and each component.
- ``format``: response parsing and the format reward (no models).
- ``scorer``: the batched motion scorer (in-process, or a named Ray actor) behind the model-based rewards.
"""
