"""The animation channels of a synthetic clip, before they become joint positions.

A ``Track`` is what the primitives write and the rig (``rig.py``) reads: per-frame IK targets and a
few body angles, in world coordinates (metres, y up, x = the body's left at yaw 0, z = forward).
Working on targets rather than joint angles is what keeps the motions clean: a planted foot is a
constant ankle target, so it cannot slide, and a hand on a thigh stays on it however the torso moves.

Index 0 of every (.., 2, ..) channel is the LEFT limb, index 1 the RIGHT one (``SIDE_SIGN`` gives
their x sign in the body frame).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy.ndimage import gaussian_filter1d

SIDE_SIGN = np.array([1.0, -1.0])  # body-frame x of the left / right limb
LEFT, RIGHT = 0, 1


@dataclass
class Track:
    """Per-frame animation targets of one clip or one segment (T frames)."""

    root: np.ndarray  # (T, 3) pelvis position, world
    yaw: np.ndarray  # (T,) body heading (rad); positive turns to the body's left
    spine: np.ndarray  # (T, 3) torso pitch (bend forward +), roll (lean left +), twist (to the left +), rad
    head: np.ndarray  # (T,) head pitch relative to the torso (look down +), rad
    ankle: np.ndarray  # (T, 2, 3) ankle targets, world
    foot_yaw: np.ndarray  # (T, 2) heading of each foot (rad)
    foot_pitch: np.ndarray  # (T, 2) extra toe-down pitch of each foot (rad), 0 = flat on the floor
    wrist: np.ndarray  # (T, 2, 3) wrist targets relative to the shoulder, in the heading frame (no pitch)
    contact: np.ndarray  # (T, 2) bool: the foot is planted (its ankle target does not move)

    def __len__(self) -> int:
        return len(self.yaw)

    @staticmethod
    def concat(tracks: list[Track]) -> Track:
        return Track(**{f.name: np.concatenate([getattr(t, f.name) for t in tracks]) for f in fields(Track)})

    def slice(self, start: int, stop: int) -> Track:
        return Track(**{f.name: getattr(self, f.name)[start:stop] for f in fields(Track)})


@dataclass
class BodyState:
    """Where a segment leaves the body: the next segment starts exactly here (no teleporting)."""

    root: np.ndarray  # (3,)
    yaw: float
    ankle: np.ndarray  # (2, 3)
    foot_yaw: np.ndarray  # (2,)
    seated: bool

    @staticmethod
    def from_track_end(track: Track, seated: bool) -> BodyState:
        return BodyState(
            root=track.root[-1].copy(),
            yaw=float(track.yaw[-1]),
            ankle=track.ankle[-1].copy(),
            foot_yaw=track.foot_yaw[-1].copy(),
            seated=seated,
        )


def heading_axes(yaw: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(forward, left) horizontal unit vectors (..., 3) of a heading."""
    yaw = np.asarray(yaw, dtype=np.float64)
    s, c = np.sin(yaw), np.cos(yaw)
    zero = np.zeros_like(yaw)
    return np.stack((s, zero, c), -1), np.stack((c, zero, -s), -1)


def to_world(yaw: np.ndarray | float, local: np.ndarray) -> np.ndarray:
    """Body-frame vectors (x left, y up, z forward) -> world, for a heading ``yaw``."""
    fwd, left = heading_axes(yaw)
    local = np.asarray(local, dtype=np.float64)
    up = np.array([0.0, 1.0, 0.0])
    return local[..., :1] * left + local[..., 1:2] * up + local[..., 2:3] * fwd


def to_body(yaw: np.ndarray | float, world: np.ndarray) -> np.ndarray:
    """Inverse of ``to_world``."""
    fwd, left = heading_axes(yaw)
    world = np.asarray(world, dtype=np.float64)
    return np.stack(((world * left).sum(-1), world[..., 1], (world * fwd).sum(-1)), -1)


def smoothstep(s: np.ndarray) -> np.ndarray:
    """0 -> 1 with zero slope at both ends (s clipped to [0, 1])."""
    s = np.clip(s, 0.0, 1.0)
    return s * s * (3.0 - 2.0 * s)


def keyframes(n: int, times: list[float], values: list, sigma: float = 0.0, *, eased: bool = False) -> np.ndarray:
    """Curve through (time, value) keys over frames 0..n-1, then Gaussian-smoothed.

    Linear between keys, or with ``eased`` a smoothstep between each pair of keys, so the curve is at
    rest at every key (for gestures: rise, hold, lower). Values may be scalars or vectors. Smoothing
    pads with the end values, so the curve still starts and ends at the first and last key.
    """
    t = np.arange(n, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    vals = np.asarray(values, dtype=np.float64)
    if eased:
        i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
        s = smoothstep((t - times[i]) / np.maximum(times[i + 1] - times[i], 1e-9))
        s = s.reshape((-1,) + (1,) * (vals.ndim - 1))
        out = vals[i] + (vals[i + 1] - vals[i]) * s
    elif vals.ndim == 1:
        out = np.interp(t, times, vals)
    else:
        out = np.stack([np.interp(t, times, vals[:, k]) for k in range(vals.shape[1])], -1)
    if sigma > 0:
        out = gaussian_filter1d(out, sigma, axis=0, mode="nearest")
    return out


def ease(n: int, start: int, stop: int) -> np.ndarray:
    """(n,) weights: 0 before ``start``, smooth rise to 1 at ``stop``, 1 after."""
    t = np.arange(n, dtype=np.float64)
    return smoothstep((t - start) / max(stop - start, 1))


def blend_wrists(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Move wrist offsets from ``a`` to ``b`` ((T or 1, ..., 3), relative to the shoulder) by weights ``w`` (T,).

    Direction is interpolated along the great circle and distance linearly, so a hand travels on an
    arc around the shoulder instead of cutting through the body (a straight line from "hanging" to
    "overhead" would pass through the shoulder and fold the elbow).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.ndim == b.ndim >= 2, "give a and b a leading time axis (length T or 1)"
    w = np.asarray(w, dtype=np.float64).reshape((-1,) + (1,) * (a.ndim - 1))
    ra = np.linalg.norm(a, axis=-1, keepdims=True)
    rb = np.linalg.norm(b, axis=-1, keepdims=True)
    ua, ub = a / ra, b / rb
    omega = np.arccos(np.clip((ua * ub).sum(-1, keepdims=True), -1.0, 1.0))
    sin_omega = np.sin(omega)
    small = sin_omega < 1e-4
    safe = np.where(small, 1.0, sin_omega)
    wa = np.where(small, 1 - w, np.sin((1 - w) * omega) / safe)
    wb = np.where(small, w, np.sin(w * omega) / safe)
    direction = wa * ua + wb * ub
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    return direction * (ra + (rb - ra) * w)
