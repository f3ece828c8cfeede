"""Analytic SMPL pose from 22 joint positions: the starting point of the fit.

What: ``analytic_pose(targets, rest_joints)`` gives SMPL local rotations ``(T, 24, 3, 3)`` and the
translation that put the body's joints on ``targets (T, 22, 3)`` exactly whenever the model's bone
lengths match (only the twist of each bone stays free). ``fit.py`` refines from there.

How (SMPL convention, which differs from HumanML3D's, see ``kinematics.py``): joint ``j``'s local rotation
``R_j`` turns the bones from ``j`` to its children, and its global rotation is ``G_j = G_parent R_j``.
Walking the tree from the root:

* joints with several children (pelvis: hips + spine; spine3: neck + collars) get the rotation that best
  aligns their rest bones with the observed ones (weighted Kabsch);
* joints with one child get the shortest arc from the rest bone to the observed bone, both expressed in
  the parent's frame, so the limb carries no gratuitous twist;
* hips and shoulders then also turn about their bone so that the knee / elbow bends about its natural
  hinge axis (a straight limb keeps the shortest arc: the twist fades in with the bend);
* leaf joints (feet, head, wrists, hands) keep the rest orientation; nothing in 22 joints observes them.
"""

from __future__ import annotations

import numpy as np

from motion_r1_verl.motion.core.constants import N_JOINTS
from motion_r1_verl.motion.core.rotations import cross, qbetween, quat_to_matrix
from motion_r1_verl.motion.outputs.smpl.model_files import N_SMPL_JOINTS, SMPL_PARENTS

