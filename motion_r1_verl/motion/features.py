"""HumanML3D's 263-dim motion features from joint positions, and joint positions back from features.

``features_from_joints`` is HumanML3D's ``process_file`` (motion_representation.ipynb), vectorised
over time and over a batch of equal-length clips (numpy, float64 inside, float32 out):

1. uniform skeleton: keep every bone's direction, give it the reference length
   (``REFERENCE_BONE_LENGTHS``); scale the root trajectory by the ratio of lower-leg lengths in frame 0;
2. put on the floor (lowest joint over the clip at y = 0), first-frame root xz at the origin, and turn
   the clip about y so the first frame faces +Z;
3. root rotation per frame from the facing (HumanML3D's IK: Gaussian-smoothed forward, sigma 20
   frames, first frame the identity), bone rotations by IK, and from these the feature groups.

T+1 position frames give T feature rows (velocities need the next frame)::

    root (4):   root angular velocity about y (the HALF angle, HumanML3D's convention),
                root xz velocity in the facing frame, root height
    ric (63):   joints 1..21 relative to the root (xz), in the facing frame
    rot (126):  6-D local rotations of joints 1..21
    vel (66):   joint velocities in the facing frame of the current frame
    contacts (4): left ankle, left toe, right ankle, right toe: squared displacement < 0.002

``joints_from_features`` is ``recover_from_ric``: integrate the root's rotation and xz velocity, then
place the ric positions (numpy in -> numpy out, torch in -> torch out, differentiable).

Where we differ from HumanML3D on purpose (documented where it happens): the root's angular velocity
is taken from the relative quaternion with w >= 0, so a turn through facing -Z is not recorded
with the wrong sign; opposite/zero vectors in quaternion-between give a 180-degree turn/identity
instead of NaN. Neither changes a motion that HumanML3D handles correctly.

Run ``python bench/motion_features.py`` for throughput.
"""

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.constants import FEATURE_DIM, N_JOINTS, RIC_SLICE
from motion_r1_verl.motion.kinematics import (
    FORWARD,
    UP,
    _forward_from_across,
    _inverse_kinematics,
    bone_directions,
    bone_lengths,
)
from motion_r1_verl.motion.rotations import cross, qbetween, qinv, qmul, qrot, quat_to_cont6d
from motion_r1_verl.motion.skeleton import (
    FACE_JOINTS,
    FOOT_CONTACT_VELOCITY_THRESHOLD,
    LEFT_FOOT,
    LEG_LENGTH_JOINTS,
    PARENTS,
    REFERENCE_BONE_LENGTHS,
    RIGHT_FOOT,
)

# HumanML3D smooths the per-frame forward direction with a Gaussian of this sigma (frames) before
# taking the root rotation (Skeleton.inverse_kinematics_np(smooth_forward=True)).
FORWARD_SMOOTHING_SIGMA = 20.0
# features_from_joints works through a batch in groups of about this many frames (see there).
CHUNK_FRAMES = 1024


def _check_joints_input(joints: np.ndarray) -> np.ndarray:
    if not isinstance(joints, np.ndarray):
        raise UserError(f"joints: expected a numpy array of shape (T+1, 22, 3) or (B, T+1, 22, 3), got {type(joints)}")
    if joints.ndim not in (3, 4) or joints.shape[-2:] != (N_JOINTS, 3):
        raise UserError(f"joints: expected shape (T+1, {N_JOINTS}, 3) or (B, T+1, {N_JOINTS}, 3), got {joints.shape}")
    if joints.shape[-3] < 2:
        raise UserError(f"joints: need at least 2 frames (T+1 >= 2) to compute velocities, got shape {joints.shape}")
    if not np.issubdtype(joints.dtype, np.number):
        raise UserError(f"joints: expected a float array, got dtype {joints.dtype}")
    if not np.isfinite(joints).all():
        raise UserError("joints contain NaN or inf")
    return joints


def _check_lengths(lengths: np.ndarray) -> np.ndarray:
    lengths = np.asarray(lengths, dtype=np.float64)
    if lengths.shape != (N_JOINTS,) or not np.isfinite(lengths).all() or (lengths[1:] <= 0).any():
        raise UserError(f"target_lengths: expected ({N_JOINTS},) positive bone lengths, got shape {lengths.shape}")
    return lengths


def uniform_skeleton(joints: np.ndarray, target_lengths: np.ndarray = REFERENCE_BONE_LENGTHS) -> np.ndarray:
    """Retarget ``(B, F, 22, 3)`` positions onto bones of ``target_lengths`` (HumanML3D's uniform_skeleton).

    Bone directions are kept; the root trajectory is scaled by target/source lower-leg length, the
    source measured in each clip's first frame.
    """
    source = bone_lengths(joints[:, 0])  # (B, 22)
    knee_ankle = list(LEG_LENGTH_JOINTS)
    source_leg = source[:, knee_ankle].sum(-1)
    if (source_leg <= 1e-9).any():
        bad = np.flatnonzero(source_leg <= 1e-9).tolist()
        raise UserError(f"joints: clip(s) {bad} have zero-length lower legs in frame 0; cannot scale to the skeleton")
    scale = target_lengths[knee_ankle].sum() / source_leg  # (B,)
    bones = bone_directions(joints) * target_lengths[:, None]
    out = np.empty_like(bones)
    out[:, :, 0] = joints[:, :, 0] * scale[:, None, None]
    for j in range(1, N_JOINTS):  # parents come before children
        out[:, :, j] = out[:, :, PARENTS[j]] + bones[:, :, j]
    return out


