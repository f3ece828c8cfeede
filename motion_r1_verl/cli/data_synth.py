"""Placeholder until its issue lands (registers nothing)."""

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    return None
