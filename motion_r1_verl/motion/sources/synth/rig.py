"""Pose the reference skeleton from a ``Track``: IK targets -> bone directions -> local rotations -> FK.

Why this way: every bone of the HumanML3D skeleton has its own rotation (``kinematics.py``: the
rotation at joint j turns the bone ending at j), so a pose is fully given by one direction per bone.
Legs and arms get theirs from analytic two-bone IK (thigh/shin to reach the ankle target, upper
arm/forearm to reach the wrist target, elbows and knees bending towards a pole), the torso from three
angles. The directions become local quaternions on the reference skeleton and positions come out of
``forward_kinematics``, so bone lengths are exactly HumanML3D's at every frame.

Simplification: no twist around a bone is modelled (positions do not depend on it, and the features
re-derive rotations from positions anyway).
"""

from __future__ import annotations

import numpy as np

from motion_r1_verl.motion.core.constants import N_JOINTS
from motion_r1_verl.motion.core.kinematics import forward_kinematics, local_rotations
from motion_r1_verl.motion.core.rotations import qbetween
from motion_r1_verl.motion.core.skeleton import PARENTS, RAW_OFFSETS, REFERENCE_BONE_LENGTHS
from motion_r1_verl.motion.sources.synth.track import SIDE_SIGN, Track, to_world

LENGTHS = REFERENCE_BONE_LENGTHS.astype(np.float64)
THIGH = LENGTHS[[4, 5]]  # left, right hip -> knee
SHIN = LENGTHS[[7, 8]]  # knee -> ankle
FOOT = LENGTHS[[10, 11]]  # ankle -> toe
UPPER_ARM = LENGTHS[[18, 19]]
FOREARM = LENGTHS[[20, 21]]
LEG_REACH = THIGH + SHIN
ARM_REACH = UPPER_ARM + FOREARM

# Body-frame directions of the short bones, chosen to resemble real HumanML3D poses (pelvis -> hips
# point down and out, collars mostly up, collar -> shoulder sideways); the long bones come from IK.
HIP_DIRS = np.array([[0.8, -0.6, 0.0], [-0.8, -0.6, 0.0]])
COLLAR_DIRS = np.array([[0.5, 0.85, 0.05], [-0.5, 0.85, 0.05]])
SHOULDER_DIRS = np.array([[0.97, -0.1, -0.1], [-0.97, -0.1, -0.1]])
HIP_OFFSETS = HIP_DIRS / np.linalg.norm(HIP_DIRS, axis=-1, keepdims=True) * LENGTHS[[1, 2], None]

ANKLE_HEIGHT = 0.065  # ankle above the floor with the foot flat
TOE_HEIGHT = 0.01  # toe joint above the floor with the foot flat
FLAT_FOOT_PITCH = np.arcsin((ANKLE_HEIGHT - TOE_HEIGHT) / FOOT)  # (2,) toe-down pitch of a flat foot
# Where elbows point, body frame per side (down, a little out and back).
ELBOW_POLE = np.array([0.4, -0.75, -0.5])
# Fraction of the torso angles carried by spine1, spine2, spine3 and the neck.
SPINE_FRACTIONS = {3: 0.25, 6: 0.55, 9: 0.85, 12: 1.0}