def canonicalize_joints(joints: np.ndarray, *, target_lengths: np.ndarray = REFERENCE_BONE_LENGTHS) -> np.ndarray:
    """The positions the features encode: uniform skeleton, on the floor, first root xz at the origin,
    first frame facing +Z. ``(..., F, 22, 3)`` -> same shape, float64."""
    joints = _check_joints_input(joints)
    batch = joints.astype(np.float64).reshape((-1,) + joints.shape[-3:])
    return _canonicalize(batch, _check_lengths(target_lengths)).reshape(joints.shape)


def _canonicalize(joints: np.ndarray, target_lengths: np.ndarray) -> np.ndarray:
    positions = uniform_skeleton(joints, target_lengths)
    positions[..., 1] -= positions[..., 1].min(axis=(1, 2))[:, None, None]
    first = positions[:, 0].copy()  # (B, 22, 3)
    positions[..., 0] -= first[:, 0, 0][:, None, None]
    positions[..., 2] -= first[:, 0, 2][:, None, None]
    r_hip, l_hip, r_sdr, l_sdr = FACE_JOINTS
    across = first[:, r_hip] - first[:, l_hip] + first[:, r_sdr] - first[:, l_sdr]
    turn = qbetween(_forward_from_across(across), FORWARD)  # (B, 4)
    return qrot(turn[:, None, None, :], positions)


def humanml3d_root_rotations(positions: np.ndarray) -> np.ndarray:
    """Root quaternions ``(B, F, 4)`` as HumanML3D's feature IK computes them.

    Quirks kept for conformance: the hip line enters with the OPPOSITE sign to ``process_file``'s
    (``inverse_kinematics_np`` unpacks face joints as l_hip, r_hip), so ``across`` = shoulders minus
    hips; the forward direction is Gaussian-smoothed over time before normalising; frame 0 is the identity.
    """
    r_hip, l_hip, r_sdr, l_sdr = FACE_JOINTS
    across = positions[:, :, l_hip] - positions[:, :, r_hip] + positions[:, :, r_sdr] - positions[:, :, l_sdr]
    across = across / np.linalg.norm(across, axis=-1, keepdims=True)
    forward = cross(UP, across)
    forward = gaussian_filter1d(forward, FORWARD_SMOOTHING_SIGMA, axis=1, mode="nearest")
    forward = forward / np.linalg.norm(forward, axis=-1, keepdims=True)
    root = qbetween(forward, FORWARD)
    root[:, 0] = (1.0, 0.0, 0.0, 0.0)
    return root


def _foot_contacts(positions: np.ndarray, threshold: float) -> np.ndarray:
    feet = list(LEFT_FOOT) + list(RIGHT_FOOT)
    step = positions[:, 1:, feet] - positions[:, :-1, feet]
    return ((step * step).sum(-1) < threshold).astype(np.float64)  # (B, T, 4)


