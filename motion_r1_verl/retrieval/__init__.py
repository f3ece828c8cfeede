"""Text-motion retrieval encoders: TMR-style (trainable, the rewards' backbone) and Guo et al.'s evaluator
architecture (the official checkpoint, or a judge trained on our data by ``retrieval.guo_train``).

Used by the rewards (motion similarity, text-motion semantic similarity) and by ``motion-r1 eval``.
"""

from motion_r1_verl.retrieval.config import PRESETS, TextMotionConfig, TrainConfig, preset
from motion_r1_verl.retrieval.guo import GuoConfig, GuoEvaluator
from motion_r1_verl.retrieval.model import TextMotionModel, load_cached

__all__ = [
    "PRESETS",
    "GuoConfig",
    "GuoEvaluator",
    "TextMotionConfig",
    "TextMotionModel",
    "TrainConfig",
    "load_cached",
    "preset",
]
