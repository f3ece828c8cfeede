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
    rot (126):  6-D local rotations of joints 1..21 (kinematics.py's convention)
    vel (66):   joint velocities in the facing frame of the current frame
    contacts (4): left ankle, left toe, right ankle, right toe: squared displacement < 0.002

How: every root rotation here is a turn about y, so it is kept as an angle / (cos, sin) pair instead of
a quaternion, and the arrays are split into x, y, z (and w) component arrays of shape (B, F, joints)
so each step is a handful of contiguous elementwise numpy ops (~4x faster than our first version on
(..., 4) quaternion arrays).

``joints_from_features`` is ``recover_from_ric``: integrate the root's rotation and xz velocity, then
place the ric positions (numpy in -> numpy out, torch in -> torch out, differentiable).

Where we differ from HumanML3D on purpose: the root's angular velocity is the relative turn wrapped
to [-180, 180) degrees, halved. HumanML3D takes arcsin of the relative quaternion's y without making
w >= 0 first, which records the wrong sign on the frame where a turn passes facing -Z (then
``joints_from_features`` would spin the rest of the clip the wrong way). A zero-length bone keeps its
rest direction and a bone exactly opposite its rest direction gets a 180-degree turn instead of NaN.
None of this changes a motion HumanML3D handles correctly.

Run ``python bench/motion_features.py`` for throughput.
"""

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.constants import FEATURE_DIM, N_JOINTS, RIC_SLICE, ROT_SLICE
from motion_r1_verl.motion.core.kinematics import ROTATION_PARENTS
from motion_r1_verl.motion.core.rotations import cont6d_to_quat, qbetween
from motion_r1_verl.motion.core.skeleton import (
    FACE_JOINTS,
    FOOT_CONTACT_VELOCITY_THRESHOLD,
    LEFT_FOOT,
    LEG_LENGTH_JOINTS,
    PARENTS,
    RAW_OFFSETS,
    REFERENCE_BONE_LENGTHS,
    RIGHT_FOOT,
)

# HumanML3D smooths the per-frame forward direction with a Gaussian of this sigma (frames) before
# taking the root rotation (Skeleton.inverse_kinematics_np(smooth_forward=True)).
FORWARD_SMOOTHING_SIGMA = 20.0
# features_from_joints works through a batch in groups of about this many frames: whole big batches
# are memory-bound (float64 temporaries fall out of cache) and run up to ~2x slower per frame.
CHUNK_FRAMES = 1024
# Directions/lengths below this are treated as undefined (zero-length bone, vertical hips+shoulders line).
_TINY = 1e-12

_BONE_PARENT = np.array(PARENTS[1:])  # parent of joint j = 1..21, indexed j - 1
_BONE_ROTATION_PARENT = np.array(ROTATION_PARENTS[1:])
_REST = RAW_OFFSETS[1:].astype(np.float64)  # (21, 3) unit rest directions


def _path_matrix() -> np.ndarray:
    """(21, 22) matrix with [k-1, j] = 1 when bone k (parent(k) -> k) lies on the path root -> joint j."""
    path = np.zeros((N_JOINTS - 1, N_JOINTS))
    for j in range(1, N_JOINTS):
        k = j
        while k > 0:
            path[k - 1, j] = 1.0
            k = PARENTS[k]
    return path


_PATH = _path_matrix()


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


class _Canonical:
    """A batch on the uniform skeleton, on the floor, at the origin, first frame facing +Z.

    Attributes: ``x, y, z`` joint coordinates ``(B, F, 22)``; ``ux, uy, uz`` unit bone directions
    ``(B, F, 21)`` (bone of joint j at j - 1), from which the positions were built.
    """

    def __init__(self, joints: np.ndarray, lengths: np.ndarray) -> None:
        # (B, F, 22, 3) -> three contiguous (B, F, 22) arrays.
        x, y, z = np.ascontiguousarray(np.moveaxis(joints, -1, 0))
        bx = x[..., 1:] - x[..., _BONE_PARENT]
        by = y[..., 1:] - y[..., _BONE_PARENT]
        bz = z[..., 1:] - z[..., _BONE_PARENT]
        norm = np.sqrt(bx * bx + by * by + bz * bz)
        # Uniform skeleton scale: target / source lower-leg length (knee->ankle bones) in frame 0.
        legs = [j - 1 for j in LEG_LENGTH_JOINTS]
        source_leg = norm[:, 0, legs].sum(-1)  # (B,)
        if (source_leg <= 1e-9).any():
            bad = np.flatnonzero(source_leg <= 1e-9).tolist()
            raise UserError(f"joints: clip(s) {bad} have zero-length lower legs in frame 0; cannot scale them")
        scale = lengths[LEG_LENGTH_JOINTS,].sum() / source_leg
        # A zero-length bone has no direction: it keeps its rest direction (as HumanML3D's IK+FK would
        # if qbetween of a zero vector were the identity instead of NaN).
        zero = norm < _TINY
        inv = 1.0 / np.where(zero, 1.0, norm)
        ux, uy, uz = bx * inv, by * inv, bz * inv
        if zero.any():
            for u, rest in zip((ux, uy, uz), _REST.T, strict=True):
                u[zero] = np.broadcast_to(rest, u.shape)[zero]
        # Positions = scaled root + sum of the bones on the path from the root (one small matmul).
        x = x[..., :1] * scale[:, None, None] + (ux * lengths[1:]) @ _PATH
        y = y[..., :1] * scale[:, None, None] + (uy * lengths[1:]) @ _PATH
        z = z[..., :1] * scale[:, None, None] + (uz * lengths[1:]) @ _PATH
        # Floor, then first-frame root xz to the origin.
        y -= y.min(axis=(1, 2))[:, None, None]
        x -= x[:, :1, :1]
        z -= z[:, :1, :1]
        # Turn about y so frame 0 faces +Z: forward = up x across = (across_z, 0, -across_x); the turn
        # taking forward (fx, fz) onto +Z is x' = fz x - fx z, z' = fx x + fz z.
        r_hip, l_hip, r_sdr, l_sdr = FACE_JOINTS
        ax = x[:, 0, r_hip] - x[:, 0, l_hip] + x[:, 0, r_sdr] - x[:, 0, l_sdr]
        az = z[:, 0, r_hip] - z[:, 0, l_hip] + z[:, 0, r_sdr] - z[:, 0, l_sdr]
        fx, fz = _unit_2d(az, -ax)
        fx, fz = fx[:, None, None], fz[:, None, None]
        self.x, self.z = fz * x - fx * z, fx * x + fz * z
        self.y = y
        self.ux, self.uz = fz * ux - fx * uz, fx * ux + fz * uz
        self.uy = uy

    def stacked(self) -> np.ndarray:
        return np.stack((self.x, self.y, self.z), axis=-1)


def _unit_2d(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) / |(a, b)|; an undefined (zero) direction becomes (0, 1), i.e. facing +Z."""
    norm = np.sqrt(a * a + b * b)
    zero = norm < _TINY
    inv = 1.0 / np.where(zero, 1.0, norm)
    return np.where(zero, 0.0, a * inv), np.where(zero, 1.0, b * inv)


def canonicalize_joints(joints: np.ndarray, *, target_lengths: np.ndarray = REFERENCE_BONE_LENGTHS) -> np.ndarray:
    """The positions the features encode: uniform skeleton, on the floor, first root xz at the origin,
    first frame facing +Z. ``(F, 22, 3)`` or ``(B, F, 22, 3)`` -> same shape, float64."""
    joints = _check_joints_input(joints)
    batch = joints.astype(np.float64).reshape((-1,) + joints.shape[-3:])
    return _Canonical(batch, _check_lengths(target_lengths)).stacked().reshape(joints.shape)


def _root_turn_angles(pose: _Canonical) -> np.ndarray:
    """Root rotation angle about y per frame ``(B, F)``, as HumanML3D's feature IK computes it.

    The root rotation turns the body's forward onto +Z (a turn by the returned angle). Quirks kept for
    conformance: the hip line enters with the OPPOSITE sign to ``process_file``'s
    (``inverse_kinematics_np`` unpacks the face joints as l_hip, r_hip), so ``across`` is shoulders
    minus hips; it is normalised in 3-D before taking the forward direction, which is Gaussian-smoothed
    over time; frame 0 is the identity.
    """
    r_hip, l_hip, r_sdr, l_sdr = FACE_JOINTS
    x, y, z = pose.x, pose.y, pose.z
    ax = x[..., l_hip] - x[..., r_hip] + x[..., r_sdr] - x[..., l_sdr]
    ay = y[..., l_hip] - y[..., r_hip] + y[..., r_sdr] - y[..., l_sdr]
    az = z[..., l_hip] - z[..., r_hip] + z[..., r_sdr] - z[..., l_sdr]
    inv = 1.0 / np.maximum(np.sqrt(ax * ax + ay * ay + az * az), _TINY)
    fx = gaussian_filter1d(az * inv, FORWARD_SMOOTHING_SIGMA, axis=1, mode="nearest")
    fz = gaussian_filter1d(-ax * inv, FORWARD_SMOOTHING_SIGMA, axis=1, mode="nearest")
    # Turn by theta about y: x' = cos x + sin z, z' = -sin x + cos z; forward -> +Z needs
    # cos = fz, sin = -fx (up to the norm atan2 ignores).
    angle = np.arctan2(-fx, fz)
    angle[:, 0] = 0.0
    return angle


def _turn(cos: np.ndarray, sin: np.ndarray, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Turn (x, z) about y by the angle with this cos/sin (the root rotation applied to a vector)."""
    return cos * x + sin * z, cos * z - sin * x


def _local_rotations_6d(pose: _Canonical, angle: np.ndarray) -> tuple[np.ndarray, ...]:
    """IK of the canonical pose -> 6-D local rotations of bones 1..21, six ``(B, T, 21)`` arrays.

    Bone j's global rotation is the shortest arc from its rest direction r to its direction u:
    ``(1 + r.u, r x u)`` normalised (HumanML3D's qbetween); the root's is ``(cos a/2, 0, sin a/2, 0)``.
    Local = conj(global of the rotation parent) * global.
    """
    ux, uy, uz = pose.ux[:, :-1], pose.uy[:, :-1], pose.uz[:, :-1]
    rx, ry, rz = _REST.T
    w = 1.0 + rx * ux + ry * uy + rz * uz
    x = ry * uz - rz * uy
    y = rz * ux - rx * uz
    z = rx * uy - ry * ux
    opposite = w < 1e-9
    if opposite.any():  # a bone pointing exactly against its rest direction: no unique axis
        rest = np.broadcast_to(_REST, ux.shape + (3,))[opposite]
        direction = np.stack((ux[opposite], uy[opposite], uz[opposite]), axis=-1)
        q = qbetween(rest, direction)
        w[opposite], x[opposite], y[opposite], z[opposite] = q.T
    inv = 1.0 / np.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w * inv, x * inv, y * inv, z * inv

    half = angle[:, :-1, None] / 2
    root_w, root_y = np.cos(half), np.sin(half)
    zeros = np.zeros_like(root_w)
    gw, gx = np.concatenate((root_w, w), -1), np.concatenate((zeros, x), -1)
    gy, gz = np.concatenate((root_y, y), -1), np.concatenate((zeros, z), -1)
    pw, px = gw[..., _BONE_ROTATION_PARENT], gx[..., _BONE_ROTATION_PARENT]
    py, pz = gy[..., _BONE_ROTATION_PARENT], gz[..., _BONE_ROTATION_PARENT]
    lw = pw * w + px * x + py * y + pz * z
    lx = pw * x - px * w - py * z + pz * y
    ly = pw * y + px * z - py * w - pz * x
    lz = pw * z - px * y + py * x - pz * w
    # First two columns of the rotation matrix of a unit quaternion.
    return (
        1 - 2 * (ly * ly + lz * lz),
        2 * (lx * ly + lz * lw),
        2 * (lx * lz - ly * lw),
        2 * (lx * ly - lz * lw),
        1 - 2 * (lx * lx + lz * lz),
        2 * (ly * lz + lx * lw),
    )


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
    n_batch, n_frames = batch.shape[:2]
    out = np.empty((n_batch, n_frames - 1, FEATURE_DIM), dtype=np.float32)
    per_chunk = max(1, CHUNK_FRAMES // n_frames)
    for start in range(0, n_batch, per_chunk):
        chunk = batch[start : start + per_chunk].astype(np.float64)
        _fill_features(out[start : start + per_chunk], chunk, feet_threshold, target_lengths)
    return out[0] if single else out


def _fill_features(out: np.ndarray, joints: np.ndarray, feet_threshold: float, lengths: np.ndarray) -> None:
    """Unchecked core of ``features_from_joints``: float64 ``(B, T+1, 22, 3)`` -> ``out (B, T, 263)``."""
    pose = _Canonical(joints, lengths)
    x, y, z = pose.x, pose.y, pose.z
    angle = _root_turn_angles(pose)  # (B, F)
    cos, sin = np.cos(angle)[..., None], np.sin(angle)[..., None]
    now_cos, now_sin = cos[:, :-1], sin[:, :-1]

    # Root (4): angular velocity (half the relative turn, wrapped to [-pi, pi) first), xz velocity in the
    # NEXT frame's facing (HumanML3D rotates it by r_rot[1:]), height.
    turn = np.remainder(angle[:, 1:] - angle[:, :-1] + np.pi, 2 * np.pi) - np.pi
    out[..., 0] = turn / 2
    vx, vz = _turn(cos[:, 1:, 0], sin[:, 1:, 0], x[:, 1:, 0] - x[:, :-1, 0], z[:, 1:, 0] - z[:, :-1, 0])
    out[..., 1], out[..., 2] = vx, vz
    out[..., 3] = y[:, :-1, 0]

    # ric (63): joints 1..21 relative to the root's xz, in the frame's facing; x, y, z interleaved.
    rel_x = x[:, :-1, 1:] - x[:, :-1, :1]
    rel_z = z[:, :-1, 1:] - z[:, :-1, :1]
    ric_x, ric_z = _turn(now_cos, now_sin, rel_x, rel_z)
    ric = RIC_SLICE.start
    out[..., ric : ric + 63 : 3], out[..., ric + 1 : ric + 63 : 3], out[..., ric + 2 : ric + 63 : 3] = (
        ric_x,
        y[:, :-1, 1:],
        ric_z,
    )

    # rot (126): six numbers per bone, interleaved.
    rot = ric + 63
    for k, column in enumerate(_local_rotations_6d(pose, angle)):
        out[..., rot + k : rot + 126 : 6] = column

    # vel (66): displacement to the next frame, in the current frame's facing.
    vel = rot + 126
    dx, dz = _turn(now_cos, now_sin, x[:, 1:] - x[:, :-1], z[:, 1:] - z[:, :-1])
    out[..., vel : vel + 66 : 3], out[..., vel + 1 : vel + 66 : 3], out[..., vel + 2 : vel + 66 : 3] = (
        dx,
        y[:, 1:] - y[:, :-1],
        dz,
    )

    # contacts (4): left ankle, left toe, right ankle, right toe.
    feet = list(LEFT_FOOT) + list(RIGHT_FOOT)
    step = (
        (x[:, 1:, feet] - x[:, :-1, feet]) ** 2
        + (y[:, 1:, feet] - y[:, :-1, feet]) ** 2
        + (z[:, 1:, feet] - z[:, :-1, feet]) ** 2
    )
    out[..., vel + 66 :] = step < feet_threshold


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


def rotations_from_features(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local joint rotations and root positions stored in features (HumanML3D's recover_from_rot inputs).

    Args:
        features: ``(..., T, 263)``.

    Returns:
        ``(rotations (..., T, 22, 4), root_positions (..., T, 3))`` float64, such that
        ``kinematics.forward_kinematics(rotations, root_positions)`` poses the reference skeleton like
        ``joints_from_features(features)`` (the root rotation is the integrated facing, the others the
        6-D rotation features). Useful where rotations are wanted without running IK again (BVH export).
    """
    features = np.asarray(features)
    if features.ndim < 2 or features.shape[-1] != FEATURE_DIM or features.shape[-2] < 1:
        raise UserError(f"features: expected shape (..., T, {FEATURE_DIM}) with T >= 1, got {features.shape}")
    if not np.isfinite(features).all():
        raise UserError("features contain NaN or inf")
    half_angle, root = recover_root(torch.from_numpy(features.astype(np.float64)))
    half_angle = half_angle.numpy()
    rotations = np.zeros(features.shape[:-1] + (N_JOINTS, 4))
    rotations[..., 0, 0] = np.cos(half_angle)
    rotations[..., 0, 2] = np.sin(half_angle)
    six_d = features[..., ROT_SLICE].astype(np.float64).reshape(features.shape[:-1] + (N_JOINTS - 1, 6))
    rotations[..., 1:, :] = cont6d_to_quat(six_d)
    return rotations, root.numpy()
