"""``motion-r1 cot``: build decomposed chain-of-thought data (``build``) or try one caption (``decompose``).

The LLM endpoint comes from flags or the environment; the API key ONLY from the environment variable
named by ``--api-key-env`` (default ``MOTION_R1_LLM_API_KEY``), so it never lands in shell history,
config files or the repository.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from motion_r1_verl.cli._group import add_group
from motion_r1_verl.errors import UserError

if TYPE_CHECKING:
    from motion_r1_verl.cot.build import LLMSetup

ENV_BASE_URL = "MOTION_R1_LLM_BASE_URL"
ENV_MODEL = "MOTION_R1_LLM_MODEL"
ENV_VERIFY_MODEL = "MOTION_R1_LLM_VERIFY_MODEL"
ENV_API_KEY = "MOTION_R1_LLM_API_KEY"

_BUILD_EPILOG = f"""examples:
  motion-r1 cot build --data runs/synth --mode oracle --out runs/synth/cot.jsonl
  motion-r1 cot build --data data/HumanML3D --mode rules --split train --out runs/cot_rules.jsonl
  export {ENV_API_KEY}=sk-...   # the key is read from the environment only
  motion-r1 cot build --data data/HumanML3D --mode llm --base-url https://api.deepseek.com/v1 \\
      --model deepseek-reasoner --verify-model deepseek-chat --concurrency 8 --out runs/cot_llm.jsonl
