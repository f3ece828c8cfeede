"""``motion-r1 render``: placeholder until its issue lands (registers nothing)."""

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    return None
