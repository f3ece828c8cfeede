"""A SMPL-structured stand-in model, built in-process (the real SMPL files are licensed).

``build_standin_arrays`` returns every key ``smplx.SMPL`` reads, with SMPL's shapes: 6890 vertices,
24 joints on the real SMPL kinematic tree, 10 shape and 207 pose blend shapes, a 13k-triangle mesh.
The geometry is a body made of tubes, one per bone, in a T-pose whose bones have HumanML3D's reference
lengths (``skeleton.REFERENCE_BONE_LENGTHS``) or a given clip's.

* ``J_regressor``: each joint is the mean of six vertices placed symmetrically around it, so the rest
  joints are exactly ``REST_JOINTS``; shape blend shapes move joints and vertices alike.
* Multi-child joints (pelvis, spine3) are rigid body parts: SMPL-like by default, or measured from a
  clip (``clip_skeleton``) so that clip is exactly reachable; single-child bones point the SMPL way
  (T-pose arms, feet forward-down), so the analytic initialisation has to turn real rest directions
  onto HumanML3D's.
* ``shapedirs``: smooth linear fields (each beta a small 3x3 map of the body) plus noise, so betas change
  bone lengths the way a body shape does; ``posedirs``: small noise.
"""

import functools
import pickle
from pathlib import Path

import numpy as np

from motion_r1_verl.motion.core.skeleton import REFERENCE_BONE_LENGTHS, reference_offsets
from motion_r1_verl.motion.outputs.smpl.model_files import N_SMPL_VERTICES, ROOT_PARENT, SMPL_PARENTS

HAND_LENGTH = 0.08
# Unit rest direction of each bone (parent -> joint), SMPL-like; None = HumanML3D's reference offset.
_DIRECTIONS = {
    4: (0.03, -1.0, 0.02),
    5: (-0.03, -1.0, 0.02),
    6: (0.0, 1.0, 0.05),
    7: (0.0, -1.0, -0.05),
    8: (0.0, -1.0, -0.05),
    9: (0.0, 1.0, 0.02),
    10: (0.0, -0.5, 1.0),
    11: (0.0, -0.5, 1.0),
    15: (0.0, 1.0, 0.3),
    16: (1.0, 0.02, 0.0),
    17: (-1.0, 0.02, 0.0),
    18: (1.0, 0.0, -0.02),
    19: (-1.0, 0.0, -0.02),
    20: (1.0, 0.0, 0.0),
    21: (-1.0, 0.0, 0.0),
    22: (1.0, 0.0, 0.0),
    23: (-1.0, 0.0, 0.0),
}
PELVIS = np.array([0.0, -0.22, 0.03])
RING = 12  # vertices per tube ring
RINGS = 24  # rings per bone tube


# Offsets of the pelvis's and spine3's children as in HumanML3D's real clip 012314 (SMPL-derived, facing +z):
# hips below and beside the pelvis, collars above spine3. A multi-child joint is a rigid body part.
SMPL_LIKE_GROUPS = {
    1: (0.05753, -0.08201, -0.02425),
    2: (-0.06294, -0.08628, -0.02586),
    3: (-0.00138, 0.13156, 0.0),
    12: (0.00051, 0.21936, 0.0),
    13: (0.07008, 0.11735, -0.01483),
    14: (-0.07364, 0.12205, -0.01546),
}


def clip_skeleton(joints: np.ndarray) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """A clip's rigid groups (offsets of joints 1-3 from the pelvis and 12-14 from spine3, facing +z) and
    its median bone lengths (22,), for a stand-in whose skeleton matches that clip."""
    from motion_r1_verl.motion.core.skeleton import PARENTS
    from motion_r1_verl.motion.outputs.smpl.init_pose import kabsch

    reference = reference_offsets().astype(np.float64)
    groups = {}
    for root, children in ((0, [1, 2, 3]), (9, [12, 13, 14])):
        observed = joints[:, children] - joints[:, [root]]
        facing = kabsch(reference[children], observed, np.ones(3))  # reference -> observed, per frame
        canonical = np.einsum("tji,tcj->tci", facing, observed)
        groups.update(zip(children, np.median(canonical, axis=0), strict=True))
    lengths = np.median(np.linalg.norm(joints[:, 1:] - joints[:, list(PARENTS[1:])], axis=-1), axis=0)
    return groups, np.concatenate(([0.0], lengths))


