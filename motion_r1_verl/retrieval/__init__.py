"""Text-motion retrieval encoders (TMR-style, trainable) and the Guo et al. evaluator port.

Used by the rewards (motion similarity, text-motion semantic similarity) and by ``motion-r1 eval``.
"""

from motion_r1_verl.retrieval.config import PRESETS, TextMotionConfig, TrainConfig
from motion_r1_verl.retrieval.model import TextMotionModel, load_cached

__all__ = ["PRESETS", "TextMotionConfig", "TextMotionModel", "TrainConfig", "load_cached"]
