"""The one way to build a verb group: ``motion-r1 <noun> <verb>`` (``motion-r1 vq train``)."""

import argparse
import importlib


def add_group(
    subparsers: argparse._SubParsersAction,
    name: str,
    help_text: str,
    *,
    epilog: str | None = None,
) -> argparse._SubParsersAction:
    """Add the noun ``name`` and return the subparsers its verbs are added to; alone it prints its help."""
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=lambda _args: (parser.print_help(), 2)[1])
    return parser.add_subparsers(dest=f"{name}_command", metavar="<verb>")


def register_group(
    subparsers: argparse._SubParsersAction, name: str, help_text: str, modules: tuple[str, ...]
) -> argparse._SubParsersAction:
    """:func:`add_group` whose verbs live in separate modules, each with ``register(inner)``."""
    inner = add_group(subparsers, name, help_text)
    for module in modules:
        importlib.import_module(f"motion_r1_verl.cli.{module}").register(inner)
    return inner