def features_from_joints(
    joints: np.ndarray,
    *,
    feet_threshold: float = FOOT_CONTACT_VELOCITY_THRESHOLD,
    target_lengths: np.ndarray = REFERENCE_BONE_LENGTHS,
) -> np.ndarray:
    """HumanML3D features from joint positions.

    Args:
        joints: ``(T+1, 22, 3)`` or ``(B, T+1, 22, 3)`` positions in metres, y up, 20 fps, any
            skeleton scale/placement/facing (SMPL joint order).
        feet_threshold: foot contact when the squared per-frame displacement is below this (m^2).
        target_lengths: ``(22,)`` bone lengths of the skeleton every clip is put on (index 0 unused).

    Returns:
        ``(T, 263)`` or ``(B, T, 263)`` float32.
    """
    joints = _check_joints_input(joints)
    target_lengths = _check_lengths(target_lengths)
    single = joints.ndim == 3
    batch = joints[None] if single else joints
    # Whole batches at once are memory-bound (big float64 temporaries fall out of cache); groups of
    # about CHUNK_FRAMES frames run ~2x faster per frame.
    per_chunk = max(1, CHUNK_FRAMES // batch.shape[1])
    features = np.concatenate(
        [
            _features(batch[start : start + per_chunk].astype(np.float64), feet_threshold, target_lengths)
            for start in range(0, len(batch), per_chunk)
        ]
    )
    return features[0] if single else features


def _features(joints: np.ndarray, feet_threshold: float, target_lengths: np.ndarray) -> np.ndarray:
    """Unchecked core of ``features_from_joints`` on a float64 batch ``(B, F, 22, 3)``."""
    positions = _canonicalize(joints, target_lengths)
    n_batch, n_frames = positions.shape[:2]
    contacts = _foot_contacts(positions, feet_threshold)
    current = positions[:, :-1]  # the T frames that get a feature row

    root_rot = humanml3d_root_rotations(positions)  # (B, F, 4)
    local = _inverse_kinematics(current, root_rot[:, :-1])  # (B, T, 22, 4)
    rot_data = quat_to_cont6d(local[:, :, 1:]).reshape(n_batch, n_frames - 1, -1)

    root_velocity = qrot(root_rot[:, 1:], positions[:, 1:, 0] - current[:, :, 0])
    relative = qmul(root_rot[:, 1:], qinv(root_rot[:, :-1]))
    # HumanML3D takes arcsin of y directly; with w < 0 (a turn through facing -Z) that has the wrong
    # sign. q and -q are the same rotation, so flip to w >= 0 first.
    relative_y = np.where(relative[..., 0] < 0, -relative[..., 2], relative[..., 2])
    angular_velocity = np.arcsin(np.clip(relative_y, -1.0, 1.0))

    centred = current.copy()
    centred[..., 0] -= current[:, :, :1, 0]
    centred[..., 2] -= current[:, :, :1, 2]
    ric = qrot(root_rot[:, :-1, None, :], centred[:, :, 1:])  # (B, T, 21, 3)

    local_velocity = qrot(root_rot[:, :-1, None, :], positions[:, 1:] - current)

    features = np.concatenate(
        (
            angular_velocity[..., None],
            root_velocity[..., [0, 2]],
            current[:, :, 0, 1:2],  # root height (a y-rotation leaves it unchanged)
            ric.reshape(n_batch, n_frames - 1, -1),
            rot_data,
            local_velocity.reshape(n_batch, n_frames - 1, -1),
            contacts,
        ),
        axis=-1,
    ).astype(np.float32)
    assert features.shape[-1] == FEATURE_DIM
    return features


def _rotate_y_inverse(angle: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Apply the inverse of the root rotation ``(cos a, 0, sin a, 0)`` (a turn of -2a about y) to ``v (..., 3)``."""
    c, s = torch.cos(2 * angle), torch.sin(2 * angle)
    x, y, z = v.unbind(-1)
    return torch.stack((c * x - s * z, y, s * x + c * z), dim=-1)


def recover_root(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Root half-angle about y ``(..., T)`` and root position ``(..., T, 3)`` from features ``(..., T, 263)``."""
    angle = torch.cumsum(torch.nn.functional.pad(features[..., :-1, 0], (1, 0)), dim=-1)
    zero = torch.zeros_like(features[..., :-1, 1])
    step = torch.stack((features[..., :-1, 1], zero, features[..., :-1, 2]), dim=-1)
    step = torch.nn.functional.pad(_rotate_y_inverse(angle[..., 1:], step), (0, 0, 1, 0))
    xz = torch.cumsum(step, dim=-2)
    root = torch.stack((xz[..., 0], features[..., 3], xz[..., 2]), dim=-1)
    return angle, root


def _joints_from_features_torch(features: torch.Tensor) -> torch.Tensor:
    angle, root = recover_root(features)
    ric = features[..., RIC_SLICE].unflatten(-1, (N_JOINTS - 1, 3))
    ric = _rotate_y_inverse(angle[..., None], ric)
    offset_xz = torch.stack((root[..., 0], torch.zeros_like(root[..., 1]), root[..., 2]), dim=-1)
    return torch.cat((root[..., None, :], ric + offset_xz[..., None, :]), dim=-2)


def joints_from_features(features: np.ndarray | torch.Tensor, *, check: bool = True) -> np.ndarray | torch.Tensor:
    """Joint positions ``(..., T, 22, 3)`` from features ``(..., T, 263)`` (HumanML3D's recover_from_ric).

    numpy in -> numpy out (same float dtype, computed in float64); torch in -> torch out (same dtype
    and device, differentiable). ``check=False`` skips the NaN scan (a device sync on GPU).
    """
    if not isinstance(features, np.ndarray | torch.Tensor):
        raise UserError(f"features: expected a numpy array or torch tensor (..., T, 263), got {type(features)}")
    if features.ndim < 2 or features.shape[-1] != FEATURE_DIM or features.shape[-2] < 1:
        raise UserError(f"features: expected shape (..., T, {FEATURE_DIM}) with T >= 1, got {tuple(features.shape)}")
    if isinstance(features, torch.Tensor):
        if check and not bool(torch.isfinite(features).all()):
            raise UserError("features contain NaN or inf")
        return _joints_from_features_torch(features if features.is_floating_point() else features.float())
    if check and not np.isfinite(features).all():
        raise UserError("features contain NaN or inf")
    out_dtype = features.dtype if np.issubdtype(features.dtype, np.floating) else np.float32
    joints = _joints_from_features_torch(torch.from_numpy(np.asarray(features, dtype=np.float64)))
    return joints.numpy().astype(out_dtype)
