"""``motion-r1 data <synth|check|import-bvh>``."""

import argparse

from motion_r1_verl.cli._group import register_group


def register(subparsers: argparse._SubParsersAction) -> None:
    register_group(
        subparsers,
        "data",
        "Make, check and import HumanML3D-format motion folders.",
        ("data_synth", "data_check", "data_import_bvh"),
    )
