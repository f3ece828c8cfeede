"""The HumanML3D 22-joint skeleton (the first 22 SMPL body joints), y up, metres.

Joint order, parents, kinematic chains and raw offset directions follow HumanML3D's
``paramUtil.t2m_*``. ``REFERENCE_BONE_LENGTHS`` are the bone lengths every processed HumanML3D
clip shares after its ``uniform_skeleton`` step: they were measured on the real clip
``new_joints/012314.npy`` (medians over its 170 frames, which agree to 1.2e-6 m), so we can put any motion on the
same skeleton without HumanML3D's example file ``000021.npy``.
"""

import numpy as np

from motion_r1_verl.motion.core.constants import N_JOINTS

JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
)
assert len(JOINT_NAMES) == N_JOINTS

PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)

# Chains from the root outwards: right leg, left leg, spine+head, right arm, left arm.
KINEMATIC_CHAIN: tuple[tuple[int, ...], ...] = (
    (0, 2, 5, 8, 11),
    (0, 1, 4, 7, 10),
    (0, 3, 6, 9, 12, 15),
    (9, 14, 17, 19, 21),
    (9, 13, 16, 18, 20),
)

# Unit direction of each bone in the rest pose (x = the body's left, y = up, z = forward).
RAW_OFFSETS = np.array(
    [
        [0, 0, 0],
        [1, 0, 0],
        [-1, 0, 0],
        [0, 1, 0],
        [0, -1, 0],
        [0, -1, 0],
        [0, 1, 0],
        [0, -1, 0],
        [0, -1, 0],
        [0, 1, 0],
        [0, 0, 1],
        [0, 0, 1],
        [0, 1, 0],
        [1, 0, 0],
        [-1, 0, 0],
        [0, 0, 1],
        [0, -1, 0],
        [0, -1, 0],
        [0, -1, 0],
        [0, -1, 0],
        [0, -1, 0],
        [0, -1, 0],
    ],
    dtype=np.float32,
)

# Length of the bone from PARENTS[j] to j (index 0, the root, has none).
REFERENCE_BONE_LENGTHS = np.array(
    [
        0.000000,
        0.103074,
        0.109883,
        0.131568,
        0.393623,
        0.390188,
        0.143190,
        0.432433,
        0.425643,
        0.057365,
        0.143382,
        0.149419,
        0.219360,
        0.137487,
        0.143383,
        0.103039,
        0.131614,
        0.122984,
        0.256840,
        0.263092,
        0.266012,
        0.269876,
    ],
    dtype=np.float32,
)

# Indices HumanML3D's processing uses.
RIGHT_FOOT = (8, 11)  # right ankle, right foot (toe)
LEFT_FOOT = (7, 10)
FACE_JOINTS = (2, 1, 17, 16)  # right hip, left hip, right shoulder, left shoulder: define "forward"
LEG_LENGTH_JOINTS = (5, 8)  # knee->ankle, used to scale the root height when retargeting
FOOT_CONTACT_VELOCITY_THRESHOLD = 0.002  # squared displacement per frame, HumanML3D's feet_thre


def reference_offsets() -> np.ndarray:
    """Rest-pose offsets (22, 3) of each joint from its parent on the reference skeleton."""
    return RAW_OFFSETS * REFERENCE_BONE_LENGTHS[:, None]
