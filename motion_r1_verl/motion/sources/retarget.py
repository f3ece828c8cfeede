"""Retarget any BVH rig onto the 22 HumanML3D joints, and import BVH files into a HumanML3D-format folder.

Why: people train on their own mocap. A BVH file may have any joint count and names, any channel order,
centimetres or inches, y or z up, 30/60/120 fps; our pipeline wants joints (T, 22, 3) in metres, y up,
20 fps, feet on the floor (see ``motion_r1_verl.motion.core.features``).

How (``retarget_bvh``):
1. resample the local rotations (slerp) and translations (lerp) to 20 fps, then forward kinematics, so the
   rig's bones stay rigid (interpolating positions would shorten them);
2. place each of the 22 joints by name: a source joint, or a weighted blend of several (CMU rigs have no
   joint where SMPL's upper spine or collarbone sits). Built-in maps cover the usual rigs (``BUILTIN_MAPS``);
   a JSON map (``{"spine3": {"Spine1": 0.5, "Neck1": 0.5}, "pelvis": "Hips"}``) overrides or completes them;
3. detect the up axis (head above the ankles for most of the clip) and turn it to +y with a proper rotation;
4. detect the unit from the body: the ankle-to-head chain of bones must measure like a person's (``UNITS``);
5. level a slightly tilted capture floor (fitted to the planted feet; 0.5 to 3 degrees)
   and put the lowest joint of the clip on the floor (y = 0), as HumanML3D does.

``import_bvh_files`` then writes features (``features_from_joints``), joints (recovered from the features,
like HumanML3D's ``new_joints``), captions and split files, and refits Mean/Std on the train split.

Run: ``motion-r1 data import-bvh walk.bvh --out data/mocap --caption "a person walks forward"``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.bvh import Bvh, read_bvh
from motion_r1_verl.motion.core.constants import FPS, MAX_FRAMES, MIN_FRAMES, N_JOINTS
from motion_r1_verl.motion.core.kinematics import chain_positions
from motion_r1_verl.motion.core.skeleton import JOINT_NAMES, LEFT_FOOT, PARENTS, REFERENCE_BONE_LENGTHS, RIGHT_FOOT

logger = logging.getLogger(__name__)

# Metres per file unit. "cmu" is the CMU mocap ASF unit, 1/0.45 inch, which the widespread CMU BVH
# conversions (e.g. 02_01.bvh) keep: such a body measures about 25 units from ankle to head.
UNITS: dict[str, float] = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu": 0.0254 / 0.45}
# A detected unit must make the ankle-to-head bone chain this many times the reference skeleton's
# (1.58 m): about 1.0 m to 2.4 m of body, from a child to a very tall adult.
BODY_SCALE_RANGE = (0.6, 1.5)
UP_AXES = ("+y", "-y", "+z", "-z", "+x", "-x")
# Proper rotations taking each up axis to +y (a reflection would swap left and right).
_TO_Y_UP: dict[str, np.ndarray] = {
    "+y": np.eye(3),
    "-y": np.array([[1, 0, 0], [0, -1, 0], [0, 0, -1]], dtype=np.float64),
    "+z": np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], dtype=np.float64),
    "-z": np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=np.float64),
    "+x": np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]], dtype=np.float64),
    "-x": np.array([[0, 1, 0], [-1, 0, 0], [0, 0, 1]], dtype=np.float64),
}
# The up axis must be this clear: mean unit ankle->head direction's largest component.
_MIN_UP_DOMINANCE = 0.5
# A retargeted bone shorter than this (metres) means two targets landed on one source joint.
MIN_BONE_LENGTH = 0.01
# Floor levelling: tilts between these (degrees) are calibration error and get levelled. Below the minimum
# the estimate is within the noise of foot poses (HumanML3D's tennis serve 012314 gives 0.3), above the
# maximum it is taken as real terrain (a ramp). The fit needs planted feet (slower than _CONTACT_SPEED m/s)
# spread over _FLOOR_FIT_MIN_SPAN m, and drops points _FLOOR_FIT_RESIDUAL m above the first fit.
MIN_LEVELLED_TILT = 0.5
MAX_LEVELLED_TILT = 3.0
_CONTACT_SPEED = 0.15
_FLOOR_FIT_MIN_SPAN = 1.0
_FLOOR_FIT_RESIDUAL = 0.03
# Bones from the ankle up to the head: their summed length measures the body whatever the pose.
_HEIGHT_CHAIN = (7, 4, 1, 0, 3, 6, 9, 12, 15)
_FEET = (*LEFT_FOOT, *RIGHT_FOOT)
PLACEHOLDER_CAPTION = "a person moves"  # when no caption is given (the CLI says so)

# A joint's source: a joint name, or {name: weight} for a weighted average of positions.
JointSource = str | Mapping[str, float]


@dataclass(frozen=True)
class JointMap:
    """A named rig convention: target joint -> alternatives tried in order (first whose names all exist)."""

    name: str
    targets: Mapping[str, tuple[JointSource, ...]]


def _sided(left: Mapping[str, tuple[JointSource, ...]]) -> dict[str, tuple[JointSource, ...]]:
    """Complete a left-side map with its mirror: 'left_*' -> 'right_*', 'Left'/'L_'/'l' -> 'Right'/'R_'/'r'."""

    def mirror(name: str) -> str:
        for a, b in (("Left", "Right"), ("L_", "R_"), ("LHip", "RHip"), ("LThumb", "RThumb")):
            if name.startswith(a):
                return b + name[len(a) :]
        if name.startswith("left_"):
            return "right_" + name[5:]
        raise AssertionError(f"no mirror rule for {name}")

    out: dict[str, tuple[JointSource, ...]] = {}
    for target, options in left.items():
        out[target] = options
        if target.startswith("left_"):
            out[mirror(target)] = tuple(
                mirror(o) if isinstance(o, str) else {mirror(k): w for k, w in o.items()} for o in options
            )
    return out


_CENTRE_SMPL = {
    "pelvis": ("pelvis",),
    "spine1": ("spine1",),
    "spine2": ("spine2",),
    "spine3": ("spine3",),
    "neck": ("neck",),
    "head": ("head",),
}
BUILTIN_MAPS: tuple[JointMap, ...] = (
    # Our own export and SMPL-to-BVH conversions (Pelvis, L_Hip, ..., L_Wrist).
    JointMap(
        "smpl",
        _sided(
            {
                **_CENTRE_SMPL,
                "left_hip": ("left_hip", "L_Hip"),
                "left_knee": ("left_knee", "L_Knee"),
                "left_ankle": ("left_ankle", "L_Ankle"),
                "left_foot": ("left_foot", "L_Foot"),
                "left_collar": ("left_collar", "L_Collar"),
                "left_shoulder": ("left_shoulder", "L_Shoulder"),
                "left_elbow": ("left_elbow", "L_Elbow"),
                "left_wrist": ("left_wrist", "L_Wrist"),
            }
        ),
    ),
    # Mixamo and LAFAN1-style rigs: three spine joints, LeftShoulder is the collarbone.
    JointMap(
        "mixamo",
        _sided(
            {
                "pelvis": ("Hips",),
                "spine1": ("Spine",),
                "spine2": ("Spine1",),
                "spine3": ("Spine2",),
                "neck": ("Neck",),
                "head": ("Head",),
                "left_hip": ("LeftUpLeg",),
                "left_knee": ("LeftLeg",),
                "left_ankle": ("LeftFoot",),
                "left_foot": ("LeftToeBase", "LeftToe"),
                "left_collar": ("LeftShoulder",),
                "left_shoulder": ("LeftArm",),
                "left_elbow": ("LeftForeArm",),
                "left_wrist": ("LeftHand",),
            }
        ),
    ),
    # CMU mocap converted with LHipJoint/LowerBack/Spine/Spine1/Neck/Neck1 (e.g. 02_01.bvh). Neck sits on
    # Spine1 and LeftShoulder on the spine, so the upper spine and the collarbone are blends.
    JointMap(
        "cmu",
        _sided(
            {
                "pelvis": ("Hips",),
                "spine1": ("Spine",),
                "spine2": ("Spine1",),
                "spine3": ({"Spine1": 0.5, "Neck1": 0.5},),
                "neck": ("Neck1",),
                "head": ("Head",),
                "left_hip": ("LeftUpLeg",),
                "left_knee": ("LeftLeg",),
                "left_ankle": ("LeftFoot",),
                "left_foot": ("LeftToeBase", "LeftToe"),
                "left_collar": ({"LeftShoulder": 0.5, "LeftArm": 0.5},),
                "left_shoulder": ("LeftArm",),
                "left_elbow": ("LeftForeArm",),
                "left_wrist": ("LeftHand",),
            }
        ),
    ),
    # CMU conversions with LeftHip/LeftKnee/LeftAnkle/LeftToe/Chest/Chest2/LeftCollar (amc2bvh-style, where
    # Neck is the upper neck and LeftCollar sits on the spine), and Chest..Chest4 rigs (Xsens-style).
    JointMap(
        "cmu_chest",
        _sided(
            {
                "pelvis": ("Hips",),
                "spine1": ("Chest",),
                "spine2": ("Chest2",),
                "spine3": ("Chest4", "Chest3", {"Chest2": 0.5, "Neck": 0.5}),
                "neck": ("Neck",),
                "head": ("Head",),
                "left_hip": ("LeftHip",),
                "left_knee": ("LeftKnee",),
                "left_ankle": ("LeftAnkle",),
                "left_foot": ("LeftToe", "LeftToeBase"),
                "left_collar": ({"LeftCollar": 0.5, "LeftShoulder": 0.5},),
                "left_shoulder": ("LeftShoulder",),
                "left_elbow": ("LeftElbow",),
                "left_wrist": ("LeftWrist",),
            }
        ),
    ),
)
for _map in BUILTIN_MAPS:
    assert set(_map.targets) == set(JOINT_NAMES), _map.name


def normalize_name(name: str) -> str:
    """Compare names without namespace ('mixamorig:Hips'), case or punctuation ('L_Hip' == 'lhip')."""
    return re.sub(r"[^a-z0-9]", "", re.split(r"[:|]", name)[-1].lower())


# --------------------------------------------------------------------------------------------- joint maps


@dataclass(frozen=True)
class ResolvedMap:
    """Where each of the 22 joints comes from: per target, (source joint index, weight) pairs summing to 1.

    name: the built-in map used ("smpl", "cmu", ...), with "+user" when a user map overrode entries.
    """

    name: str
    sources: tuple[tuple[tuple[int, float], ...], ...]

    def describe(self, source_names: Sequence[str]) -> dict[str, str]:
        """Target -> human-readable source ('Hips' or '0.5 Spine1 + 0.5 Neck1')."""
        out = {}
        for target, pairs in zip(JOINT_NAMES, self.sources, strict=True):
            if len(pairs) == 1:
                out[target] = source_names[pairs[0][0]]
            else:
                out[target] = " + ".join(f"{w:g} {source_names[i]}" for i, w in pairs)
        return out


def _check_source(value: object, where: str) -> JointSource:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, dict) and value:
        weights = {}
        for key, weight in value.items():
            if not isinstance(weight, int | float) or isinstance(weight, bool) or not weight > 0:
                raise UserError(f"{where}: weight of {key!r} must be a positive number, got {weight!r}")
            weights[str(key)] = float(weight)
        return weights
    raise UserError(f"{where}: expected a joint name or {{name: weight, ...}}, got {value!r}")


def load_joint_map(path: str | os.PathLike[str]) -> dict[str, JointSource]:
    """Read a user joint map: a JSON object from our joint names to a BVH joint name or {name: weight}."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: joint map not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not a JSON joint map ({err})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object {{our_joint: bvh_joint}}, got {type(data).__name__}")
    unknown = [key for key in data if key not in JOINT_NAMES]
    if unknown:
        raise UserError(f"{path}: unknown target joint(s) {', '.join(map(str, unknown))}; use {', '.join(JOINT_NAMES)}")
    return {key: _check_source(value, f"{path}: {key}") for key, value in data.items()}


