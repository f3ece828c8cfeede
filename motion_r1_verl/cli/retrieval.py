"""``motion-r1 retrieval train``: train text-motion encoders.

``--arch tmr`` (default): the TMR-style model (motion transformer + frozen MiniLM), the reward's backbone and
``motion-r1 eval --evaluator ours``. ``--arch guo``: Guo et al.'s evaluator architecture with word vectors
learned from the training captions, an independent judge for ``motion-r1 eval --evaluator guo``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from motion_r1_verl.cli._group import add_group
from motion_r1_verl.errors import UserError
from motion_r1_verl.retrieval.config import DEFAULT_PRESET, PRESETS, TrainConfig
from motion_r1_verl.retrieval.config import preset as preset_config
from motion_r1_verl.retrieval.guo import GuoConfig
from motion_r1_verl.retrieval.guo_train import DEFAULT_GUO_PRESET, GUO_PRESETS, GuoTrainConfig

EXAMPLE = """example:
  motion-r1 retrieval train --data data/synth --out runs/retrieval
  motion-r1 retrieval train --data data/synth --out runs/retrieval_heldout --preset compact --seed 1
  motion-r1 retrieval train --data data/synth --out runs/retrieval --resume   # continue an interrupted run
  motion-r1 retrieval train --arch guo --data data/synth --out runs/judge --threads 1   # independent judge
  motion-r1 eval --data data/synth --split test --reference --evaluator guo --ckpt runs/judge

--arch guo presets: cpu (default; word vectors 160, all hidden sizes and the embedding 128: about 2 minutes
on the 3k synthetic set on one CPU core) and official (the published HumanML3D evaluator's sizes, a GPU job).
"""
ARCHS = ("tmr", "guo")


def register(subparsers: argparse._SubParsersAction) -> None:
    inner = add_group(subparsers, "retrieval", "Text-motion retrieval encoders: the reward's and the judge.")
    p = inner.add_parser(
        "train",
        help="train a text-motion model on a HumanML3D-format folder",
        description="Train a TMR-style text-motion model (motion transformer + frozen sentence encoder with a "
        "trained projection, symmetric InfoNCE). Writes CKPT/config.json + model.safetensors + the normaliser, "
        "validates R@k on the val split, and checkpoints atomically so --resume can continue. With --arch guo: "
        "Guo et al.'s evaluator architecture (movement convolutions, motion and text BiGRUs) with word vectors "
        "learned from the train split's captions (PPMI + SVD, no download) and Euclidean InfoNCE, a judge that "
        "shares nothing with the reward's encoders; CKPT also gets word_vectors.npy/.json.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, type=Path, help="HumanML3D-format folder with train.txt and val.txt")
    p.add_argument("--out", required=True, type=Path, help="checkpoint folder to create (or continue with --resume)")
    p.add_argument(
        "--arch",
        choices=ARCHS,
        default="tmr",
        help="tmr (default): the reward's TMR-style model, 'eval --evaluator ours'; guo: Guo et al.'s evaluator "
        "architecture trained on this data, 'eval --evaluator guo'",
    )
    p.add_argument(
        "--preset",
        choices=sorted({*PRESETS, *GUO_PRESETS}),
        default=None,
        help=f"model size; tmr: {', '.join(PRESETS)} (default: {DEFAULT_PRESET}; 'compact' with another --seed for "
        f"a held-out evaluator); guo: {', '.join(GUO_PRESETS)} (default: {DEFAULT_GUO_PRESET})",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for init, batch order and caption choice (default: 0)")
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"training epochs (default: tmr {TrainConfig.epochs}, guo {GuoTrainConfig.epochs})",
    )
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size, help="clips per step (default: 64)")
    p.add_argument(
        "--lr",
        type=float,
        default=None,
        help=f"peak learning rate (default: tmr {TrainConfig.lr}, guo {GuoTrainConfig.lr})",
    )
    p.add_argument("--val-every", type=int, default=TrainConfig.val_every, help="epochs between checkpoints")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint (tmr)")
    p.add_argument("--stop-after", type=int, default=None, help="stop (with a checkpoint) after this many epochs (tmr)")
    p.add_argument("--time-limit", type=float, default=None, help="stop (with a checkpoint) after this many minutes")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.arch == "guo":
        return _train_guo(args)
    from motion_r1_verl.retrieval.train import train_retrieval  # torch/transformers only when training

    preset = args.preset or DEFAULT_PRESET
    if preset not in PRESETS:
        raise UserError(f"--preset {preset} is a --arch guo size; tmr presets: {', '.join(PRESETS)}")
    try:
        model_config = preset_config(preset)
        train_config = TrainConfig(
            epochs=TrainConfig.epochs if args.epochs is None else args.epochs,
            batch_size=args.batch_size,
            lr=TrainConfig.lr if args.lr is None else args.lr,
            seed=args.seed,
            val_every=args.val_every,
            num_threads=args.threads,
        )
    except ValueError as err:
        raise UserError(str(err)) from err
    result = train_retrieval(
        args.data,
        args.out,
        model_config,
        train_config,
        resume=args.resume,
        device=args.device,
        stop_after=args.stop_after,
        time_limit_s=None if args.time_limit is None else 60.0 * args.time_limit,
    )
    last = result.history[-1] if result.history else {}
    print(json.dumps({"checkpoint": str(result.checkpoint), "epoch": result.epoch, **last}))
    return 0


def _train_guo(args: argparse.Namespace) -> int:
    from motion_r1_verl.retrieval.guo_train import train_guo_evaluator

    preset = args.preset or DEFAULT_GUO_PRESET
    if preset not in GUO_PRESETS:
        raise UserError(f"--preset {preset} is a --arch tmr size; guo presets: {', '.join(GUO_PRESETS)}")
    if args.resume or args.stop_after is not None:
        raise UserError("--resume/--stop-after are for --arch tmr; a guo judge trains in minutes: rerun it, "
                        "--time-limit caps the time")  # fmt: skip
    try:
        model_config = GuoConfig(**GUO_PRESETS[preset])
        train_config = GuoTrainConfig(
            epochs=GuoTrainConfig.epochs if args.epochs is None else args.epochs,
            batch_size=args.batch_size,
            lr=GuoTrainConfig.lr if args.lr is None else args.lr,
            seed=args.seed,
            val_every=args.val_every,
            num_threads=args.threads,
        )
    except ValueError as err:
        raise UserError(str(err)) from err
    state = train_guo_evaluator(
        args.data,
        args.out,
        model_config,
        train_config,
        device=args.device,
        time_limit_s=None if args.time_limit is None else 60.0 * args.time_limit,
    )
    last = state["history"][-1] if state["history"] else {}
    print(json.dumps({"checkpoint": str(args.out), "epoch": state["epoch"], **last}))
    return 0