Interrupt at any time; rerunning the same command resumes without losing or duplicating rows."""


def _add_llm_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("llm mode")
    group.add_argument("--base-url", default=None, help=f"chat-completions API root (default: ${ENV_BASE_URL})")
    group.add_argument("--model", default=None, help=f"decomposition model (default: ${ENV_MODEL})")
    group.add_argument(
        "--verify-model",
        default=None,
        help=f"self-verification model (default: ${ENV_VERIFY_MODEL}, else the decomposition model)",
    )
    group.add_argument(
        "--api-key-env", default=ENV_API_KEY, help="name of the environment variable holding the API key"
    )
    group.add_argument("--timeout", type=float, default=120.0, help="per-request timeout in seconds")
    group.add_argument("--max-retries", type=int, default=4, help="retries on 429/5xx/timeouts per request")
    group.add_argument("--backoff", type=float, default=1.0, help="first retry delay in seconds (doubles)")
    group.add_argument("--max-regenerations", type=int, default=2, help="re-decompositions after a failed check")
    group.add_argument("--min-score", type=int, default=3, help="lowest rubric score (1..5) that still passes")
    group.add_argument("--no-verify", action="store_true", help="skip the self-verification call")
    group.add_argument("--prompt", default="decompose", help="decomposition prompt: packaged name or .json path")
    group.add_argument("--verify-prompt", default="verify", help="verification prompt: packaged name or .json path")
    group.add_argument(
        "--max-tokens", type=int, default=None, help="completion token limit (default: the prompt file's; raise "
        "it for reasoning models, whose reasoning counts against it)",
    )  # fmt: skip
    group.add_argument("--price-in", type=float, default=0.0, help="USD per million prompt tokens (cost estimate)")
    group.add_argument("--price-out", type=float, default=0.0, help="USD per million completion tokens")


def register(subparsers: argparse._SubParsersAction) -> None:
    inner = add_group(
        subparsers,
        "cot",
        "Build decomposed chain-of-thought data (oracle plans, rules or an LLM with self-verification).",
    )

    build = inner.add_parser(
        "build",
        help="write cot.jsonl: one row per (clip id, caption)",
        description="Decompose every caption of a HumanML3D-format folder into an ordered chain of sub-actions "
        "and render it into <think> text and an <output> plan.",
        epilog=_BUILD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("--data", type=Path, required=True, help="HumanML3D-format folder (texts/, plans.jsonl)")
    build.add_argument("--mode", choices=("oracle", "rules", "llm"), default="oracle", help="where chains come from")
    build.add_argument("--out", type=Path, default=None, help="output cot.jsonl (default: <data>/cot.jsonl)")
    build.add_argument(
        "--split", default=None, help="only ids in <data>/<split>.txt, comma-separated for several (default: all)"
    )
    build.add_argument("--plans", type=Path, default=None, help="plans.jsonl for oracle mode (default: <data>/...)")
    build.add_argument("--limit", type=int, default=None, help="process only the first N (id, caption) items")
    build.add_argument("--concurrency", type=int, default=4, help="simultaneous LLM requests")
    build.add_argument("--cache", type=Path, default=None, help="SQLite cache (default: <out>.cache.sqlite)")
    build.add_argument("--retry-failed", action="store_true", help="recompute rows that failed in earlier runs")
    build.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_llm_flags(build)
    build.set_defaults(func=_build)

    one = inner.add_parser(
        "decompose",
        help="decompose one caption and print the steps, <think> and <output> text",
        description="Try the decomposer on one caption.",
        epilog='example:\n  motion-r1 cot decompose "a person walks forward, then turns left and waves"',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    one.add_argument("caption", help="the motion description")
    one.add_argument("--mode", choices=("rules", "llm"), default="rules", help="decomposer to use")
    _add_llm_flags(one)
    one.set_defaults(func=_decompose)


def _llm_setup(args: argparse.Namespace) -> LLMSetup:
    from motion_r1_verl.cot.build import LLMSetup
    from motion_r1_verl.cot.client import ChatClient, ClientConfig
    from motion_r1_verl.cot.llm import LLMConfig
    from motion_r1_verl.cot.prompts import load_prompt

    base_url = args.base_url or os.environ.get(ENV_BASE_URL)
    model = args.model or os.environ.get(ENV_MODEL)
    if not base_url or not model:
        raise UserError(f"llm mode needs --base-url and --model (or ${ENV_BASE_URL} and ${ENV_MODEL})")
    verify_model = args.verify_model or os.environ.get(ENV_VERIFY_MODEL) or model
    api_key = os.environ.get(args.api_key_env) or None
    try:
        common = dict(
            base_url=base_url, api_key=api_key, timeout_s=args.timeout, max_retries=args.max_retries,
            backoff_s=args.backoff, price_in_per_mtok=args.price_in, price_out_per_mtok=args.price_out,
        )  # fmt: skip
        client = ChatClient(ClientConfig(model=model, **common))
        verifier = (
            client if verify_model == model else ChatClient(ClientConfig(model=verify_model, **common), client.usage)
        )
        config = LLMConfig(
            max_regenerations=args.max_regenerations, min_score=args.min_score, verify=not args.no_verify
        )
        prompt, verify_prompt = load_prompt(args.prompt), load_prompt(args.verify_prompt)
        if args.max_tokens is not None:
            if args.max_tokens < 1:
                raise ValueError(f"--max-tokens must be >= 1, got {args.max_tokens}")
            prompt = dataclasses.replace(prompt, max_tokens=args.max_tokens)
            verify_prompt = dataclasses.replace(verify_prompt, max_tokens=args.max_tokens)
    except (ValueError, OSError) as err:
        raise UserError(str(err)) from None
    return LLMSetup(client, prompt, verifier, verify_prompt, config)


def _build(args: argparse.Namespace) -> int:
    from motion_r1_verl.cot.build import BuildConfig, build

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.data.is_dir():
        raise UserError(f"--data {args.data} is not a folder")
    try:
        config = BuildConfig(
            data_dir=args.data, out_path=args.out or args.data / "cot.jsonl", mode=args.mode, split=args.split,
            plans_path=args.plans, limit=args.limit, concurrency=args.concurrency, cache_path=args.cache,
            retry_failed=args.retry_failed, progress=not args.no_progress,
        )  # fmt: skip
    except ValueError as err:
        raise UserError(str(err)) from None
    llm = _llm_setup(args) if args.mode == "llm" else None
    try:
        report = build(config, llm)
    finally:
        if llm is not None:
            llm.client.close()
            if llm.verifier is not llm.client and llm.verifier is not None:
                llm.verifier.close()
    print(report.summary())
    return 0


def _decompose(args: argparse.Namespace) -> int:
    from motion_r1_verl.cot.llm import decompose
    from motion_r1_verl.cot.oracle import render_steps
    from motion_r1_verl.cot.rules import decompose_caption

    if args.mode == "rules":
        steps, reason = decompose_caption(args.caption), "no verb phrase recognised"
    else:
        llm = _llm_setup(args)
        outcome = decompose(args.caption, llm.client, llm.prompt, llm.verifier, llm.verify_prompt, llm.config)
        steps, reason = outcome.steps or [], outcome.reason
        print(json.dumps({"attempts": outcome.attempts, "verdict": outcome.verdict, **llm.client.usage.as_dict()}))
    if not steps:
        print(f"failed: {reason}")
        return 1
    think, plan = render_steps(steps)
    print(json.dumps(steps, indent=1))
    print(f"<think>{think}</think>\n<output>{plan}</output>")
    return 0
