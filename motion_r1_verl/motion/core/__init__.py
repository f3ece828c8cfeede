"""The HumanML3D motion format: the 22-joint skeleton, rotations, forward/inverse kinematics, the 263-d
features and their normalisation, HumanML3D folders on disk, data checks, and the BVH file format.

Everything else in ``motion`` (sources, outputs) and every later stage builds on these modules.
"""
