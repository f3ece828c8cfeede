"""Helper for verb groups whose sub-verbs live in separate modules (``motion-r1 data synth``)."""

import argparse
import importlib


def register_group(
    subparsers: argparse._SubParsersAction, name: str, help_text: str, modules: tuple[str, ...]
) -> argparse.ArgumentParser:
    """Add ``name`` with its own sub-verbs, each registered by ``motion_r1_verl.cli.<module>.register``."""
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    inner = parser.add_subparsers(dest=f"{name}_command", metavar="<sub-verb>")
    parser.set_defaults(func=lambda _args: (parser.print_help(), 2)[1])
    for module in modules:
        importlib.import_module(f"motion_r1_verl.cli.{module}").register(inner)
    return parser