def _lookup(source: JointSource, index: Mapping[str, int]) -> tuple[tuple[int, float], ...] | None:
    weights = {source: 1.0} if isinstance(source, str) else dict(source)
    pairs = []
    for name, weight in weights.items():
        found = index.get(normalize_name(name))
        if found is None:
            return None
        pairs.append((found, weight))
    total = sum(weight for _, weight in pairs)
    return tuple((i, weight / total) for i, weight in pairs)


def resolve_joint_map(
    source_names: Sequence[str], user_map: Mapping[str, JointSource] | None = None, where: str = "BVH"
) -> ResolvedMap:
    """Place all 22 joints on the rig ``source_names``: user entries first, the rest from the built-in map
    that places the most joints. ``UserError`` listing the joints nothing could place."""
    index: dict[str, int] = {}
    for i, name in enumerate(source_names):
        index.setdefault(normalize_name(name), i)
    user_map = dict(user_map or {})
    fixed: dict[str, tuple[tuple[int, float], ...]] = {}
    for target, source in user_map.items():
        pairs = _lookup(source, index)
        if pairs is None:
            missing = [n for n in ([source] if isinstance(source, str) else source) if normalize_name(n) not in index]
            raise UserError(f"{where}: joint map entry {target} -> {', '.join(missing)}: no such joint in the file")
        fixed[target] = pairs

    best: tuple[int, str, dict[str, tuple[tuple[int, float], ...]]] | None = None
    for joint_map in BUILTIN_MAPS:
        placed = dict(fixed)
        for target in JOINT_NAMES:
            if target in placed:
                continue
            for option in joint_map.targets[target]:
                pairs = _lookup(option, index)
                if pairs is not None:
                    placed[target] = pairs
                    break
        if best is None or len(placed) > best[0]:
            best = (len(placed), joint_map.name, placed)
    assert best is not None
    _, name, placed = best
    missing = [target for target in JOINT_NAMES if target not in placed]
    if missing:
        raise UserError(
            f"{where}: cannot place {len(missing)} of the 22 joints on this rig: {', '.join(missing)} "
            f"(closest built-in map: {name}); pass user_map=MAP.json naming a BVH joint for each",
            mentions=("user_map",),
        )
    if fixed and len(fixed) == N_JOINTS:
        name = "user"
    elif fixed:
        name = f"{name}+user"
    return ResolvedMap(name=name, sources=tuple(placed[target] for target in JOINT_NAMES))


