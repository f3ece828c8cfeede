"""``motion-r1 dataset sft | rl``: the parquets verl's trainers read, from CoT + motion codes.

Handlers turn flags into typed library calls (``motion_r1_verl.datasets``).
"""

import argparse
import json
from pathlib import Path

from motion_r1_verl.cli._group import add_group
from motion_r1_verl.protocol import REASONING_CHOICES

SFT_EXAMPLE = """example:
  motion-r1 dataset sft --cot runs/cot.jsonl --codes runs/codes.jsonl --out runs/sft --val-fraction 0.05
  motion-r1 dataset sft --plans runs/synth/plans.jsonl --data runs/synth --codes runs/codes.jsonl --out runs/sft
"""
RL_EXAMPLE = """example:
  motion-r1 dataset rl --cot runs/cot.jsonl --codes runs/codes.jsonl --out runs/rl --val-fraction 0.05
  motion-r1 dataset rl --plans runs/synth/plans.jsonl --data runs/synth --codes runs/codes.jsonl --out runs/rl
"""


def _triplets(args: argparse.Namespace) -> list:
    """(caption, CoT, codes) triplets from --cot or --plans/--data, joined with --codes."""
    from motion_r1_verl.datasets.triplets import join_triplets, oracle_cot_rows, read_jsonl
    from motion_r1_verl.errors import UserError

    if bool(args.cot) == bool(args.plans):
        raise UserError("give exactly one CoT source: --cot cot.jsonl, or --plans plans.jsonl with --data DIR")
    if args.plans and not args.data:
        raise UserError("--plans needs --data (the dataset folder whose texts/ hold the captions)")
    if args.codebook_size is not None and args.codebook_size < 1:
        raise UserError(f"--codebook-size must be >= 1, got {args.codebook_size}")
    cot_rows = read_jsonl(args.cot) if args.cot else oracle_cot_rows(args.plans, args.data)
    triplets, report = join_triplets(cot_rows, read_jsonl(args.codes), args.codebook_size)
    if not triplets:
        source = args.cot or args.plans
        raise UserError(f"no (caption, CoT, codes) triplet joins {source} with {args.codes}: {report.summary()}")
    print(report.summary())
    return triplets


def _build_sft(args: argparse.Namespace) -> int:
    from motion_r1_verl.datasets.sft import SFTBuildConfig, build_sft_dataset

    triplets = _triplets(args)
    config = SFTBuildConfig.for_reasoning(args.reasoning, **_split_fields(args))
    counts = build_sft_dataset(triplets, args.out, config)
    print(f"wrote {args.out}: {json.dumps(counts)}")
    return 0


def _build_rl(args: argparse.Namespace) -> int:
    from motion_r1_verl.datasets.rl import RLBuildConfig, build_rl_dataset
    from motion_r1_verl.protocol import system_prompt_for

    triplets = _triplets(args)
    config = RLBuildConfig(**_split_fields(args), system_prompt=system_prompt_for(args.reasoning))
    counts = build_rl_dataset(triplets, args.out, config)
    print(f"wrote {args.out}: {json.dumps(counts)}")
    return 0


def _split_fields(args: argparse.Namespace) -> dict:
    """The ``SplitConfig`` fields of the builder flags (``--val-split`` reads ``<data>/<split>.txt``)."""
    from motion_r1_verl.errors import UserError
    from motion_r1_verl.motion.core.humanml3d import read_split_ids

    val_ids = None
    if args.val_split:
        if not args.data:
            raise UserError("--val-split needs --data (the dataset folder whose <split>.txt lists the clips)")
        val_ids = frozenset(read_split_ids(Path(args.data), args.val_split))
    return {
        "captions_per_clip": args.captions_per_clip,
        "val_fraction": args.val_fraction,
        "seed": args.seed,
        "val_ids": val_ids,
        "val_captions_per_clip": args.val_captions_per_clip,
    }


def _add_triplet_source_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--codes", required=True, help="codes.jsonl: {id, codes} per clip (motion-r1 vq encode)")
    p.add_argument("--cot", default=None, help="cot.jsonl: {id, caption, think, plan, status} rows")
    p.add_argument("--plans", default=None, help="plans.jsonl of a synthetic dataset (oracle CoT instead of --cot)")
    p.add_argument("--data", default=None, help="dataset folder (texts/ for --plans, <split>.txt for --val-split)")
    p.add_argument("--out", required=True, help="output folder for train.parquet / val.parquet")
    p.add_argument("--captions-per-clip", type=int, default=None, help="at most N paraphrases per clip (default all)")
    p.add_argument("--val-fraction", type=float, default=0.0, help="fraction of clips held out (default 0)")
    p.add_argument("--val-split", default=None, help="hold out the clips of <data>/<split>.txt instead (e.g. val)")
    p.add_argument("--val-captions-per-clip", type=int, default=None, help="paraphrases per held-out clip")
    p.add_argument("--seed", type=int, default=0, help="sampling / split seed")
    p.add_argument(
        "--codebook-size",
        type=int,
        default=None,
        help="skip clips with codes outside 0..N-1 (the codec's codebook; the extended vocabulary's <Motion_*>)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    inner = add_group(
        subparsers, "dataset", "Build verl's training parquets: SFT messages, RL prompts with ground truth."
    )
    fmt = argparse.RawDescriptionHelpFormatter
    p = inner.add_parser(
        "sft",
        help="Build the verl SFT parquet (messages column) from CoT + motion codes.",
        description="Join cot.jsonl (or ground-truth plans rendered as CoT) with codes.jsonl on the clip id and "
        "write train.parquet (and val.parquet) for verl.trainer.sft_trainer.",
        epilog=SFT_EXAMPLE,
        formatter_class=fmt,
    )
    _add_triplet_source_flags(p)
    p.add_argument(
        "--reasoning",
        choices=REASONING_CHOICES,
        default="think+output",
        help="what precedes the motion span: <think>+<output> (Motion-R1, default), <think> only, or none "
        "(the no-CoT baseline)",
    )
    p.set_defaults(func=_build_sft)

    p = inner.add_parser(
        "rl",
        help="Build the verl RL (GRPO) parquet (prompt, reward_model.ground_truth, extra_info) from CoT + codes.",
        description="Join the captions of cot.jsonl (or of the ground-truth plans) with codes.jsonl on the clip id "
        "and write train.parquet (and val.parquet) for verl.trainer.main_ppo, with the SFT system prompt.",
        epilog=RL_EXAMPLE,
        formatter_class=fmt,
    )
    _add_triplet_source_flags(p)
    p.add_argument(
        "--reasoning",
        choices=REASONING_CHOICES,
        default="think+output",
        help="the response layout the policy was fine-tuned on (dataset sft --reasoning): picks the matching "
        "system prompt; with 'think', also pass the reward with_output=false",
    )
    p.set_defaults(func=_build_rl)