def _normalize(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _rot_x(a: np.ndarray) -> np.ndarray:
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack((o, z, z, z, c, -s, z, s, c), -1).reshape(a.shape + (3, 3))


def _rot_y(a: np.ndarray) -> np.ndarray:
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack((c, z, s, z, o, z, -s, z, c), -1).reshape(a.shape + (3, 3))


def _rot_z(a: np.ndarray) -> np.ndarray:
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack((c, -s, z, s, c, z, z, z, o), -1).reshape(a.shape + (3, 3))


def torso_rotation(yaw: np.ndarray, spine: np.ndarray, fraction: float) -> np.ndarray:
    """(T, 3, 3) rotation of a torso bone carrying ``fraction`` of the pitch/roll/twist angles."""
    pitch, roll, twist = spine[:, 0] * fraction, spine[:, 1] * fraction, spine[:, 2] * fraction
    return _rot_y(yaw + twist) @ _rot_x(pitch) @ _rot_z(-roll)


def two_bone_ik(
    base: np.ndarray, target: np.ndarray, l1: float, l2: float, pole: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Unit directions of the two bones from ``base`` towards ``target`` (all (T, 3)).

    The middle joint bends towards ``pole``; a target out of reach is approached as closely as the
    limb allows (callers keep targets in reach: see ``limit_pelvis_height``).
    """
    d = target - base
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    u = d / np.maximum(dist, 1e-9)
    dist = np.clip(dist, abs(l1 - l2) + 1e-3, (l1 + l2) * (1 - 1e-6))
    v = pole - (pole * u).sum(-1, keepdims=True) * u
    # A pole (nearly) along the limb gives no bend plane: fall back to a perpendicular of u.
    fallback = np.cross(u, np.array([1.0, 0.0, 0.0]))
    bad = np.linalg.norm(v, axis=-1, keepdims=True) < 1e-4
    v = _normalize(np.where(bad, fallback, v))
    cos_a = np.clip((l1 * l1 + dist * dist - l2 * l2) / (2 * l1 * dist), -1.0, 1.0)
    sin_a = np.sqrt(1.0 - cos_a * cos_a)
    first = cos_a * u + sin_a * v
    second = _normalize(dist * u - l1 * first)
    return first, second


def hip_positions(root: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """(T, 2, 3) left and right hip joints for pelvis positions and headings."""
    return root[:, None, :] + to_world(yaw[:, None], HIP_OFFSETS[None])


def bone_directions(track: Track) -> np.ndarray:
    """(T, 22, 3) unit direction of the bone ending at each joint (row 0 unused)."""
    n = len(track)
    dirs = np.zeros((n, N_JOINTS, 3))
    yaw = track.yaw
    up = np.array([0.0, 1.0, 0.0])
    for joint, fraction in SPINE_FRACTIONS.items():
        dirs[:, joint] = torso_rotation(yaw, track.spine, fraction) @ up
    chest = torso_rotation(yaw, track.spine, 1.0)
    head_spine = track.spine.copy()
    head_spine[:, 0] += track.head
    dirs[:, 15] = torso_rotation(yaw, head_spine, 1.0) @ up
    for side, (hip, collar, shoulder) in enumerate(((1, 13, 16), (2, 14, 17))):
        dirs[:, hip] = to_world(yaw, HIP_DIRS[side] / np.linalg.norm(HIP_DIRS[side]))
        dirs[:, collar] = chest @ _normalize(COLLAR_DIRS[side])
        dirs[:, shoulder] = chest @ _normalize(SHOULDER_DIRS[side])
    return dirs


def pose(track: Track) -> tuple[np.ndarray, np.ndarray]:
    """(joints (T, 22, 3), local quaternions (T, 22, 4)) of a track on the reference skeleton."""
    n = len(track)
    dirs = bone_directions(track)
    joints = np.zeros((n, N_JOINTS, 3))
    joints[:, 0] = track.root
    for j in (1, 2, 3, 6, 9, 12, 13, 14, 15, 16, 17):
        joints[:, j] = joints[:, PARENTS[j]] + LENGTHS[j] * dirs[:, j]
    # Legs: hip -> knee -> ankle by IK, knees towards the feet's heading; then the foot bone.
    for side, (hip, knee, ankle, toe) in enumerate(((1, 4, 7, 10), (2, 5, 8, 11))):
        pole, _ = to_world(track.foot_yaw[:, side], np.array([0.0, 0.0, 1.0])), None
        first, second = two_bone_ik(joints[:, hip], track.ankle[:, side], THIGH[side], SHIN[side], pole)
        dirs[:, knee], dirs[:, ankle] = first, second
        joints[:, knee] = joints[:, hip] + THIGH[side] * first
        joints[:, ankle] = joints[:, knee] + SHIN[side] * second
        pitch = FLAT_FOOT_PITCH[side] + track.foot_pitch[:, side]
        fy = track.foot_yaw[:, side]
        dirs[:, toe] = np.stack((np.sin(fy) * np.cos(pitch), -np.sin(pitch), np.cos(fy) * np.cos(pitch)), -1)
        joints[:, toe] = joints[:, ankle] + FOOT[side] * dirs[:, toe]
    # Arms: shoulder -> elbow -> wrist by IK towards the wrist target (heading frame).
    for side, (shoulder, elbow, wrist) in enumerate(((16, 18, 20), (17, 19, 21))):
        pole_body = ELBOW_POLE * np.array([SIDE_SIGN[side], 1.0, 1.0])
        pole = to_world(yaw=track.yaw, local=np.broadcast_to(pole_body, (n, 3)))
        target = joints[:, shoulder] + to_world(track.yaw, track.wrist[:, side])
        first, second = two_bone_ik(joints[:, shoulder], target, UPPER_ARM[side], FOREARM[side], pole)
        dirs[:, elbow], dirs[:, wrist] = first, second
        joints[:, elbow] = joints[:, shoulder] + UPPER_ARM[side] * first
        joints[:, wrist] = joints[:, elbow] + FOREARM[side] * second
    # Local rotations on the reference skeleton, then FK: the positions every later stage sees.
    globals_ = np.empty((n, N_JOINTS, 4))
    globals_[:, 0] = np.stack((np.cos(track.yaw / 2), 0 * track.yaw, np.sin(track.yaw / 2), 0 * track.yaw), -1)
    globals_[:, 1:] = qbetween(np.broadcast_to(RAW_OFFSETS[1:].astype(np.float64), (n, N_JOINTS - 1, 3)), dirs[:, 1:])
    local = local_rotations(globals_)
    return forward_kinematics(local, track.root.astype(np.float64)), local


def limit_pelvis_height(track: Track, margin: float = 0.985, radius: int = 3) -> None:
    """Lower the pelvis where a leg could not reach its ankle target (in place).

    The height cap is eroded (min over +-``radius`` frames) and then blurred within the same radius,
    so it stays smooth and never exceeds the true cap: the IK reaches every target exactly and a
    planted foot cannot slide. Frames far from a binding cap keep their height. ``margin`` keeps the
    legs a little short of fully straight, where the knee would move very fast for a small change.
    """
    hips = hip_positions(track.root, track.yaw)  # (T, 2, 3)
    horizontal = np.linalg.norm((hips - track.ankle)[..., [0, 2]], axis=-1)
    reach = LEG_REACH * margin
    vertical = np.sqrt(np.maximum(reach**2 - horizontal**2, 0.0))
    hip_drop = track.root[:, None, 1] - hips[..., 1]
    cap = (track.ankle[..., 1] + vertical + hip_drop).min(axis=1)
    if (cap < track.root[:, 1]).any():
        padded = np.pad(cap, radius, mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1)
        eroded = windows.min(axis=1)
        kernel = np.hanning(2 * radius + 3)[1:-1]
        kernel /= kernel.sum()
        blurred = np.convolve(np.pad(eroded, radius, mode="edge"), kernel, mode="valid")
        track.root[:, 1] = np.minimum(track.root[:, 1], blurred)
