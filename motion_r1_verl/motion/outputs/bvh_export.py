"""A BVH file from 22-joint positions: ``bvh_from_joints``, ``save_joints_as_bvh`` (``motion-r1 export bvh``).

The offsets are the clip's own median bone lengths along a T-pose; each joint's rotation is solved so that its
child lands on the measured position (minimal swing from the parent's frame for one child; a least-squares
(Kabsch) fit for the pelvis and the upper spine, whose children form a rigid triangle on a real body), and
written as Euler angles in an order chosen per joint so that curves stay smooth (see
``ROTATION_ORDER_BY_BONE_AXIS``). Reading the file back reproduces rigid-skeleton input (e.g. HumanML3D
``new_joints``) to float precision; ``max_joint_error`` tells how far non-rigid input (e.g. decoded generations
whose bones stretch) could be followed.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
from scipy.spatial.transform import Rotation

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.bvh import POSITION_CHANNELS, Bvh, BvhJoint, write_bvh
from motion_r1_verl.motion.core.constants import FPS, N_JOINTS
from motion_r1_verl.motion.core.skeleton import JOINT_NAMES, PARENTS, RAW_OFFSETS

# Euler orders of the exported joints. Euler angles are singular when the MIDDLE angle reaches +-90 degrees,
# and then jump although the rotation does not. The solved rotations are swings of each bone away from its
# rest direction, with little twist about the bone itself, so the middle axis is the bone's own axis (knee
# flexion of 90 degrees stays smooth). The root turns freely about y (yaw), so its order starts with Y.
ROOT_ROTATION_ORDER = "YXZ"
ROTATION_ORDER_BY_BONE_AXIS = {0: "ZXY", 1: "ZYX", 2: "XZY"}  # bone along x (arms), y (legs, spine), z (feet)

# Rest (T-pose) direction of each joint's offset from its parent, for the exported hierarchy: HumanML3D's raw
# offsets, except the head points up and the arms stretch sideways, the rest pose BVH tools expect.
EXPORT_REST_DIRECTIONS = RAW_OFFSETS.astype(np.float64)
EXPORT_REST_DIRECTIONS[15] = (0, 1, 0)  # head: up (raw offset: forward)
EXPORT_REST_DIRECTIONS[16:22] = [(1, 0, 0), (-1, 0, 0)] * 3  # shoulders to wrists: sideways (raw: down)
# End Site offsets of the leaves (head top, toe tips, finger tips) as a fraction of the leaf's own bone.
_END_SITE_FRACTION = 0.5
# In exact mode, a joint whose rigid offset misses its position by more than this (metres) gets
# position channels.
_EXACT_TOLERANCE = 1e-6


def _kabsch(rest: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotations (F, 3, 3) that best map the rest vectors (K, 3) onto target vectors (F, K, 3)."""
    cov = np.einsum("ki,fkj->fij", rest, target)  # sum_k rest_k target_k^T
    u, _, vt = np.linalg.svd(cov)
    v = np.swapaxes(vt, -1, -2)
    sign = np.sign(np.linalg.det(v @ np.swapaxes(u, -1, -2)))
    sign[sign == 0] = 1.0
    fix = np.ones((target.shape[0], 3))
    fix[:, 2] = sign
    return (v * fix[:, None, :]) @ np.swapaxes(u, -1, -2)


