"""BVH (Biovision Hierarchy) files: parse, forward kinematics, write, and build one from 22-joint positions.

Why: mocap people train on their own BVH files (``motion-r1 data import-bvh``) and want our generated
motions back in Blender/MotionBuilder (``motion-r1 export bvh``). This module knows the file format and
rigid-body kinematics only; mapping an arbitrary rig onto the 22 HumanML3D joints lives in
``motion_r1_verl.motion.retarget``.

Conventions (the ones the common tools share):
- A joint's rotation is the product of its rotation channels in the order they are listed, as intrinsic
  rotations: ``CHANNELS 3 Zrotation Xrotation Yrotation`` means ``R = Rz @ Rx @ Ry`` (degrees).
- A joint's position is ``parent position + parent global rotation @ offset``; position channels (usually
  only on the root) replace the matching offset component, as Blender's importer reads them.
- Parsing errors are ``UserError`` naming ``file:line`` and what was expected; nothing is guessed.

Exporting 22-joint positions (``bvh_from_joints``): the offsets are the clip's own median bone lengths along a
T-pose; each joint's rotation is solved so that its child lands on the measured position (minimal swing from
the parent's frame for one child; a least-squares (Kabsch) fit for the pelvis and the upper spine, whose
children form a rigid triangle on a real body), and written as Euler angles in an order chosen per joint so
that curves stay smooth (see ``ROTATION_ORDER_BY_BONE_AXIS``). Reading the file back reproduces rigid-skeleton input
(e.g. HumanML3D ``new_joints``) to float precision; ``max_joint_error`` tells how far non-rigid input (e.g.
decoded generations whose bones stretch) could be followed.

Run: ``motion-r1 export bvh motion.npy --out motion.bvh``.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.constants import FPS, N_JOINTS
from motion_r1_verl.motion.skeleton import JOINT_NAMES, PARENTS, RAW_OFFSETS
from motion_r1_verl.runtime.files import write_text_atomic

logger = logging.getLogger(__name__)

_AXES = "XYZ"
CHANNEL_NAMES = tuple(f"{axis}{kind}" for kind in ("position", "rotation") for axis in _AXES)
POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
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
# Frame rates written with a rounded frame time (0.008333 for 120 fps) are snapped to the integer rate
# when within this relative distance, so resampling 120 -> 20 fps picks exact frames.
_FPS_SNAP_TOLERANCE = 1e-3


@dataclass
class BvhJoint:
    """One joint of a BVH hierarchy.

    name: the joint's name as written (``LeftUpLeg``). parent: index of the parent joint, -1 for a root.
    offset: (3,) rest offset from the parent, file units. channels: channel names in file order.
    end_site: (3,) offset of the joint's ``End Site`` child, or None.
    """

    name: str
    parent: int
    offset: np.ndarray
    channels: tuple[str, ...]
    end_site: np.ndarray | None = None


@dataclass
class Bvh:
    """A parsed BVH file: hierarchy (joints in file order, parents first) and the motion channel values.

    motion: (F, C) float64, C = total number of channels, in hierarchy order. frame_time: seconds per frame.
    source: the file it came from (for messages), or None.
    """

    joints: list[BvhJoint]
    frame_time: float
    motion: np.ndarray
    source: str | None = None
    _channel_starts: list[int] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.joints:
            raise ValueError("a BVH needs at least one joint")
        if self.frame_time <= 0 or not np.isfinite(self.frame_time):
            raise ValueError(f"frame_time must be a positive number of seconds, got {self.frame_time}")
        starts, total = [], 0
        for index, joint in enumerate(self.joints):
            if joint.parent >= index:
                raise ValueError(f"joint {joint.name!r} is listed before its parent")
            starts.append(total)
            total += len(joint.channels)
        self._channel_starts = starts
        self.motion = np.asarray(self.motion, dtype=np.float64).reshape(-1, total)

    @property
    def names(self) -> list[str]:
        return [joint.name for joint in self.joints]

    @property
    def parents(self) -> np.ndarray:
        return np.array([joint.parent for joint in self.joints], dtype=np.int64)

    @property
    def n_frames(self) -> int:
        return int(self.motion.shape[0])

    @property
    def fps(self) -> float:
        """Frames per second; a rate within 0.1% of an integer (rounded frame times) is that integer."""
        fps = 1.0 / self.frame_time
        rounded = round(fps)
        return float(rounded) if rounded > 0 and abs(fps - rounded) <= _FPS_SNAP_TOLERANCE * rounded else fps

    def channel_column(self, joint: int, channel: str) -> int:
        """Column of ``motion`` holding ``channel`` (e.g. "Zrotation") of joint index ``joint``."""
        return self._channel_starts[joint] + self.joints[joint].channels.index(channel)

    def channel_values(self, joint: int) -> dict[str, np.ndarray]:
        """Channel name -> (F,) values for one joint."""
        start = self._channel_starts[joint]
        return {name: self.motion[:, start + k] for k, name in enumerate(self.joints[joint].channels)}

    def local_rotations(self) -> np.ndarray:
        """(F, J, 4) local joint rotations as quaternions (x, y, z, w), from the Euler channels."""
        quats = np.zeros((self.n_frames, len(self.joints), 4))
        quats[..., 3] = 1.0
        for index, joint in enumerate(self.joints):
            values = self.channel_values(index)
            order = [name[0].upper() for name in joint.channels if name.endswith("rotation")]
            if not order:
                continue
            angles = np.stack([values[f"{axis}rotation"] for axis in order], axis=-1)
            # Upper-case sequence = intrinsic rotations: R = R_first @ R_second @ R_third.
            quats[:, index] = Rotation.from_euler("".join(order), angles, degrees=True).as_quat()
        return quats

    def local_translations(self) -> np.ndarray:
        """(F, J, 3) each joint's translation from its parent: the offset, with position channels replacing
        the components they cover."""
        translations = np.broadcast_to(
            np.stack([joint.offset for joint in self.joints]), (self.n_frames, len(self.joints), 3)
        ).copy()
        for index in range(len(self.joints)):
            values = self.channel_values(index)
            for axis_index, axis in enumerate(_AXES):
                if f"{axis}position" in values:
                    translations[:, index, axis_index] = values[f"{axis}position"]
        return translations

    def positions(self) -> np.ndarray:
        """(F, J, 3) global joint positions in file units and axes."""
        return forward_kinematics(self.parents, self.local_rotations(), self.local_translations())


def forward_kinematics(parents: np.ndarray, quats: np.ndarray, translations: np.ndarray) -> np.ndarray:
    """Global joint positions (F, J, 3) from local rotations ``quats`` (F, J, 4; x, y, z, w) and local
    translations (F, J, 3). ``parents[j] < j`` (-1 for roots)."""
    n_frames, n_joints = quats.shape[:2]
    local = Rotation.from_quat(quats.reshape(-1, 4)).as_matrix().reshape(n_frames, n_joints, 3, 3)
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


# ----------------------------------------------------------------------------------------------- parsing


class _Tokens:
    """Whitespace tokens of the hierarchy section with their 1-based line numbers."""

    def __init__(self, path: str, lines: list[str]) -> None:
        self.path = path
        self.items: list[tuple[str, int]] = []
        for number, line in enumerate(lines, start=1):
            for token in line.replace("{", " { ").replace("}", " } ").split():
                self.items.append((token, number))
        self.pos = 0

    def error(self, message: str, line: int | None = None) -> UserError:
        if line is None:
            line = self.items[min(self.pos, len(self.items) - 1)][1] if self.items else 1
        return UserError(f"{self.path}:{line}: {message}")

    def peek(self) -> str | None:
        return self.items[self.pos][0] if self.pos < len(self.items) else None

    def take(self, what: str) -> tuple[str, int]:
        if self.pos >= len(self.items):
            last = self.items[-1][1] if self.items else 1
            raise self.error(f"file ends where {what} was expected (truncated?)", last)
        item = self.items[self.pos]
        self.pos += 1
        return item

    def expect(self, word: str) -> int:
        token, line = self.take(f"'{word}'")
        if token.upper() != word.upper():
            raise self.error(f"expected '{word}', found '{token}'", line)
        return line

    def rest_of_line(self, line: int, what: str) -> str:
        """Join the remaining tokens on ``line`` (names may contain spaces), stopping before '{'."""
        words = []
        while self.pos < len(self.items) and self.items[self.pos][1] == line and self.items[self.pos][0] != "{":
            words.append(self.items[self.pos][0])
            self.pos += 1
        if not words:
            raise self.error(f"missing {what}", line)
        return " ".join(words)

    def number(self, what: str) -> float:
        token, line = self.take(what)
        try:
            value = float(token)
        except ValueError:
            raise self.error(f"{what}: '{token}' is not a number", line) from None
        if not np.isfinite(value):
            raise self.error(f"{what}: '{token}' is not finite", line)
        return value


def _parse_joint(tokens: _Tokens, joints: list[BvhJoint], parent: int, line: int) -> None:
    name = tokens.rest_of_line(line, "joint name")
    tokens.expect("{")
    tokens.expect("OFFSET")
    offset = np.array([tokens.number(f"OFFSET of joint '{name}'") for _ in range(3)])
    channels: tuple[str, ...] = ()
    if (tokens.peek() or "").upper() == "CHANNELS":
        tokens.take("CHANNELS")
        count_token, count_line = tokens.take("channel count")
        if not count_token.isdigit():
            raise tokens.error(f"CHANNELS of joint '{name}': count '{count_token}' is not a whole number", count_line)
        names = []
        for k in range(int(count_token)):
            token, token_line = tokens.take(f"channel {k + 1} of joint '{name}'")
            canonical = token[0].upper() + token[1:].lower() if token else token
            if canonical not in CHANNEL_NAMES:
                raise tokens.error(
                    f"CHANNELS of joint '{name}' declares {count_token} channels but item {k + 1} is '{token}', "
                    f"not one of {', '.join(CHANNEL_NAMES)}",
                    token_line,
                )
            if canonical in names:
                raise tokens.error(f"joint '{name}' lists channel {canonical} twice", token_line)
            names.append(canonical)
        channels = tuple(names)
    index = len(joints)
    joints.append(BvhJoint(name=name, parent=parent, offset=offset, channels=channels))
    while True:
        token, token_line = tokens.take(f"'}}' closing joint '{name}'")
        keyword = token.upper()
        if token == "}":
            return
        if keyword == "JOINT":
            _parse_joint(tokens, joints, index, token_line)
        elif keyword == "END":
            tokens.expect("Site")
            tokens.expect("{")
            tokens.expect("OFFSET")
            joints[index].end_site = np.array([tokens.number(f"End Site OFFSET of joint '{name}'") for _ in range(3)])
            tokens.expect("}")
        else:
            raise tokens.error(f"expected JOINT, End Site or '}}' inside joint '{name}', found '{token}'", token_line)


_FRAMES_RE = re.compile(r"^\s*Frames\s*:?\s*(\S+)\s*$", re.IGNORECASE)
_FRAME_TIME_RE = re.compile(r"^\s*Frame\s+Time\s*:?\s*(\S+)\s*$", re.IGNORECASE)


def parse_bvh(text: str, path: str = "<bvh>") -> Bvh:
    """Parse BVH ``text``; ``path`` only names the source in error messages."""
    lines = text.splitlines()
    motion_line = next((i for i, line in enumerate(lines) if line.strip().upper() == "MOTION"), None)
    if motion_line is None:
        raise UserError(f"{path}:{len(lines)}: no MOTION section (not a BVH file, or truncated)")
    tokens = _Tokens(path, lines[:motion_line])
    if not tokens.items:
        raise UserError(f"{path}:1: empty hierarchy (expected HIERARCHY followed by ROOT)")
    tokens.expect("HIERARCHY")
    joints: list[BvhJoint] = []
    while tokens.peek() is not None:
        token, line = tokens.take("ROOT")
        if token.upper() != "ROOT":
            raise tokens.error(f"expected ROOT, found '{token}'", line)
        _parse_joint(tokens, joints, -1, line)
    if not joints:
        raise UserError(f"{path}:{motion_line}: the hierarchy has no ROOT joint")
    n_channels = sum(len(joint.channels) for joint in joints)

    def header(index: int, pattern: re.Pattern[str], what: str) -> str:
        line = lines[index] if index < len(lines) else ""
        match = pattern.match(line)
        if match is None:
            found = line.strip()[:40] if index < len(lines) else "the end of the file"
            raise UserError(f"{path}:{index + 1}: expected '{what}', found '{found}'")
        return match.group(1)

    frames_text = header(motion_line + 1, _FRAMES_RE, "Frames: N")
    if not frames_text.isdigit():
        raise UserError(f"{path}:{motion_line + 2}: 'Frames:' must be a whole number, found '{frames_text}'")
    n_frames = int(frames_text)
    time_text = header(motion_line + 2, _FRAME_TIME_RE, "Frame Time: SECONDS")
    try:
        frame_time = float(time_text)
    except ValueError:
        raise UserError(f"{path}:{motion_line + 3}: 'Frame Time:' '{time_text}' is not a number") from None
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise UserError(f"{path}:{motion_line + 3}: 'Frame Time:' must be positive seconds, found '{time_text}'")
    if n_frames == 0:
        raise UserError(f"{path}:{motion_line + 2}: the file declares 0 frames (expected motion data)")

    first = motion_line + 3  # 0-based index of the first frame line
    rows: list[list[str]] = []
    row_lines: list[int] = []
    for number in range(first, len(lines)):
        words = lines[number].split()
        if not words:
            continue
        if len(rows) == n_frames:
            logger.warning("%s:%d: ignoring data after the %d declared frames", path, number + 1, n_frames)
            break
        if len(words) != n_channels:
            raise UserError(
                f"{path}:{number + 1}: frame {len(rows) + 1} has {len(words)} values, expected {n_channels} "
                f"(the number of CHANNELS in the hierarchy)"
            )
        rows.append(words)
        row_lines.append(number + 1)
    if len(rows) < n_frames:
        raise UserError(
            f"{path}:{len(lines)}: file ends after {len(rows)} of the {n_frames} declared frames (truncated?)"
        )
    try:
        motion = np.array(rows, dtype=np.float64)
    except ValueError:
        motion = None
    if motion is None or not np.isfinite(motion).all():
        for words, number in zip(rows, row_lines, strict=True):
            for column, word in enumerate(words, start=1):
                try:
                    ok = np.isfinite(float(word))
                except ValueError:
                    ok = False
                if not ok:
                    raise UserError(f"{path}:{number}: value {column} '{word[:20]}' is not a finite number")
    return Bvh(joints=joints, frame_time=frame_time, motion=motion, source=path)


def read_bvh(path: str | os.PathLike[str]) -> Bvh:
    """Read and parse a BVH file (``UserError`` naming file and line for anything malformed)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file (expected a .bvh motion capture file)") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory (expected a .bvh file)") from None
    except UnicodeDecodeError as err:
        try:
            text = path.read_bytes().decode("latin-1")
        except OSError:
            raise UserError(f"{path}: cannot read ({err})") from None
    return parse_bvh(text, str(path))