def apply_joint_map(positions: np.ndarray, resolved: ResolvedMap) -> np.ndarray:
    """(F, J, 3) rig positions -> (F, 22, 3) by the resolved sources (weighted averages)."""
    out = np.zeros(positions.shape[:1] + (N_JOINTS, 3))
    for target, pairs in enumerate(resolved.sources):
        for source, weight in pairs:
            out[:, target] += weight * positions[:, source]
    return out


# ------------------------------------------------------------------------------------- axes, units, time


def detect_up_axis(joints: np.ndarray) -> str:
    """The file axis pointing up ('+y', '-z', ...): the mean unit direction from the ankles to the head
    (the body is upright most of a clip). ``UserError`` when no axis dominates."""
    vectors = joints[:, 15] - 0.5 * (joints[:, LEFT_FOOT[0]] + joints[:, RIGHT_FOOT[0]])
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
    mean = vectors.mean(axis=0)
    axis = int(np.argmax(np.abs(mean)))
    if abs(mean[axis]) < _MIN_UP_DOMINANCE:
        raise UserError(
            f"cannot tell the up axis (mean ankle->head direction {np.round(mean, 2).tolist()}); pass up_axis",
            mentions=("up_axis",),
        )
    return ("+" if mean[axis] > 0 else "-") + "xyz"[axis]


