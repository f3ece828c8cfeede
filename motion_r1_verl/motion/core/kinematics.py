"""Forward and inverse kinematics of the HumanML3D 22-joint skeleton, vectorised over any leading dims.

HumanML3D's convention (``common/skeleton.py``), which the 6-D rotation features and BVH export rely on:

* ``rotations[..., j, :]`` is a LOCAL quaternion (w, x, y, z) that turns the bone ENDING at joint ``j``:
  its global rotation is ``G_j = G_{rotation_parent(j)} * q_j`` and
  ``joint_j = joint_{parent(j)} + G_j (offset_j)``, with ``offset_j`` the rest-pose bone (direction
  ``RAW_OFFSETS[j]``, x = body left, y = up, z = forward).
* ``rotations[..., 0, :]`` is the root's global rotation. Chains restart from the ROOT's rotation,
  not from their first joint's: the two collar chains start at spine3 (joint 9) in position, but their
  rotations ``G_13``/``G_14`` are ``G_0 * q``. ``ROTATION_PARENTS`` encodes that (it differs from
  ``PARENTS`` at joints 13 and 14).
* Inverse kinematics gives each bone the shortest-arc rotation from its rest direction to its
  observed direction (no twist), so ``forward_kinematics(inverse_kinematics(J), J[..., 0, :], offsets)``
  reproduces ``J`` whenever ``offsets`` has ``J``'s bone lengths.

``inverse_kinematics`` takes the root rotation from the body's facing: the quaternion that turns the
horizontal forward direction (perpendicular to the hips + shoulders line) onto +Z. HumanML3D's
feature extraction uses a smoothed variant; ``features.py`` passes it in via ``root_rotations``.
"""

import numpy as np

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.constants import N_JOINTS
from motion_r1_verl.motion.core.rotations import cross, qbetween, qinv, qmul, qrot, quat_to_matrix
from motion_r1_verl.motion.core.skeleton import FACE_JOINTS, KINEMATIC_CHAIN, PARENTS, RAW_OFFSETS, reference_offsets


def _rotation_parents() -> tuple[int, ...]:
    # Each chain accumulates rotations from the root's, whatever joint it starts at (HumanML3D's FK loop
    # sets R = quat[:, 0] at the start of every chain).
    parents = [-1] * N_JOINTS
    for chain in KINEMATIC_CHAIN:
        parents[chain[1]] = 0
        for prev, joint in zip(chain[1:-1], chain[2:], strict=True):
            parents[joint] = prev
    return tuple(parents)


ROTATION_PARENTS: tuple[int, ...] = _rotation_parents()
# Joints sorted so a parent (positional and rotational) always comes before its children.
_ORDER = tuple(range(1, N_JOINTS))
assert all(PARENTS[j] < j and ROTATION_PARENTS[j] < j for j in _ORDER)

UP = np.array([0.0, 1.0, 0.0])
FORWARD = np.array([0.0, 0.0, 1.0])


def _check_finite(name: str, array: np.ndarray) -> None:
    if not np.isfinite(array).all():
        raise UserError(f"{name} contains NaN or inf")


def _check_joints(joints: np.ndarray, name: str = "joints") -> np.ndarray:
    joints = np.asarray(joints)
    if joints.ndim < 2 or joints.shape[-2:] != (N_JOINTS, 3):
        raise UserError(f"{name}: expected shape (..., {N_JOINTS}, 3), got {joints.shape}")
    _check_finite(name, joints)
    return joints


def facing_directions(joints: np.ndarray, face_joints: tuple[int, int, int, int] = FACE_JOINTS) -> np.ndarray:
    """Unit horizontal forward direction ``(..., 3)`` of each pose ``(..., 22, 3)``.

    ``face_joints`` = (right hip, left hip, right shoulder, left shoulder); the body's right-pointing
    ``across`` vector is the sum of the hip and shoulder lines and forward = up x across (HumanML3D's
    ``process_file``). A pose whose across line is vertical has no facing: +Z is returned.
    """
    r_hip, l_hip, r_sdr, l_sdr = face_joints
    across = joints[..., r_hip, :] - joints[..., l_hip, :] + joints[..., r_sdr, :] - joints[..., l_sdr, :]
    return _forward_from_across(across)


