"""``motion-r1 extend-vocab | make-tiny-llm | build-sft | build-rl``: the model and data verl runs need.

Handlers turn flags into typed library calls (``tokenizer_ext``, ``motion_r1_verl.datasets``); heavy
imports (transformers, torch) happen inside the handlers so ``motion-r1 --help`` stays fast.
"""

import argparse
import json
from pathlib import Path

from motion_r1_verl.protocol import REASONING_CHOICES

EXTEND_EXAMPLE = """example:
  motion-r1 extend-vocab --base runs/tiny-llm --codebook-size 512 --out runs/tiny-llm-motion
  motion-r1 extend-vocab --base Qwen/Qwen2.5-3B-Instruct --codebook-size 512 --init codebook \\
      --codec runs/vq --out runs/qwen2.5-3b-motion
"""
TINY_EXAMPLE = """example:
  motion-r1 make-tiny-llm --out runs/tiny-llm --data runs/synth
"""
SFT_EXAMPLE = """example:
  motion-r1 build-sft --cot runs/cot.jsonl --codes runs/codes.jsonl --out runs/sft --val-fraction 0.05
  motion-r1 build-sft --plans runs/synth/plans.jsonl --data runs/synth --codes runs/codes.jsonl --out runs/sft
"""
RL_EXAMPLE = """example:
  motion-r1 build-rl --cot runs/cot.jsonl --codes runs/codes.jsonl --out runs/rl --val-fraction 0.05
  motion-r1 build-rl --plans runs/synth/plans.jsonl --data runs/synth --codes runs/codes.jsonl --out runs/rl
"""


def _extend(args: argparse.Namespace) -> int:
    from tokenizer_ext import ExtendConfig, extend_vocab

    info = extend_vocab(
        ExtendConfig(
            base=args.base,
            codebook_size=args.codebook_size,
            out=Path(args.out),
            pad_to_multiple_of=args.pad_to_multiple_of,
            init=args.init,
            codec=args.codec,
            untie_embeddings=args.untie_embeddings,
            noise_scale=args.noise_scale,
            seed=args.seed,
            overwrite=args.overwrite,
        )
    )
    print(
        f"wrote {args.out}: {info.tokenizer_length} tokens (motion codes at ids {info.first_code_id}.."
        f"{info.first_code_id + info.codebook_size - 1}), {info.embedding_rows} embedding rows, "
        f"{'tied' if info.tied_embeddings else 'untied'} embeddings"
    )
    return 0