def to_y_up(joints: np.ndarray, up_axis: str) -> np.ndarray:
    """Rotate points so ``up_axis`` becomes +y (a proper rotation: handedness, hence left/right, kept)."""
    if up_axis not in _TO_Y_UP:
        raise UserError(f"up axis {up_axis!r} is not one of {', '.join(UP_AXES)}")
    return joints @ _TO_Y_UP[up_axis].T


def floor_tilt(joints: np.ndarray, fps: float = FPS) -> tuple[float, np.ndarray]:
    """Tilt (degrees) of the floor the feet stand on, and the rotation (3, 3) that levels it.

    Floor points: the lowest foot joint of each frame where that joint is still (slower than
    ``_CONTACT_SPEED``: planted, not swinging). The floor's slope is fitted along each principal horizontal
    direction the points cover by at least ``_FLOOR_FIT_MIN_SPAN`` (a straight walk fixes the slope along
    the walk only; across it, left/right foot differences would be noise); points more than
    ``_FLOOR_FIT_RESIDUAL`` above the first fit are dropped and the fit repeated.
    """
    feet = joints[:, list(_FEET)]
    if len(feet) < 3:
        return 0.0, np.eye(3)
    lowest_joint = np.argmin(feet[..., 1], axis=1)
    frames = np.arange(len(feet))
    speed = np.linalg.norm(np.diff(feet, axis=0), axis=-1) * fps  # (F-1, 4)
    speed = np.concatenate([speed, speed[-1:]])[frames, lowest_joint]
    points = feet[frames, lowest_joint][speed < _CONTACT_SPEED]
    if len(points) < 3:
        return 0.0, np.eye(3)
    horizontal = points[:, [0, 2]] - points[:, [0, 2]].mean(axis=0)
    _, axes = np.linalg.eigh(horizontal.T @ horizontal)
    along = horizontal @ axes  # coordinates along the principal directions
    used = [k for k in range(2) if np.ptp(along[:, k]) >= _FLOOR_FIT_MIN_SPAN]
    if not used:
        return 0.0, np.eye(3)
    keep = np.ones(len(points), dtype=bool)
    for _ in range(2):
        design = np.column_stack([along[keep][:, used], np.ones(keep.sum())])
        coef, *_ = np.linalg.lstsq(design, points[keep, 1], rcond=None)
        keep = points[:, 1] - np.column_stack([along[:, used], np.ones(len(points))]) @ coef < _FLOOR_FIT_RESIDUAL
        if keep.sum() < 3:
            return 0.0, np.eye(3)
    gradient = axes[:, used] @ coef[: len(used)]  # dy/dx, dy/dz
    normal = np.array([-gradient[0], 1.0, -gradient[1]])
    normal /= np.linalg.norm(normal)
    tilt = math.degrees(math.acos(min(1.0, normal[1])))
    axis = np.cross(normal, [0.0, 1.0, 0.0])
    if np.linalg.norm(axis) < 1e-12:
        return 0.0, np.eye(3)
    return tilt, Rotation.from_rotvec(axis / np.linalg.norm(axis) * math.radians(tilt)).as_matrix()


