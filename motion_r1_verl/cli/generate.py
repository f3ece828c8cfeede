"""``motion-r1 generate``: text -> reasoning + motion with a trained model; writes npy, mp4/gif, BVH, JSONL.

Captions are generated and written in chunks with the model loaded once; ``--resume`` skips captions whose
samples are already in the output folder, so an interrupted batch continues where it stopped.

Exit codes: 0 when every caption got at least one valid motion, 1 when some caption never did (after
retries; the summary names them), 2 for user errors (bad path, bad flag).
"""

from __future__ import annotations

import argparse
import logging
import re
import textwrap
from dataclasses import replace
from pathlib import Path

from motion_r1_verl.errors import UserError
from motion_r1_verl.protocol import REASONING_CHOICES

EXAMPLE = """example:
  motion-r1 generate "a person walks forward then waves" --model runs/quickstart/grpo-merged --n 4
  motion-r1 generate --prompts my_captions.txt --model runs/grpo-merged --out runs/gen --video gif
  motion-r1 generate "someone jumps twice" --model runs/sft-merged --codec runs/vq --temperature 0
  motion-r1 generate --data runs/synth --split test --model runs/grpo-merged --out runs/gen --video none --no-bvh
  motion-r1 eval --data runs/synth --split test --motions runs/gen --ckpt runs/retrieval

Writes OUT/<id>.npy (or <id>_<k>.npy with --n > 1) features, OUT/joints/, OUT/video/, OUT/bvh/,
OUT/results.jsonl (raw text, reasoning, codes, validity, attempts), OUT/captions.jsonl and OUT/summary.json.
With --data/--split the captions are one per clip of the split and the ids are the clip ids, so OUT is a
GEN_DIR for `motion-r1 eval` (which needs a sample for every clip: exit code 1 tells you one is missing).
"""

SLUG_CHARS = 40  # caption words kept in a sample's file name
WRAP = 100
CHUNK_BATCHES = 4  # generate batches per written chunk
CHUNK_SEED_STRIDE = 10_007  # chunks sample with distinct seeds


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "generate",
        help="generate motions (with the model's reasoning) from text",
        description="Sample a merged Motion-R1 model with the training system prompt (transformers generate; "
        "vLLM when installed and a GPU is present), print its <think> reasoning and <output> plan, decode the "
        "motion tokens with the VQ codec, and write features, joints, an animation with the caption and a "
        "BVH per sample. Responses without a usable motion span are reported with the reason and re-sampled "
        "up to --retries times.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("captions", nargs="*", help="caption(s) to generate from")
    p.add_argument("--model", required=True, type=Path, help="merged HF model folder (with motion_vocab.json)")
    p.add_argument("--prompts", type=Path, default=None, help="text file, one caption per line (blank lines skipped)")
    p.add_argument("--data", type=Path, default=None, help="dataset folder: generate for the clips of --split")
    p.add_argument("--split", default="test", help="split of --data (default test; e.g. test_heldout)")
    p.add_argument("--limit", type=int, default=None, help="with --data: only the first N clips")
    p.add_argument(
        "--caption-choice", choices=("first", "random"), default="first", help="with --data: which caption of a clip"
    )
    p.add_argument("--n", type=int, default=1, help="samples per caption (default 1)")
    p.add_argument("--out", type=Path, default=Path("runs/generate"), help="output folder (default runs/generate)")
    p.add_argument("--retries", type=int, default=2, help="re-samples of a malformed response (default 2)")
    p.add_argument("--codec", type=Path, default=None, help="VQ checkpoint (default: the one in motion_vocab.json)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature, 0 = greedy (default 1.0)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (default 1.0 = off)")
    p.add_argument("--max-new-tokens", type=int, default=768, help="token budget per response (default 768)")
    p.add_argument("--batch-size", type=int, default=16, help="responses per generate call (default 16)")
    p.add_argument("--backend", choices=("auto", "hf", "vllm"), default="auto", help="auto: vLLM if GPU+vLLM, else hf")
    p.add_argument("--device", default=None, help="torch device for hf and the codec (default cuda if available)")
    p.add_argument(
        "--reasoning",
        choices=REASONING_CHOICES,
        default="think+output",
        help="the layout the model was fine-tuned on (dataset sft --reasoning): its system prompt is used",
    )
    p.add_argument("--video", choices=("mp4", "gif", "none"), default="mp4", help="animation format (default mp4)")
    p.add_argument("--no-bvh", action="store_true", help="do not write BVH files")
    p.add_argument("--resume", action="store_true", help="skip captions whose --n samples are already in --out")
    p.add_argument("--quiet", action="store_true", help="print only malformed attempts and the summary")
    p.add_argument(
        "--fill-failed",
        action="store_true",
        help="with --data: write a motionless clip for every sample without a usable motion (an eval then counts "
        "it as a failure) and exit 0",
    )
    p.set_defaults(func=_generate)


def read_prompts(path: Path) -> list[str]:
    """Captions of a prompts file: one per line, surrounding whitespace and blank lines dropped."""
    if not path.is_file():
        raise UserError(f"--prompts {path} not found")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise UserError(f"--prompts {path} is not UTF-8 text ({err})") from err
    return [line.strip() for line in lines if line.strip()]


