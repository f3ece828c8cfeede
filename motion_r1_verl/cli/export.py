"""``motion-r1 export <bvh|smpl>``."""

import argparse

from motion_r1_verl.cli._group import register_group


def register(subparsers: argparse._SubParsersAction) -> None:
    register_group(subparsers, "export", "Export motion to other formats (BVH, SMPL).", ("export_bvh", "export_smpl"))