def _swing(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Shortest rotations (F, 3, 3) turning the direction ``source`` (3,) onto ``target`` (F, 3)."""
    a = source / np.linalg.norm(source)
    b = target / np.maximum(np.linalg.norm(target, axis=-1, keepdims=True), 1e-12)
    axis = np.cross(a, b)
    sin = np.linalg.norm(axis, axis=-1)
    cos = np.clip(b @ a, -1.0, 1.0)
    angle = np.arctan2(sin, cos)
    unit_axis = axis / np.maximum(sin, 1e-12)[:, None]
    # Opposite directions: any axis perpendicular to ``a`` works.
    opposite = (sin < 1e-9) & (cos < 0)
    if opposite.any():
        helper = np.array([1.0, 0.0, 0.0]) if abs(a[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        perpendicular = np.cross(a, helper)
        unit_axis[opposite] = perpendicular / np.linalg.norm(perpendicular)
    return Rotation.from_rotvec(unit_axis * angle[:, None]).as_matrix()


def _rest_offsets(joints: np.ndarray, parents: tuple[int, ...]) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """T-pose offsets (J, 3) from the clip's median bone lengths; for joints with several children, the
    children's rest offsets are the clip's mean rigid shape (Procrustes) so a single rotation can follow them.
    Returns the offsets and, per multi-child joint, its per-frame global rotation."""
    n_joints = len(parents)
    lengths = np.zeros(n_joints)
    for joint in range(1, n_joints):
        lengths[joint] = np.median(np.linalg.norm(joints[:, joint] - joints[:, parents[joint]], axis=-1))
    offsets = EXPORT_REST_DIRECTIONS[:n_joints] * lengths[:, None]
    fitted: dict[int, np.ndarray] = {}
    for joint in range(n_joints):
        kids = [child for child in range(n_joints) if parents[child] == joint]
        if len(kids) < 2:
            continue
        vectors = joints[:, kids] - joints[:, joint : joint + 1]  # (F, K, 3)
        shape = offsets[kids]
        for _ in range(3):  # Procrustes mean shape: align every frame, average in the joint's own frame
            rotations = _kabsch(shape, vectors)
            shape = np.einsum("fji,fkj->ki", rotations, vectors) / len(vectors)
        offsets[kids] = shape
        fitted[joint] = _kabsch(shape, vectors)
    return offsets, fitted


def bvh_from_joints(
    joints: np.ndarray,
    fps: float = FPS,
    scale: float = 1.0,
    names: tuple[str, ...] = JOINT_NAMES,
    parents: tuple[int, ...] = PARENTS,
    exact: bool = False,
) -> Bvh:
    """A BVH of joint positions (T, 22, 3) in metres, y up: rotations solved per frame (see module doc).

    scale multiplies every length written (100 writes centimetres). Reading it back (``Bvh.positions()``)
    gives ``joints * scale``, exactly where the input skeleton is rigid. ``exact=True`` also gives position
    channels to the joints a rigid skeleton cannot follow (stretching bones), so any input is reproduced;
    fewer tools read position channels on non-root joints, hence off by default.
    """
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (len(parents), 3):
        raise UserError(f"joints must have shape (T, {len(parents)}, 3), got {joints.shape}")
    if not np.isfinite(joints).all():
        raise UserError("joints contain NaN or inf")
    if fps <= 0:
        raise UserError(f"fps must be positive, got {fps}")
    n_frames, n_joints = joints.shape[:2]
    joints = joints * scale
    offsets, fitted = _rest_offsets(joints, parents)
    children: dict[int, list[int]] = {joint: [] for joint in range(n_joints)}
    for joint in range(1, n_joints):
        children[parents[joint]].append(joint)
    global_rot = np.zeros((n_frames, n_joints, 3, 3))
    local_rot = np.zeros_like(global_rot)
    for joint in range(n_joints):
        parent = parents[joint]
        parent_rot = global_rot[:, parent] if parent >= 0 else np.broadcast_to(np.eye(3), (n_frames, 3, 3))
        if joint in fitted:
            global_rot[:, joint] = fitted[joint]
        elif len(children[joint]) == 1:
            child = children[joint][0]
            # The bone in the parent's frame, swung from its rest direction: no twist beyond the parent's.
            bone = np.einsum("fji,fj->fi", parent_rot, joints[:, child] - joints[:, joint])
            global_rot[:, joint] = parent_rot @ _swing(EXPORT_REST_DIRECTIONS[child], bone)
        else:  # a leaf: keeps its parent's orientation
            global_rot[:, joint] = parent_rot
        local_rot[:, joint] = np.swapaxes(parent_rot, -1, -2) @ global_rot[:, joint]

    orders = []
    for joint in range(n_joints):
        if parents[joint] < 0:
            orders.append(ROOT_ROTATION_ORDER)
        elif children[joint]:
            axis = int(np.argmax(np.abs(offsets[children[joint][0]])))
            orders.append(ROTATION_ORDER_BY_BONE_AXIS[axis])
        else:  # a leaf never rotates (identity); keep its parent's order
            orders.append(orders[parents[joint]])
    euler = np.empty((n_frames, n_joints, 3))
    with warnings.catch_warnings():
        # At the singular middle angle scipy still returns angles that give the same rotation.
        warnings.filterwarnings("ignore", message="Gimbal lock detected")
        for joint in range(n_joints):
            euler[:, joint] = Rotation.from_matrix(local_rot[:, joint]).as_euler(orders[joint], degrees=True)
    # Unwrapping each channel over time keeps curves continuous for animation tools (same rotations).
    euler = np.unwrap(euler, period=360.0, axis=0)

    bvh_joints = []
    columns = []
    for joint in range(n_joints):
        if parents[joint] < 0:
            channels = POSITION_CHANNELS + tuple(f"{axis}rotation" for axis in orders[joint])
            columns.append(joints[:, joint])
            offset = np.zeros(3)  # the root's position channels carry its absolute position
        else:
            channels = tuple(f"{axis}rotation" for axis in orders[joint])
            offset = offsets[joint]
        if exact and parents[joint] >= 0:
            # The translation that puts the joint where it is, in its parent's frame.
            local = np.einsum("fji,fj->fi", global_rot[:, parents[joint]], joints[:, joint] - joints[:, parents[joint]])
            if np.abs(local - offset).max() > _EXACT_TOLERANCE * scale:
                channels = POSITION_CHANNELS + channels
                columns.append(local)
        columns.append(euler[:, joint])
        end_site = None
        if not children[joint]:
            end_site = EXPORT_REST_DIRECTIONS[joint] * np.linalg.norm(offsets[joint]) * _END_SITE_FRACTION
        bvh_joints.append(
            BvhJoint(name=names[joint], parent=parents[joint], offset=offset, channels=channels, end_site=end_site)
        )
    return Bvh(joints=bvh_joints, frame_time=1.0 / fps, motion=np.concatenate(columns, axis=1))


def save_joints_as_bvh(
    path: str | os.PathLike[str], joints: np.ndarray, *, fps: float = FPS, scale: float = 1.0, exact: bool = False
) -> float:
    """Write joints (T, 22, 3) metres as a BVH (see ``bvh_from_joints``); return the largest distance in metres
    between the input and the file's joints (0 up to float precision for rigid skeletons or ``exact``)."""
    bvh = bvh_from_joints(joints, fps=fps, scale=scale, exact=exact)
    write_bvh(path, bvh)
    return max_joint_error(bvh, joints, scale)


def max_joint_error(bvh: Bvh, joints: np.ndarray, scale: float = 1.0) -> float:
    """Largest distance (in the input's units) between ``joints`` (T, J, 3) and the BVH's FK positions."""
    return float(np.linalg.norm(bvh.positions() / scale - np.asarray(joints, dtype=np.float64), axis=-1).max())


assert EXPORT_REST_DIRECTIONS.shape == (N_JOINTS, 3)
