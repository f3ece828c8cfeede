"""BVH (Biovision Hierarchy) files: parse, forward kinematics, write.

Why: mocap people train on their own BVH files (``motion-r1 data import-bvh``) and want our generated
motions back in Blender/MotionBuilder (``motion-r1 export bvh``). This module knows the file format and
rigid-body kinematics only; mapping an arbitrary rig onto the 22 HumanML3D joints is
``motion_r1_verl.motion.sources.retarget``, building a file from 22-joint positions is
``motion_r1_verl.motion.outputs.bvh_export``.

Conventions (the ones the common tools share):
- A joint's rotation is the product of its rotation channels in the order they are listed, as intrinsic
  rotations: ``CHANNELS 3 Zrotation Xrotation Yrotation`` means ``R = Rz @ Rx @ Ry`` (degrees).
- A joint's position is ``parent position + parent global rotation @ offset``; position channels (usually
  only on the root) replace the matching offset component, as Blender's importer reads them.
- Parsing errors are ``UserError`` naming ``file:line`` and what was expected; nothing is guessed.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.kinematics import chain_positions
from motion_r1_verl.runtime.files import write_text_atomic

logger = logging.getLogger(__name__)

_AXES = "XYZ"
CHANNEL_NAMES = tuple(f"{axis}{kind}" for kind in ("position", "rotation") for axis in _AXES)
POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
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
        """(F, J, 4) local joint rotations as quaternions (w, x, y, z), the convention of ``motion.core.rotations``,
        from the Euler channels."""
        quats = np.zeros((self.n_frames, len(self.joints), 4))
        quats[..., 0] = 1.0
        for index, joint in enumerate(self.joints):
            values = self.channel_values(index)
            order = [name[0].upper() for name in joint.channels if name.endswith("rotation")]
            if not order:
                continue
            angles = np.stack([values[f"{axis}rotation"] for axis in order], axis=-1)
            # Upper-case sequence = intrinsic rotations: R = R_first @ R_second @ R_third.
            quats[:, index] = Rotation.from_euler("".join(order), angles, degrees=True).as_quat(scalar_first=True)
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
        return chain_positions(self.parents, self.local_rotations(), self.local_translations())


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


# Bounds on what a motion-capture skeleton can be; a file beyond them is refused before it costs memory or
# stack (a 20,000-deep chain of joints would otherwise end in a RecursionError).
MAX_JOINT_DEPTH = 128
MAX_JOINTS = 1024
# Seconds per frame: mocap is sampled at 24-480 fps; 1 s per frame is already far beyond any capture, and
# resampling a clip of 1e6-second frames to 20 fps would allocate tens of GiB.
MAX_FRAME_TIME_S = 1.0


def _parse_joint(tokens: _Tokens, joints: list[BvhJoint], parent: int, line: int, depth: int = 0) -> None:
    if depth >= MAX_JOINT_DEPTH:
        raise tokens.error(f"joints nested more than {MAX_JOINT_DEPTH} deep (not a motion-capture skeleton)", line)
    if len(joints) >= MAX_JOINTS:
        raise tokens.error(f"more than {MAX_JOINTS} joints (not a motion-capture skeleton)", line)
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
            _parse_joint(tokens, joints, index, token_line, depth + 1)
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
    if not (np.isfinite(frame_time) and 0 < frame_time <= MAX_FRAME_TIME_S):
        raise UserError(
            f"{path}:{motion_line + 3}: 'Frame Time:' must be positive seconds up to {MAX_FRAME_TIME_S:g} "
            f"(one frame's duration), found '{time_text}'"
        )
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
    except OSError as err:  # a symlink loop, no permission, ...
        raise UserError(f"{path}: cannot read ({err.strerror or err})") from None
    except UnicodeDecodeError:
        try:
            text = path.read_bytes().decode("latin-1")
        except OSError as os_err:
            raise UserError(f"{path}: cannot read ({os_err.strerror or os_err})") from None
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