def _tiny(args: argparse.Namespace) -> int:
    from tokenizer_ext.tiny_llm import TinyLLMConfig, collect_texts, make_tiny_llm

    texts = collect_texts(args.data, args.cot)
    if args.texts:
        path = Path(args.texts)
        if not path.is_file():
            from motion_r1_verl.errors import UserError

            raise UserError(f"--texts {path} not found")
        texts += [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    shape = {"vocab_size": args.vocab_size, "seed": args.seed}
    if args.layers is not None:
        shape["num_layers"] = args.layers
    if args.heads is not None:
        shape.update(num_attention_heads=args.heads, hidden_size=args.heads * TinyLLMConfig.head_dim)
    if args.intermediate_size is not None:
        shape["intermediate_size"] = args.intermediate_size
    config = TinyLLMConfig(**shape)
    out = make_tiny_llm(args.out, texts, config, overwrite=args.overwrite)
    print(f"wrote {out} (tokenizer trained on {len(texts)} dataset texts + built-in fallback texts)")
    return 0


def _triplets(args: argparse.Namespace) -> list:
    """(caption, CoT, codes) triplets from --cot or --plans/--data, joined with --codes."""
    from motion_r1_verl.datasets.triplets import join_triplets, oracle_cot_rows, read_jsonl
    from motion_r1_verl.errors import UserError

    if bool(args.cot) == bool(args.plans):
        raise UserError("give exactly one CoT source: --cot cot.jsonl, or --plans plans.jsonl with --data DIR")
    if args.plans and not args.data:
        raise UserError("--plans needs --data (the dataset folder whose texts/ hold the captions)")
    cot_rows = read_jsonl(args.cot) if args.cot else oracle_cot_rows(args.plans, args.data)
    triplets, report = join_triplets(cot_rows, read_jsonl(args.codes))
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

    triplets = _triplets(args)
    config = RLBuildConfig(**_split_fields(args))
    counts = build_rl_dataset(triplets, args.out, config)
    print(f"wrote {args.out}: {json.dumps(counts)}")
    return 0


def _split_fields(args: argparse.Namespace) -> dict:
    """The ``SplitConfig`` fields of the builder flags (``--val-split`` reads ``<data>/<split>.txt``)."""
    from motion_r1_verl.errors import UserError
    from motion_r1_verl.motion.humanml3d import read_split_ids

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


def register(subparsers: argparse._SubParsersAction) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = subparsers.add_parser(
        "extend-vocab",
        help="Add motion tokens to an HF causal LM and resize its embeddings.",
        description="Add <Motion>, </Motion>, <Motion_0..K-1> and the reasoning tags (non-special), resize input "
        "and output embeddings, initialise the new rows, write an HF folder plus motion_vocab.json.",
        epilog=EXTEND_EXAMPLE,
        formatter_class=fmt,
    )
    p.add_argument("--base", required=True, help="base model: local HF folder or hub id (with its tokenizer)")
    p.add_argument("--codebook-size", type=int, required=True, help="number of VQ codes K")
    p.add_argument("--out", required=True, help="output folder for the extended model")
    p.add_argument("--pad-to-multiple-of", type=int, default=128, help="round embedding rows up to this (default 128)")
    p.add_argument("--init", choices=("mean", "codebook"), default="mean", help="init of new rows (default mean)")
    p.add_argument("--codec", default=None, help="VQ ckpt (folder, .safetensors or .npy codebook) for --init codebook")
    p.add_argument("--untie-embeddings", action="store_true", help="give the output layer its own weights")
    p.add_argument("--noise-scale", type=float, default=0.1, help="init noise std relative to row std (default 0.1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the init noise / projection")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    p.set_defaults(func=_extend)

    p = subparsers.add_parser(
        "make-tiny-llm",
        help="Make a small random Qwen2-architecture LM + byte-level BPE tokenizer for CPU runs.",
        description="A random Qwen2 causal LM (hidden 128, 2 heads, 1 KV head, head_dim 64) with a byte-level BPE "
        "tokenizer trained on the dataset's captions and CoT text and a ChatML chat template.",
        epilog=TINY_EXAMPLE,
        formatter_class=fmt,
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--data", default=None, help="dataset folder: captions from texts/*.txt (and DATA/cot.jsonl)")
    p.add_argument("--cot", default=None, help="cot.jsonl whose think/plan text the tokenizer also learns")
    p.add_argument("--texts", default=None, help="extra text file, one training text per line")
    p.add_argument("--vocab-size", type=int, default=1024, help="target BPE vocabulary size (default 1024)")
    p.add_argument("--layers", type=int, default=None, help="transformer layers (default: TinyLLMConfig's)")
    p.add_argument("--heads", type=int, default=None, help="attention heads of width 64; hidden size = 64 x heads")
    p.add_argument("--intermediate-size", type=int, default=None, help="MLP width (default: TinyLLMConfig's)")
    p.add_argument("--seed", type=int, default=0, help="weight init seed")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    p.set_defaults(func=_tiny)

    p = subparsers.add_parser(
        "build-sft",
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

    p = subparsers.add_parser(
        "build-rl",
        help="Build the verl RL (GRPO) parquet (prompt, reward_model.ground_truth, extra_info) from CoT + codes.",
        description="Join the captions of cot.jsonl (or of the ground-truth plans) with codes.jsonl on the clip id "
        "and write train.parquet (and val.parquet) for verl.trainer.main_ppo, with the SFT system prompt.",
        epilog=RL_EXAMPLE,
        formatter_class=fmt,
    )
    _add_triplet_source_flags(p)
    p.set_defaults(func=_build_rl)