def _forward_from_across(across: np.ndarray) -> np.ndarray:
    forward = cross(UP, across)
    norm = np.linalg.norm(forward, axis=-1, keepdims=True)
    return np.where(norm > 1e-12, forward / np.maximum(norm, 1e-12), FORWARD)


def facing_rotations(joints: np.ndarray, face_joints: tuple[int, int, int, int] = FACE_JOINTS) -> np.ndarray:
    """Quaternions ``(..., 4)`` about +Y that turn each pose's forward direction onto +Z."""
    return qbetween(facing_directions(joints, face_joints), FORWARD)


def bone_directions(joints: np.ndarray) -> np.ndarray:
    """Unit vectors ``(..., 22, 3)`` from each joint's parent to it (index 0: zeros).

    A zero-length bone has no direction; it gets its rest direction ``RAW_OFFSETS[j]`` (what
    HumanML3D's IK + FK does, because ``qbetween`` of a zero vector is then the identity here).
    """
    bones = joints[..., 1:, :] - joints[..., list(PARENTS[1:]), :]
    norm = np.linalg.norm(bones, axis=-1, keepdims=True)
    unit = np.where(norm > 1e-12, bones / np.maximum(norm, 1e-12), RAW_OFFSETS[1:])
    return np.concatenate((np.zeros_like(unit[..., :1, :]), unit), axis=-2)


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Length ``(..., 22)`` of the bone from each joint's parent to it (index 0: 0)."""
    bones = joints[..., 1:, :] - joints[..., list(PARENTS[1:]), :]
    lengths = np.linalg.norm(bones, axis=-1)
    return np.concatenate((np.zeros_like(lengths[..., :1]), lengths), axis=-1)


def global_rotations(rotations: np.ndarray) -> np.ndarray:
    """Local quaternions ``(..., 22, 4)`` -> global ones, ``G_j = G_{ROTATION_PARENTS[j]} * q_j``."""
    out = [rotations[..., 0, :]] + [None] * (N_JOINTS - 1)
    for j in _ORDER:
        out[j] = qmul(out[ROTATION_PARENTS[j]], rotations[..., j, :])
    return np.stack(out, axis=-2)


def local_rotations(globals_: np.ndarray) -> np.ndarray:
    """Inverse of ``global_rotations``: ``q_j = G_{ROTATION_PARENTS[j]}^-1 * G_j`` (root unchanged)."""
    parents = globals_[..., [0, *(ROTATION_PARENTS[j] for j in range(1, N_JOINTS))], :]
    local = qmul(qinv(parents), globals_)
    local[..., 0, :] = globals_[..., 0, :]
    return local


def forward_kinematics(
    rotations: np.ndarray, root_positions: np.ndarray, offsets: np.ndarray | None = None
) -> np.ndarray:
    """Joint positions ``(..., 22, 3)`` from local quaternions and root positions.

    Args:
        rotations: ``(..., 22, 4)`` local unit quaternions (w, x, y, z), HumanML3D convention (module doc).
        root_positions: ``(..., 3)`` pelvis positions, same leading dims.
        offsets: ``(22, 3)`` or ``(..., 22, 3)`` rest-pose bone vectors; default ``reference_offsets()``.
    """
    rotations = np.asarray(rotations)
    root_positions = np.asarray(root_positions)
    if rotations.ndim < 2 or rotations.shape[-2:] != (N_JOINTS, 4):
        raise UserError(f"rotations: expected shape (..., {N_JOINTS}, 4), got {rotations.shape}")
    if root_positions.shape != rotations.shape[:-2] + (3,):
        raise UserError(f"root_positions: expected shape {rotations.shape[:-2] + (3,)}, got {root_positions.shape}")
    offsets = reference_offsets() if offsets is None else np.asarray(offsets)
    if offsets.shape[-2:] != (N_JOINTS, 3):
        raise UserError(f"offsets: expected shape (22, 3) or (..., 22, 3), got {offsets.shape}")
    for name, array in (("rotations", rotations), ("root_positions", root_positions), ("offsets", offsets)):
        _check_finite(name, array)
    dtype = np.result_type(rotations, root_positions, np.float32)
    rotations = rotations.astype(np.float64) / np.linalg.norm(rotations, axis=-1, keepdims=True)
    offsets = np.broadcast_to(offsets.astype(np.float64), rotations.shape[:-1] + (3,))
    bones = qrot(global_rotations(rotations), offsets)
    joints = [root_positions.astype(np.float64)] + [None] * (N_JOINTS - 1)
    for j in _ORDER:
        joints[j] = joints[PARENTS[j]] + bones[..., j, :]
    return np.stack(joints, axis=-2).astype(dtype)


