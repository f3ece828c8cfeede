"""``motion-r1 <verb>``: the command-line entry point.

Each verb group lives in its own module ``motion_r1_verl/cli/<group>.py`` exposing
``register(subparsers)``; the groups are listed once, here. A handler returns an exit code.
A ``UserError`` (bad path, bad file) becomes one line on stderr and exit code 2.
"""

import argparse
import importlib
import re
import sys

from motion_r1_verl.errors import UserError

# Library fields whose flag is not ``--`` + the field with dashes: (verb group or None for any, field) -> flag.
FLAG_OF_FIELD: dict[tuple[str | None, str], str] = {
    ("quickstart", "n_clips"): "--clips",
    ("quickstart", "cot_mode"): "--cot",
    ("generate", "model_dir"): "--model",
    ("demo", "model_dir"): "--model",
    ("render", "model_dir"): "--smpl-model",
    ("export", "model_dir"): "--smpl-model",
    ("export", "out"): "--mesh",
    (None, "data_dir"): "--data",
    (None, "out_dir"): "--out",
    (None, "out_path"): "--out",
    (None, "val_ids"): "--val-split",
    (None, "user_map"): "--joint-map",
}


def flag_of(command: str, field: str) -> str:
    """The flag of this verb that sets the library argument ``field``."""
    return FLAG_OF_FIELD.get((command, field)) or FLAG_OF_FIELD.get((None, field)) or "--" + field.replace("_", "-")


def cli_message(err: UserError, command: str) -> str:
    """``err``'s message with its leading field name (if it names one) and the arguments it mentions
    (``resume=True``, ``codec=CKPT``, ``out_dir``) spoken as this verb's flags."""
    message = str(err)
    if err.field and message.startswith(err.field):
        message = flag_of(command, err.field) + message[len(err.field) :]
    for name in err.mentions:
        flag = flag_of(command, name)
        # Whole words only, never inside a path the message quotes (runs/out_dir stays as it is).
        alone, end = rf"(?<![\w/.-]){name}", r"(?![\w/-]|\.\w)"
        message = re.sub(rf"{alone}=True{end}", flag, message)
        message = re.sub(rf"{alone}=", flag + " ", message)
        message = re.sub(rf"{alone}{end}", flag, message)
    return message


# Order is the order of ``motion-r1 --help``.
COMMAND_GROUPS: tuple[str, ...] = (
    "data",
    "render",
    "export",
    "vq",
    "retrieval",
    "eval",
    "cot",
    "llm",
    "dataset",
    "rollouts",
    "view",
    "generate",
    "demo",
    "quickstart",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="motion-r1",
        description="Motion-R1 text-to-motion training on verl: data, motion tokenizer, encoders, CoT, evaluation.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="<verb>")
    for group in COMMAND_GROUPS:
        module = importlib.import_module(f"motion_r1_verl.cli.{group}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "func", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except UserError as err:
        print(f"motion-r1 {args.command}: error: {cli_message(err, args.command)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("motion-r1: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    raise SystemExit(main())


if __name__ == "__main__":
    entry()