def caption_ids(captions: list[str]) -> list[str]:
    """File-name ids ``000-a-person-walks-forward``: index (keeps them unique) + words of the caption."""
    width = max(3, len(str(len(captions) - 1)))
    ids = []
    for i, caption in enumerate(captions):
        slug = re.sub(r"[^a-z0-9]+", "-", caption.lower()).strip("-")[:SLUG_CHARS].rstrip("-")
        ids.append(f"{i:0{width}d}-{slug}" if slug else f"{i:0{width}d}")
    return ids


def _show(label: str, text: str | None) -> None:
    """Print a reasoning block indented and wrapped; its own line breaks (numbered plan steps) are kept."""
    if text is None:
        print(f"    {label}: (missing)")
        return
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    if not lines:
        print(f"    {label}: (empty)")
        return
    print(f"    {label}:")
    for line in lines:
        print(textwrap.fill(line, WRAP, initial_indent=" " * 6, subsequent_indent=" " * 8))


def _print_result(row: dict, result, quiet: bool, greedy: bool) -> None:
    for i, attempt in enumerate(result.failed_attempts, 1):
        print(f"  sample {result.k}: attempt {i} malformed: {attempt.reason}")
    if result.valid:
        retry = f" after {result.attempts} attempts" if result.attempts > 1 else ""
        if not quiet:
            print(
                f"  sample {result.k}: ok{retry}: {len(result.codes)} codes, {result.n_frames} frames "
                f"({result.seconds:.1f} s)"
            )
            _show("think", result.think)
            _show("plan", result.plan)
            if result.format_notes:
                print("    format: " + "; ".join(result.format_notes))
            print("    files: " + ", ".join(row["files"].values()))
            for warning in row["warnings"]:
                print(f"    warning: {warning}")
    else:
        note = " (greedy decoding: not retried, it would repeat)" if greedy else ""
        print(f"  sample {result.k}: FAILED after {result.attempts} attempt(s): {result.reason}{note}")
        if not quiet:
            _show("think", result.think)
            _show("plan", result.plan)


def _generate(args: argparse.Namespace) -> int:
    from motion_r1_verl.generate import GenerateConfig, failed_captions, generate_motions, split_captions, write_results
    from motion_r1_verl.generate.generation import resolve_codec
    from motion_r1_verl.generate.outputs import completed_ids, fill_failed
    from motion_r1_verl.generate.sampler import load_sampler

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    captions = list(args.captions)
    if args.prompts is not None:
        captions += read_prompts(args.prompts)
    if args.fill_failed and args.data is None:
        raise UserError("--fill-failed needs --data (the stand-in is the dataset's mean pose, held still)")
    if args.data is not None:
        if captions:
            raise UserError("--data generates for a dataset split: do not also give captions or --prompts")
        ids, captions = split_captions(args.data, args.split, args.caption_choice, args.seed, args.limit)
    elif not captions:
        raise UserError("no captions: give them as arguments, with --prompts FILE, or --data DIR --split NAME")
    else:
        ids = caption_ids(captions)
    if args.n < 1:
        raise UserError(f"--n must be >= 1, got {args.n}")
    config = GenerateConfig(
        retries=args.retries,
        temperature=args.temperature,
        top_p=args.top_p,
        max_new_tokens=args.max_new_tokens,
        seed=args.seed,
        batch_size=args.batch_size,
        backend=args.backend,
        device=args.device,
        reasoning=args.reasoning,
    )
    if args.resume:
        done = completed_ids(args.out, args.n)
        todo = [i for i, clip_id in enumerate(ids) if clip_id not in done]
        if len(todo) < len(ids):
            print(f"--resume: {len(ids) - len(todo)} of {len(ids)} captions already in {args.out}, skipped")
        ids, captions = [ids[i] for i in todo], [captions[i] for i in todo]
    video = None if args.video == "none" else args.video
    greedy = config.settings().greedy
    # Cheap checks first: a bad --model/--codec must not wait for a model to load.
    codec = resolve_codec(args.model, args.codec)
    # The model is loaded once; captions go in chunks, each written (and printed) before the next starts,
    # so an interrupted run keeps its finished chunks and --resume continues after them.
    sampler = load_sampler(args.model, config.backend, config.device, config.seed) if captions else None
    chunk = max(1, CHUNK_BATCHES * config.batch_size // args.n)
    results = []
    for number, start in enumerate(range(0, len(captions), chunk)):
        part = replace(config, seed=config.seed + CHUNK_SEED_STRIDE * number)
        cut = slice(start, start + chunk)
        part_results = generate_motions(
            args.model, captions[cut], args.n, ids=ids[cut], codec=codec, config=part, sampler=sampler
        )
        rows = write_results(part_results, args.out, video=video, bvh=not args.no_bvh)
        for row, result in zip(rows, part_results, strict=True):
            if result.k == 0:
                print(f'\n"{result.caption}"  [{result.id}]')
            _print_result(row, result, args.quiet, greedy)
        results.extend(part_results)

    n_valid = sum(r.valid for r in results)
    n_retried = sum(r.attempts > 1 for r in results)
    failed = failed_captions(results)
    print(
        f"\nsummary: {n_valid}/{len(results)} samples valid, {n_retried} needed retries, "
        f"{len(failed)}/{len(captions)} captions without a valid motion"
    )
    for clip_id, caption in failed:
        print(f'  no valid motion: [{clip_id}] "{caption}"')
    if args.fill_failed:
        filled = fill_failed(results, args.out, args.data)
        print(f"--fill-failed: {filled} motionless stand-ins for samples without a usable motion")
    print(f"wrote {args.out} (results.jsonl, summary.json)")
    return 1 if failed and not args.fill_failed else 0
