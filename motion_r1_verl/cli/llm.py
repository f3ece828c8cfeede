"""``motion-r1 llm make-tiny | extend-vocab``: the language model verl trains.

Handlers turn flags into typed library calls (``tokenizer_ext``); heavy imports (transformers, torch)
happen inside the handlers so ``motion-r1 --help`` stays fast.
"""

import argparse
from pathlib import Path

from motion_r1_verl.cli._group import add_group

EXTEND_EXAMPLE = """example:
  motion-r1 llm extend-vocab --base runs/tiny-llm --codebook-size 512 --out runs/tiny-llm-motion
  motion-r1 llm extend-vocab --base Qwen/Qwen2.5-3B-Instruct --codebook-size 512 --init codebook \\
      --codec runs/vq --out runs/qwen2.5-3b-motion
"""
TINY_EXAMPLE = """example:
  motion-r1 llm make-tiny --out runs/tiny-llm --data runs/synth
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


def register(subparsers: argparse._SubParsersAction) -> None:
    inner = add_group(subparsers, "llm", "Make a tiny LM for CPU runs, or add motion tokens to any HF causal LM.")
    fmt = argparse.RawDescriptionHelpFormatter
    p = inner.add_parser(
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

    p = inner.add_parser(
        "make-tiny",
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