def inverse_kinematics(
    joints: np.ndarray,
    face_joints: tuple[int, int, int, int] = FACE_JOINTS,
    *,
    root_rotations: np.ndarray | None = None,
) -> np.ndarray:
    """Local quaternions ``(..., 22, 4)`` (w, x, y, z) that pose the skeleton like ``joints (..., 22, 3)``.

    Args:
        joints: positions in metres, y up.
        face_joints: (right hip, left hip, right shoulder, left shoulder) defining the facing.
        root_rotations: ``(..., 4)`` root quaternions to use instead of ``facing_rotations(joints)``.

    Each bone's global rotation is the shortest arc from ``RAW_OFFSETS[j]`` to the observed bone
    (HumanML3D's ``Skeleton.inverse_kinematics_np``); the local one is relative to its rotation parent.
    """
    joints = _check_joints(joints)
    if root_rotations is None:
        root = facing_rotations(joints.astype(np.float64), face_joints)
    else:
        root = np.asarray(root_rotations, dtype=np.float64)
        if root.shape != joints.shape[:-2] + (4,):
            raise UserError(f"root_rotations: expected shape {joints.shape[:-2] + (4,)}, got {root.shape}")
        _check_finite("root_rotations", root)
    return _inverse_kinematics(joints.astype(np.float64), root).astype(np.result_type(joints, np.float32))


def _inverse_kinematics(joints: np.ndarray, root: np.ndarray) -> np.ndarray:
    """Unchecked float64 core of ``inverse_kinematics``."""
    directions = bone_directions(joints)[..., 1:, :]
    bone_globals = qbetween(RAW_OFFSETS[1:].astype(np.float64), directions)
    globals_ = np.concatenate((root[..., None, :], bone_globals), axis=-2)
    return local_rotations(globals_)


def chain_positions(parents, quats: np.ndarray, translations: np.ndarray) -> np.ndarray:
    """FK of any joint chain (a BVH rig): global positions (F, J, 3) from local rotations ``quats`` (F, J, 4;
    w, x, y, z) and local translations (F, J, 3), each joint's rotation turning its children's offsets.
    ``parents[j] < j`` (-1 for roots). :func:`forward_kinematics` is the HumanML3D skeleton's own FK."""
    n_frames, n_joints = quats.shape[:2]
    local = quat_to_matrix(quats.reshape(-1, 4)).reshape(n_frames, n_joints, 3, 3)
    global_rot = np.empty_like(local)
    positions = np.empty((n_frames, n_joints, 3))
    for joint, parent in enumerate(parents):
        if parent < 0:
            global_rot[:, joint] = local[:, joint]
            positions[:, joint] = translations[:, joint]
        else:
            global_rot[:, joint] = global_rot[:, parent] @ local[:, joint]
            positions[:, joint] = positions[:, parent] + np.einsum(
                "fij,fj->fi", global_rot[:, parent], translations[:, joint]
            )
    return positions
