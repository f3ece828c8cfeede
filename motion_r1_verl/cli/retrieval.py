"""``motion-r1 retrieval train``: train the TMR-style text-motion encoders (reward backbone, evaluator)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from motion_r1_verl.retrieval.config import DEFAULT_PRESET, PRESETS, TextMotionConfig, TrainConfig

EXAMPLE = """example:
  motion-r1 retrieval train --data data/synth --out runs/retrieval
  motion-r1 retrieval train --data data/synth --out runs/retrieval_heldout --preset compact --seed 1
  motion-r1 retrieval train --data data/synth --out runs/retrieval --resume   # continue an interrupted run
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser(
        "retrieval", help="text-motion retrieval encoders", description="Text-motion retrieval encoders."
    )
    inner = group.add_subparsers(dest="retrieval_command", metavar="<sub-verb>")
    group.set_defaults(func=lambda _args: (group.print_help(), 2)[1])
    p = inner.add_parser(
        "train",
        help="train a text-motion model on a HumanML3D-format folder",
        description="Train a TMR-style text-motion model (motion transformer + frozen sentence encoder with a "
        "trained projection, symmetric InfoNCE). Writes CKPT/config.json + model.safetensors + the normaliser, "
        "validates R@k on the val split, and checkpoints atomically so --resume can continue.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, type=Path, help="HumanML3D-format folder with train.txt and val.txt")
    p.add_argument("--out", required=True, type=Path, help="checkpoint folder to create (or continue with --resume)")
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=DEFAULT_PRESET,
        help=f"model size (default: {DEFAULT_PRESET}; 'compact' with another --seed for a held-out evaluator)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for init, batch order and caption choice (default: 0)")
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs, help="training epochs (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size, help="clips per step (default: 64)")
    p.add_argument("--lr", type=float, default=TrainConfig.lr, help="peak learning rate (default: %(default)s)")
    p.add_argument("--val-every", type=int, default=TrainConfig.val_every, help="epochs between checkpoints")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--stop-after", type=int, default=None, help="stop (with a checkpoint) after this many epochs")
    p.add_argument("--time-limit", type=float, default=None, help="stop (with a checkpoint) after this many minutes")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from motion_r1_verl.retrieval.train import train_retrieval  # torch/transformers only when training

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        model_config = TextMotionConfig(**PRESETS[args.preset])
        train_config = TrainConfig(
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            val_every=args.val_every,
            num_threads=args.threads,
        )
    except ValueError as err:
        from motion_r1_verl.errors import UserError

        raise UserError(str(err)) from err
    state = train_retrieval(
        args.data,
        args.out,
        model_config,
        train_config,
        resume=args.resume,
        device=args.device,
        stop_after=args.stop_after,
        time_limit_s=None if args.time_limit is None else 60.0 * args.time_limit,
    )
    last = state["history"][-1] if state.get("history") else {}
    print(json.dumps({"checkpoint": str(args.out), "epoch": state["epoch"], **last}))
    return 0
