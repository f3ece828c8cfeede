"""``motion-r1 vq train|encode``: train the motion VQ-VAE, encode a dataset into codes.jsonl."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from motion_r1_verl.cli._group import add_group

TRAIN_EXAMPLE = """examples:
  motion-r1 vq train --data runs/synth --out runs/vq --preset small
  motion-r1 vq train --data runs/synth --out runs/vq --resume --steps 6000   # continue, longer schedule
"""
ENCODE_EXAMPLE = """example:
  motion-r1 vq encode --data runs/synth --ckpt runs/vq --out runs/codes.jsonl
"""
EVAL_EXAMPLE = """examples:
  motion-r1 vq eval --ckpt runs/vq --data runs/synth --split test
  motion-r1 vq eval --ckpt runs/vq --features ../shared/data/humanml3d/new_joint_vecs/012314.npy
"""


def _train(args: argparse.Namespace) -> int:
    from motion_r1_verl.errors import UserError
    from motion_r1_verl.vq.config import preset
    from motion_r1_verl.vq.train import train_vq

    if args.resume and args.preset is not None:
        raise UserError("--preset cannot be combined with --resume (the checkpoint's own config is used)")
    if args.steps is not None and args.steps < 1:
        raise UserError(f"--steps must be >= 1, got {args.steps}")
    config = None if args.resume else preset(args.preset or "small")
    result = train_vq(
        Path(args.data),
        Path(args.out),
        config,
        resume=args.resume,
        steps=args.steps,
        time_limit_s=None if args.time_limit is None else 60.0 * args.time_limit,
        device=args.device,
        progress=not args.quiet,
    )
    summary = {"checkpoint": str(result.checkpoint), "step": result.step, "stopped_early": result.stopped_early}
    if result.last_val is not None:
        summary.update({f"val_{k}": round(v, 4) for k, v in result.last_val.as_dict().items()})
    print(json.dumps(summary))
    return 0


def _encode(args: argparse.Namespace) -> int:
    from motion_r1_verl.vq.codec import MotionCodec
    from motion_r1_verl.vq.encode_dataset import encode_dataset

    codec = MotionCodec.from_pretrained(Path(args.ckpt), device=args.device)
    splits = tuple(s.strip() for s in args.splits.split(",") if s.strip()) if args.splits else None
    report = encode_dataset(
        Path(args.data), codec, Path(args.out), splits, overwrite=args.overwrite, progress=not args.quiet
    )
    print(
        json.dumps(
            {
                "out": str(report.out),
                "written": report.n_written,
                "resumed": report.n_resumed,
                "skipped": report.n_skipped,
            }
        )
    )
    return 0


def _eval(args: argparse.Namespace) -> int:
    from motion_r1_verl.errors import UserError
    from motion_r1_verl.motion.core.humanml3d import check_motion_array
    from motion_r1_verl.runtime.files import load_npy
    from motion_r1_verl.vq.codec import MotionCodec
    from motion_r1_verl.vq.data import load_features
    from motion_r1_verl.vq.evaluate import reconstruction_metrics

    if args.data is None and not args.features:
        raise UserError("give --data DIR (with --split) and/or --features FILE.npy")
    codec = MotionCodec.from_pretrained(Path(args.ckpt), device=args.device)
    results = {}
    if args.data is not None:
        _, clips = load_features(Path(args.data), args.split, min_frames=codec.frames_per_code)
        metrics = reconstruction_metrics(codec.model, codec.normalizer, clips)
        results[f"{args.data}:{args.split}"] = metrics.as_dict()
    for path in args.features or []:
        try:
            clip = check_motion_array(load_npy(Path(path)), "features")
        except ValueError as err:
            raise UserError(f"{path}: {err}") from None
        results[path] = reconstruction_metrics(codec.model, codec.normalizer, [clip]).as_dict()
    print(json.dumps(results))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    desc = "Motion tokenizer (VQ-VAE): train it, encode a dataset into motion codes, measure reconstruction."
    inner = add_group(subparsers, "vq", desc, epilog=TRAIN_EXAMPLE + ENCODE_EXAMPLE + EVAL_EXAMPLE)

    train_desc = (
        "Train the VQ-VAE on a HumanML3D-format folder (train.txt windows, val.txt validation). Writes the "
        "checkpoint folder atomically every few hundred steps; --resume continues exactly."
    )
    train = inner.add_parser(
        "train",
        help="train the motion VQ-VAE",
        description=train_desc,
        epilog=TRAIN_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("--data", required=True, help="HumanML3D-format folder (new_joint_vecs/, train.txt, val.txt)")
    train.add_argument("--out", required=True, help="checkpoint folder to write (config.json, model.safetensors, ...)")
    train.add_argument(
        "--preset",
        choices=("small", "t2m-gpt"),
        default=None,
        help="architecture/schedule preset (default small: trains in minutes on CPU; t2m-gpt: the paper's, for GPU)",
    )
    train.add_argument("--resume", action="store_true", help="continue the run saved in --out (optimizer, RNG, step)")
    train.add_argument("--steps", type=int, default=None, help="total optimizer steps (overrides the preset's)")
    train.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="stop (with a checkpoint) after this many minutes; --resume continues",
    )
    train.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=_train)

    encode = inner.add_parser(
        "encode",
        help="encode a dataset into codes.jsonl",
        description="Encode every clip of a HumanML3D-format folder into motion codes, one JSON row per clip "
        '({"id": ..., "codes": [...]}); resumable (OUT.partial), written atomically.',
        epilog=ENCODE_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    encode.add_argument("--data", required=True, help="HumanML3D-format folder")
    encode.add_argument("--ckpt", required=True, help="VQ checkpoint folder written by `motion-r1 vq train`")
    encode.add_argument("--out", required=True, help="output codes.jsonl")
    encode.add_argument(
        "--splits", default=None, help="comma-separated split names (default: every split file present)"
    )
    encode.add_argument("--overwrite", action="store_true", help="redo a finished --out")
    encode.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    encode.add_argument("--quiet", action="store_true", help="no progress bar")
    encode.set_defaults(func=_encode)

    evaluate = inner.add_parser(
        "eval",
        help="reconstruction MPJPE / codebook usage of a checkpoint",
        description="Encode-decode clips with a checkpoint and print their reconstruction error as JSON: "
        "pelvis-centred MPJPE (mm, as MoMask), global MPJPE, feature L1, codebook usage and perplexity.",
        epilog=EVAL_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument("--ckpt", required=True, help="VQ checkpoint folder")
    evaluate.add_argument("--data", default=None, help="HumanML3D-format folder to evaluate a split of")
    evaluate.add_argument("--split", default="test", help="split of --data (default test)")
    evaluate.add_argument(
        "--features", action="append", help="a raw (T, 263) features .npy file to evaluate (repeatable)"
    )
    evaluate.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    evaluate.set_defaults(func=_eval)