CHILDREN: tuple[tuple[int, ...], ...] = tuple(
    tuple(c for c in range(1, N_JOINTS) if SMPL_PARENTS[c] == j) for j in range(N_SMPL_JOINTS)
)
# Hinge joints: the axis (SMPL rest frame: x = body's left, y = up, z = forward) about which a positive
# rotation flexes the joint (knees swing the shin back, elbows swing the forearm forward from a T-pose).
# The rotation convention of SMPL fitting priors (SMPLify) agrees: its knee/elbow priors penalise the opposite sign.
HINGE_AXES: dict[int, tuple[float, float, float]] = {
    4: (1.0, 0.0, 0.0),  # left knee
    5: (1.0, 0.0, 0.0),  # right knee
    18: (0.0, -1.0, 0.0),  # left elbow
    19: (0.0, 1.0, 0.0),  # right elbow
}
# Bend (sine of the angle between the two bones) at which the hinge-aligning twist is fully applied.
FULL_TWIST_BEND = 0.25


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def shortest_arc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` turning direction ``a`` onto direction ``b`` by the shortest arc."""
    return quat_to_matrix(qbetween(a, b))


def axis_angle_matrix(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices about unit ``axis (..., 3)`` by ``angle (...)`` radians (Rodrigues)."""
    k = _unit(axis)
    x, y, z = np.moveaxis(k, -1, 0)
    zero = np.zeros_like(x)
    skew = np.stack((zero, -z, y, z, zero, -x, -y, x, zero), axis=-1).reshape(k.shape[:-1] + (3, 3))
    s, c = np.sin(angle)[..., None, None], np.cos(angle)[..., None, None]
    return np.eye(3) + s * skew + (1 - c) * skew @ skew


def kabsch(rest: np.ndarray, observed: np.ndarray, weights: np.ndarray, *, unit: bool = True) -> np.ndarray:
    """Rotations ``(..., 3, 3)`` minimising ``sum_i w_i |R rest_i - observed_i|^2``.

    ``rest (n, 3)``, ``observed (..., n, 3)``, ``weights (n,)``; with ``unit`` both are normalised to
    directions first.
    """
    a = (_unit(rest) if unit else rest) * weights[:, None]
    b = _unit(observed) if unit else observed
    h = np.einsum("ni,...nj->...ij", a, b)  # (..., 3, 3) cross-covariance
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.swapaxes(vt, -1, -2) @ np.swapaxes(u, -1, -2)))
    fix = np.ones(h.shape[:-1])
    fix[..., 2] = d
    return np.swapaxes(vt, -1, -2) @ (fix[..., :, None] * np.swapaxes(u, -1, -2))


def _hinge_twist(rest_bone: np.ndarray, hinge: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Rotation about ``upper`` that turns the (shortest-arc carried) hinge axis onto the observed bend normal.

    ``upper``/``lower``: observed bones ``(T, 3)`` in the parent's frame; ``rest_bone``/``hinge``: ``(3,)``.
    """
    d1 = _unit(upper)
    carried = np.einsum("tij,j->ti", shortest_arc(rest_bone, d1), _unit(hinge - hinge @ _unit(rest_bone) * rest_bone))
    carried = _unit(carried - (carried * d1).sum(-1, keepdims=True) * d1)
    normal = cross(d1, _unit(lower))
    bend = np.linalg.norm(normal, axis=-1)
    normal = _unit(normal)
    angle = np.arctan2((cross(carried, normal) * d1).sum(-1), (carried * normal).sum(-1))
    return axis_angle_matrix(d1, angle * np.clip(bend / FULL_TWIST_BEND, 0.0, 1.0))


def analytic_pose(targets: np.ndarray, rest_joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local rotations ``(T, 24, 3, 3)`` and translations ``(T, 3)`` posing SMPL on ``targets (T, 22, 3)``.

    ``rest_joints (24, 3)``: the model's rest-pose joints for its shape. The translation is what smplx
    adds after posing (the pelvis stays at its rest position under rotation): ``pelvis = rest[0] + transl``.

    The walk keeps the posed positions: each bone is aimed from where its parent joint actually landed
    towards its target, so a body part that cannot match (e.g. a pelvis whose hips sit differently from
    the model's) does not shift everything below it. The pelvis itself is placed by a rigid best fit of
    the pelvis, hips and spine1 (rotation and translation).
    """
    targets = np.asarray(targets, dtype=np.float64)
    rest_joints = np.asarray(rest_joints, dtype=np.float64)
    n = targets.shape[0]
    rest_bones = rest_joints - rest_joints[[max(p, 0) for p in SMPL_PARENTS]]
    local = np.broadcast_to(np.eye(3), (n, N_SMPL_JOINTS, 3, 3)).copy()
    glob = np.empty_like(local)
    posed = np.zeros((n, N_SMPL_JOINTS, 3))
    # Root: rigid Procrustes of {pelvis, hips, spine1} (centroids matched, then Kabsch on the spread).
    group = [0, *CHILDREN[0]]
    rest_centred = rest_joints[group] - rest_joints[group].mean(0)
    target_centroid = targets[:, group].mean(1)
    local[:, 0] = kabsch(rest_centred, targets[:, group] - target_centroid[:, None], np.ones(len(group)), unit=False)
    glob[:, 0] = local[:, 0]
    posed[:, 0] = target_centroid - np.einsum("tij,j->ti", glob[:, 0], rest_joints[group].mean(0) - rest_joints[0])
    for j in range(N_SMPL_JOINTS):
        if j > 0:
            parent_g = glob[:, SMPL_PARENTS[j]]
            posed[:, j] = posed[:, SMPL_PARENTS[j]] + np.einsum("tij,j->ti", parent_g, rest_bones[j])
            children = CHILDREN[j]
            if children:
                to_parent = np.swapaxes(parent_g, -1, -2)
                observed = np.einsum("tij,tcj->tci", to_parent, targets[:, list(children)] - posed[:, [j]])
                if len(children) > 1:
                    # Equal say for every child bone (directions are unit), so no long bone dominates.
                    local[:, j] = kabsch(rest_bones[list(children)], observed, np.ones(len(children)))
                else:
                    (child,) = children
                    local[:, j] = shortest_arc(rest_bones[child], observed[:, 0])
                    if child in HINGE_AXES and CHILDREN[child]:
                        grandchild = CHILDREN[child][0]
                        lower = np.einsum("tij,tj->ti", to_parent, targets[:, grandchild] - targets[:, child])
                        twist = _hinge_twist(rest_bones[child], np.asarray(HINGE_AXES[child]), observed[:, 0], lower)
                        local[:, j] = twist @ local[:, j]
            glob[:, j] = parent_g @ local[:, j]
    transl = posed[:, 0] - rest_joints[0]
    return local, transl
