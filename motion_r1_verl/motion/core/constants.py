"""The one home of the HumanML3D motion-format numbers.

263 = 1 root angular velocity (y) + 2 root linear velocity (xz) + 1 root height
      + 21x3 root-relative joint positions (ric) + 21x6 joint rotations (6-D)
      + 22x3 local joint velocities + 4 foot contacts.
"""

FPS = 20
N_JOINTS = 22
FEATURE_DIM = 263
# The HumanML3D protocol (Guo et al.'s loaders, T2M-GPT, MoMask): a clip (or caption crop) is kept when
# MIN_FRAMES <= T < LENGTH_LIMIT and is then cut to at most MAX_FRAMES frames (their max_motion_length).
MIN_FRAMES = 40
LENGTH_LIMIT = 200
MAX_FRAMES = 196

ROOT_SLICE = slice(0, 4)
RIC_SLICE = slice(4, 4 + (N_JOINTS - 1) * 3)  # 4:67
ROT_SLICE = slice(RIC_SLICE.stop, RIC_SLICE.stop + (N_JOINTS - 1) * 6)  # 67:193
VEL_SLICE = slice(ROT_SLICE.stop, ROT_SLICE.stop + N_JOINTS * 3)  # 193:259
CONTACT_SLICE = slice(VEL_SLICE.stop, VEL_SLICE.stop + 4)  # 259:263
assert CONTACT_SLICE.stop == FEATURE_DIM

FEATURE_GROUPS = {
    "root": ROOT_SLICE,
    "ric": RIC_SLICE,
    "rot": ROT_SLICE,
    "vel": VEL_SLICE,
    "contacts": CONTACT_SLICE,
}