def body_chain_length(joints: np.ndarray) -> float:
    """Median summed length of the ankle-to-head bones (left leg), in the joints' units: pose-independent."""
    total = 0.0
    for a, b in zip(_HEIGHT_CHAIN[:-1], _HEIGHT_CHAIN[1:], strict=True):
        total += float(np.median(np.linalg.norm(joints[:, a] - joints[:, b], axis=-1)))
    return total


_REFERENCE_CHAIN = float(
    sum(
        REFERENCE_BONE_LENGTHS[a] if PARENTS[a] == b else REFERENCE_BONE_LENGTHS[b]  # the bone between a and b
        for a, b in zip(_HEIGHT_CHAIN[:-1], _HEIGHT_CHAIN[1:], strict=True)
    )
)


def detect_unit(joints: np.ndarray, where: str = "BVH") -> str:
    """The entry of ``UNITS`` that makes the body measure most like the reference skeleton."""
    chain = body_chain_length(joints)
    if not chain > 0:
        raise UserError(f"{where}: the body has zero size; cannot tell its length unit")
    name = min(UNITS, key=lambda unit: abs(math.log(UNITS[unit] * chain / _REFERENCE_CHAIN)))
    ratio = UNITS[name] * chain / _REFERENCE_CHAIN
    low, high = BODY_SCALE_RANGE
    if not low <= ratio <= high:
        raise UserError(
            f"{where}: cannot tell the length unit: the ankle-to-head bones measure {chain:.4g} file units, "
            f"not a human size in any of {', '.join(UNITS)}; pass unit",
            mentions=("unit",),
        )
    return name