def rest_joints(groups: dict | None = None, lengths: np.ndarray | None = None) -> np.ndarray:
    """(24, 3) T-pose joints: ``groups`` (default SMPL-like) for the rigid parts, ``lengths`` (default the
    reference bone lengths) for the other bones, SMPL-like directions for those."""
    groups = SMPL_LIKE_GROUPS if groups is None else groups
    lengths = REFERENCE_BONE_LENGTHS if lengths is None else lengths
    joints = np.zeros((24, 3))
    joints[0] = PELVIS
    for j in range(1, 24):
        if j in groups:
            bone = np.asarray(groups[j], dtype=np.float64)
        else:
            d = np.asarray(_DIRECTIONS[j], dtype=np.float64)
            bone = d / np.linalg.norm(d) * (HAND_LENGTH if j >= 22 else float(lengths[j]))
        joints[j] = joints[SMPL_PARENTS[j]] + bone
    return joints


def _perpendiculars(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(d, helper)
    u /= np.linalg.norm(u)
    return u, np.cross(d, u)


def build_standin_arrays(seed: int = 0, joints: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every key smplx reads; ``joints (24, 3)`` are the rest joints (default ``rest_joints()``). Fresh copies."""
    key = None if joints is None else tuple(np.round(np.asarray(joints, dtype=np.float64), 12).ravel())
    return {k: v.copy() for k, v in _cached_arrays(seed, key).items()}


@functools.cache
def _cached_arrays(seed: int, joints_key: tuple | None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    joints = rest_joints() if joints_key is None else np.asarray(joints_key).reshape(24, 3)
    vertices, weights, faces = [], [], []
    regressor = np.zeros((24, N_SMPL_VERTICES))
    for j in range(24):  # six vertices around each joint, their mean is the joint
        for axis in range(3):
            for sign in (1.0, -1.0):
                regressor[j, len(vertices)] = 1.0 / 6.0
                vertices.append(joints[j] + sign * 0.02 * np.eye(3)[axis])
                weights.append(j)
    for child in range(1, 24):
        parent = SMPL_PARENTS[child]
        start, end = joints[parent], joints[child]
        d = (end - start) / np.linalg.norm(end - start)
        u, v = _perpendiculars(d)
        radius = 0.07 if child in (3, 6, 9) else 0.045 if child in (1, 2, 4, 5) else 0.035
        first = len(vertices)
        for r, s in enumerate(np.linspace(0.05, 0.95, RINGS)):
            for k in range(RING):
                angle = 2 * np.pi * k / RING
                vertices.append(start + s * (end - start) + radius * (np.cos(angle) * u + np.sin(angle) * v))
                weights.append(parent)  # the bone parent -> child turns with the parent's rotation
            if r:
                a, b = first + (r - 1) * RING, first + r * RING
                for k in range(RING):
                    k1 = (k + 1) % RING
                    faces += [(a + k, a + k1, b + k1), (a + k, b + k1, b + k)]
    n_used = len(vertices)
    for _ in range(N_SMPL_VERTICES - n_used):  # SMPL's vertex count is fixed; the rest sit inside the pelvis
        vertices.append(PELVIS + rng.normal(scale=0.01, size=3))
        weights.append(0)
    v_template = np.asarray(vertices)
    lbs_weights = np.zeros((N_SMPL_VERTICES, 24))
    lbs_weights[np.arange(N_SMPL_VERTICES), weights] = 1.0
    maps = rng.normal(scale=0.04, size=(10, 3, 3))
    shapedirs = np.einsum("kij,vj->vik", maps, v_template - PELVIS) + rng.normal(
        scale=1e-3, size=(N_SMPL_VERTICES, 3, 10)
    )
    kintree = np.array([[ROOT_PARENT if p < 0 else p for p in SMPL_PARENTS], list(range(24))], dtype=np.int64)
    return {
        "v_template": v_template,
        "shapedirs": shapedirs,
        "posedirs": rng.normal(scale=1e-4, size=(N_SMPL_VERTICES, 3, 207)),
        "J_regressor": regressor,
        "weights": lbs_weights,
        "kintree_table": kintree,
        "f": np.asarray(faces, dtype=np.int64),
    }


def write_standin_model(root: Path, gender: str = "neutral", arrays: dict | None = None) -> Path:
    """Write ``root/smpl/SMPL_<GENDER>.pkl`` (plain numpy pickle, like a chumpy-free SMPL file)."""
    path = Path(root) / "smpl" / f"SMPL_{gender.upper()}.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        pickle.dump(arrays if arrays is not None else build_standin_arrays(), handle, protocol=2)
    return path
