"""Foot skate: how far feet slide while they are on the floor.

A foot joint (ankle or toe) counts as in contact between frames t and t+1 when it is within
``CONTACT_MARGIN`` of its own resting height at both frames; resting height is the joint's lowest
height in the clip. The metric is the mean horizontal displacement of the joint over those contact
frame pairs, in cm per frame (at 20 fps, 1 cm/frame = 0.2 m/s). Contact is defined by height, not
by speed, so a sliding foot cannot hide by being "too fast to be in contact".

    >>> foot_skate(joints)        # (T, 22, 3) metres, y up
    0.12
"""

from __future__ import annotations

import numpy as np

from motion_r1_verl.motion.core.skeleton import LEFT_FOOT, RIGHT_FOOT

FOOT_JOINTS = (*LEFT_FOOT, *RIGHT_FOOT)  # left ankle, left toe, right ankle, right toe
CONTACT_MARGIN = 0.02  # m above the joint's lowest height that still counts as touching the floor


def contact_mask(joints: np.ndarray, margin: float = CONTACT_MARGIN) -> np.ndarray:
    """(T-1, 4) bool: each foot joint is on the floor at frames t and t+1."""
    heights = joints[:, FOOT_JOINTS, 1]
    low = heights <= heights.min(axis=0, keepdims=True) + margin
    return low[1:] & low[:-1]


def foot_skate_sums(joints: np.ndarray, margin: float = CONTACT_MARGIN) -> tuple[float, int]:
    """(sum of horizontal contact displacements in cm, number of contact joint-frames) of one clip,
    so a data set's mean can be pooled over clips."""
    feet = joints[:, FOOT_JOINTS]
    step = np.linalg.norm(feet[1:, :, [0, 2]] - feet[:-1, :, [0, 2]], axis=-1) * 100.0
    mask = contact_mask(joints, margin)
    return float(step[mask].sum()), int(mask.sum())


def foot_skate(joints: np.ndarray, margin: float = CONTACT_MARGIN) -> float:
    """Mean horizontal speed (cm/frame) of foot joints while in contact; 0.0 if never in contact."""
    total, count = foot_skate_sums(joints, margin)
    return total / count if count else 0.0