def resample_positions(n_frames: int, source_fps: float, target_fps: float = FPS) -> np.ndarray:
    """Fractional source frame index of every target frame covering the clip (the first frame kept)."""
    duration = (n_frames - 1) / source_fps
    n_out = int(math.floor(duration * target_fps + 1e-6)) + 1
    return np.minimum(np.arange(n_out) * (source_fps / target_fps), n_frames - 1)


def slerp_frames(quats: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Quaternions (F, J, 4; w, x, y, z) interpolated at fractional frames ``at`` (K,) -> (K, J, 4)."""
    low = np.floor(at).astype(np.int64)
    high = np.minimum(low + 1, len(quats) - 1)
    t = (at - low)[:, None, None]
    q0, q1 = quats[low], quats[high]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)  # the shorter way round
    dot = np.abs(dot).clip(max=1.0)
    angle = np.arccos(dot)
    sin = np.sin(angle)
    small = sin < 1e-6
    w0 = np.where(small, 1.0 - t, np.sin((1.0 - t) * angle) / np.where(small, 1.0, sin))
    w1 = np.where(small, t, np.sin(t * angle) / np.where(small, 1.0, sin))
    out = w0 * q0 + w1 * q1
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


def lerp_frames(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Linear interpolation of (F, ...) values at fractional frames ``at`` (K,)."""
    low = np.floor(at).astype(np.int64)
    high = np.minimum(low + 1, len(values) - 1)
    t = (at - low).reshape((-1,) + (1,) * (values.ndim - 1))
    return (1.0 - t) * values[low] + t * values[high]


# ------------------------------------------------------------------------------------------- retargeting


@dataclass
class RetargetedMotion:
    """A BVH clip on the 22 joints: ``joints`` (T, 22, 3) metres, y up, ``fps``, lowest joint at y = 0.

    map_name / mapping / unit / up_axis: what was used (detected or given); source_*: the file's;
    floor_tilt: degrees by which the capture floor was levelled (0 when it was level or not levelled);
    mirrored: the toes point backwards relative to the mapped left/right (the rig's "Left" is on the right).
    """

    joints: np.ndarray
    fps: float
    map_name: str
    mapping: dict[str, str]
    unit: str
    up_axis: str
    source_fps: float
    source_frames: int
    source_joints: int
    floor_tilt: float = 0.0
    mirrored: bool = False

    @property
    def body_height(self) -> float:
        """Head joint above the floor, 90th percentile over frames (metres): the standing height to the head
        joint (about 10 cm below the crown)."""
        return float(np.percentile(self.joints[:, 15, 1] - self.joints[:, list(_FEET), 1].min(axis=1), 90))

    @property
    def speed(self) -> float:
        """Mean horizontal root speed from first to last frame (m/s)."""
        if len(self.joints) < 2:
            return 0.0
        step = self.joints[-1, 0, [0, 2]] - self.joints[0, 0, [0, 2]]
        return float(np.linalg.norm(step) * self.fps / (len(self.joints) - 1))


def retarget_bvh(
    bvh: Bvh,
    user_map: Mapping[str, JointSource] | None = None,
    unit: str = "auto",
    up_axis: str = "auto",
    fps: float = FPS,
    level_floor: bool = True,
) -> RetargetedMotion:
    """Retarget a parsed BVH onto the 22 joints (see the module docstring for the steps).

    ``level_floor`` turns the clip so a slightly tilted capture floor (mocap calibration; CMU 02_01 rises
    about 1 degree) becomes level, so the feet touch y = 0 throughout, not only at the lowest point."""
    where = bvh.source or "BVH"
    resolved = resolve_joint_map(bvh.names, user_map, where)
    at = resample_positions(bvh.n_frames, bvh.fps, fps)
    quats = slerp_frames(bvh.local_rotations(), at)
    translations = lerp_frames(bvh.local_translations(), at)
    joints = apply_joint_map(chain_positions(bvh.parents, quats, translations), resolved)

    try:
        up = detect_up_axis(joints) if up_axis == "auto" else up_axis
    except UserError as err:
        raise UserError(f"{where}: {err}") from None
    joints = to_y_up(joints, up)
    if unit == "auto":
        unit = detect_unit(joints, where)
    elif unit not in UNITS:
        raise UserError(f"unit {unit!r} is not one of {', '.join(UNITS)}")
    joints = joints * UNITS[unit]
    tilt = 0.0
    if level_floor:
        tilt, turn = floor_tilt(joints, fps)
        if tilt > MAX_LEVELLED_TILT:
            logger.info("%s: floor tilted by %.1f deg: taken as real terrain, not levelled", where, tilt)
            tilt = 0.0
        elif tilt < MIN_LEVELLED_TILT:
            tilt = 0.0
        else:
            joints = joints @ turn.T
    joints[..., 1] -= joints[..., 1].min()

    lengths = np.median(np.linalg.norm(joints[:, 1:] - joints[:, list(PARENTS[1:])], axis=-1), axis=0)
    short = [f"{JOINT_NAMES[PARENTS[j + 1]]}->{JOINT_NAMES[j + 1]}" for j in np.flatnonzero(lengths < MIN_BONE_LENGTH)]
    if short:
        raise UserError(
            f"{where}: bone(s) {', '.join(short)} shorter than {MIN_BONE_LENGTH * 100:.0f} cm after mapping "
            f"(two joints placed on one BVH joint); pass user_map to place them apart",
            mentions=("user_map",),
        )
    mirrored = _warn_if_mirrored(joints, where)
    return RetargetedMotion(
        joints=joints,
        fps=float(fps),
        map_name=resolved.name,
        mapping=resolved.describe(bvh.names),
        unit=unit,
        up_axis=up,
        source_fps=bvh.fps,
        source_frames=bvh.n_frames,
        source_joints=len(bvh.joints),
        floor_tilt=tilt,
        mirrored=mirrored,
    )


def _warn_if_mirrored(joints: np.ndarray, where: str) -> bool:
    """Left x up must point forward (where the toes point); otherwise the rig's Left is the viewer's left."""
    left = joints[:, 1] - joints[:, 2]
    forward = np.cross(left, np.array([0.0, 1.0, 0.0]))
    toes = joints[:, list(_FEET[1::2])] - joints[:, list(_FEET[0::2])]  # foot minus ankle, both sides
    agreement = float(np.mean(np.einsum("fi,fki->fk", forward, toes * np.array([1.0, 0.0, 1.0]))))
    if agreement < 0:
        logger.warning("%s: the toes point backwards relative to left/right: the rig may be mirrored", where)
    return agreement < 0


# ----------------------------------------------------------------------------------------------- import


@dataclass
class ImportReport:
    """What ``import_bvh_files`` did: clip ids written, one summary line per imported file, files that failed
    (path -> reason) and clips left out for being too short (id -> reason)."""

    out_dir: Path
    written: list[str] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def _segments(n_rows: int, max_rows: int = MAX_FRAMES) -> list[tuple[int, int]]:
    """Split ``n_rows`` feature rows into equal consecutive segments of at most ``max_rows``."""
    count = max(1, math.ceil(n_rows / max_rows))
    edges = np.linspace(0, n_rows, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _clip_id(stem: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", stem).strip("._") or "bvh"
    candidate, k = base, 2
    while candidate in taken:
        candidate, k = f"{base}_{k}", k + 1
    return candidate


def import_bvh_files(
    paths: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    user_map: Mapping[str, JointSource] | None = None,
    caption: str | None = None,
    unit: str = "auto",
    up_axis: str = "auto",
    split: str = "train",
) -> ImportReport:
    """Import BVH files into the HumanML3D-format folder ``out_dir`` (created or extended).

    Each file becomes one clip (id = file stem), or several of at most MAX_FRAMES feature rows (``stem_000``,
    ...) when longer; clips under MIN_FRAMES rows are skipped and reported. A file that fails raises
    ``UserError`` when it is the only one; with several, it is reported in ``failed`` and the rest go on.
    The ids are appended to ``<split>.txt``, the other split files are created empty if missing, and
    Mean/Std are refitted on the train split.
    """
    # Imported here: features pulls in torch, which retargeting alone does not need.
    from motion_r1_verl.motion.core.features import features_from_joints, joints_from_features
    from motion_r1_verl.motion.core.humanml3d import (
        FEATURES_DIR,
        Caption,
        check_motion_array,
        read_split_ids,
        write_clip,
    )
    from motion_r1_verl.motion.core.humanml3d import write_split as write_split_file
    from motion_r1_verl.motion.core.normalization import Normalizer
    from motion_r1_verl.runtime.files import load_npy

    if not re.fullmatch(r"[A-Za-z0-9_-]+", split):
        raise UserError(f"split name {split!r} must use only letters, digits, _ and -")
    out = Path(out_dir)
    report = ImportReport(out_dir=out)
    captions = [Caption.from_text(caption.strip() if caption and caption.strip() else PLACEHOLDER_CAPTION)]
    split_ids: dict[str, list[str]] = {}
    for name in ("train", "val", "test", split):
        split_ids[name] = read_split_ids(out, name) if (out / f"{name}.txt").exists() else []

    def train_clip(clip_id: str) -> np.ndarray:
        feature_path = out / FEATURES_DIR / f"{clip_id}.npy"
        try:
            return check_motion_array(load_npy(feature_path), "features")
        except ValueError as err:
            raise UserError(
                f"{feature_path}: {err} (listed in {out / 'train.txt'}, whose clips Mean/Std are refitted on; "
                "fix or unlist it first: nothing was written)"
            ) from None

    # Read (and check) the folder's train clips before writing anything: a bad one stops the import here,
    # not after the new clips and split files are in and the normaliser cannot be refitted.
    train_features = {clip_id: train_clip(clip_id) for clip_id in split_ids["train"]}
    taken: set[str] = set()  # ids used in this run; re-importing a file overwrites its clip (idempotent)

    for path in paths:
        path = Path(path)
        try:
            motion = retarget_bvh(read_bvh(path), user_map, unit, up_axis)
        except UserError as err:
            if len(paths) == 1:
                raise
            report.failed[str(path)] = str(err)
            continue
        stem = _clip_id(path.stem, taken)
        taken.add(stem)
        n_rows = len(motion.joints) - 1
        pieces = _segments(n_rows)
        written_here = []
        for k, (start, stop) in enumerate(pieces):
            clip_id = stem if len(pieces) == 1 else f"{stem}_{k:03d}"
            if stop - start < MIN_FRAMES:
                report.skipped[clip_id] = (
                    f"{path}: {stop - start} frames at {FPS} fps is shorter than the {MIN_FRAMES} a clip needs"
                )
                continue
            features = features_from_joints(motion.joints[start : stop + 1])
            joints = joints_from_features(features)
            write_clip(out, clip_id, features, captions, joints=joints)
            written_here.append(clip_id)
            if split == "train":
                train_features[clip_id] = features
        report.written += written_here
        split_ids[split] += [i for i in written_here if i not in split_ids[split]]
        report.summaries.append(
            f"{path.name}: {motion.source_joints} joints, map '{motion.map_name}', "
            f"unit {motion.unit}, up {motion.up_axis}, {motion.source_frames} frames @ {motion.source_fps:g} fps "
            f"-> {n_rows} frames @ {FPS} fps, floor levelled by {motion.floor_tilt:.1f} deg, "
            f"head height {motion.body_height:.2f} m, speed {motion.speed:.2f} m/s"
            f" -> {', '.join(written_here) or 'nothing written'}"
            + (" (WARNING: left and right look swapped; check the joint map)" if motion.mirrored else "")
        )
    if not report.written:
        reasons = "; ".join(f"{k}: {v}" for k, v in {**report.failed, **report.skipped}.items())
        raise UserError(f"no clip imported from {len(paths)} BVH file(s): {reasons}")
    for name, ids in split_ids.items():
        if name == split or not (out / f"{name}.txt").is_file():
            write_split_file(out, name, ids)
    train = [train_features[i] for i in split_ids["train"]]
    if train:
        Normalizer.fit(train).save(out)
    return report