# ----------------------------------------------------------------------------------------------- writing


def _fmt(values: np.ndarray) -> str:
    return " ".join(f"{value:.6f}" for value in values)


def format_bvh(bvh: Bvh) -> str:
    """The BVH text of ``bvh`` (tabs for indentation, 6 decimals)."""
    children: dict[int, list[int]] = {index: [] for index in range(len(bvh.joints))}
    for index, joint in enumerate(bvh.joints):
        if joint.parent >= 0:
            children[joint.parent].append(index)
    out = ["HIERARCHY"]
    emitted: list[int] = []  # file order is depth-first, which may differ from ``bvh.joints`` order

    def emit(index: int, depth: int) -> None:
        joint, pad = bvh.joints[index], "\t" * depth
        emitted.append(index)
        out.append(f"{pad}{'ROOT' if joint.parent < 0 else 'JOINT'} {joint.name}")
        out.append(f"{pad}{{")
        out.append(f"{pad}\tOFFSET {_fmt(joint.offset)}")
        out.append(f"{pad}\tCHANNELS {len(joint.channels)} {' '.join(joint.channels)}".rstrip())
        for child in children[index]:
            emit(child, depth + 1)
        if joint.end_site is not None:
            out.extend([f"{pad}\tEnd Site", f"{pad}\t{{", f"{pad}\t\tOFFSET {_fmt(joint.end_site)}", f"{pad}\t}}"])
        out.append(f"{pad}}}")

    for index, joint in enumerate(bvh.joints):
        if joint.parent < 0:
            emit(index, 0)
    out += ["MOTION", f"Frames: {bvh.n_frames}", f"Frame Time: {bvh.frame_time:.8f}"]
    columns = np.concatenate([np.arange(len(bvh.joints[i].channels)) + bvh._channel_starts[i] for i in emitted]).astype(
        np.int64
    )
    out.extend(_fmt(row) for row in bvh.motion[:, columns])
    return "\n".join(out) + "\n"


def write_bvh(path: str | os.PathLike[str], bvh: Bvh) -> Path:
    """Write ``bvh`` atomically (temporary file in the same folder, then rename)."""
    return write_text_atomic(path, format_bvh(bvh))


# ------------------------------------------------------------------------------ 22-joint positions -> BVH


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
