"""``motion-r1 quickstart``: the whole pipeline on the embedded synthetic dataset (what ``make quickstart`` runs)."""

import argparse
from pathlib import Path

EPILOG = """examples:
  motion-r1 quickstart --out runs/quickstart            # run (or resume) every stage
  motion-r1 quickstart --out runs/quickstart --only vq --force   # redo one stage
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    from motion_r1_verl.pipeline.quickstart import QuickstartConfig

    parser = subparsers.add_parser(
        "quickstart",
        help="Run the Motion-R1 pipeline end to end on the bundled synthetic dataset (CPU, tiny models).",
        description=(
            "Synthetic data -> motion tokenizer -> encoders -> CoT -> tiny LLM -> verl SFT -> verl GRPO -> "
            "evaluation, each stage resumable. Finished stages are skipped on the next run."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=Path("runs/quickstart"), help="run folder (default %(default)s)")
    parser.add_argument(
        "--clips", type=int, default=QuickstartConfig.n_clips, help="synthetic clips to generate (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and models (default 0)")
    parser.add_argument(
        "--vq-minutes",
        type=float,
        default=QuickstartConfig.vq_minutes,
        help="wall-clock budget of VQ-VAE training (default %(default)s)",
    )
    parser.add_argument(
        "--retrieval-epochs",
        type=int,
        default=QuickstartConfig.retrieval_epochs,
        help="epochs of the reward's text-motion encoder (default %(default)s)",
    )
    parser.add_argument(
        "--cot",
        choices=("rules", "oracle"),
        default=QuickstartConfig.cot_mode,
        help="chain of thought from the caption alone (rules, default) or with the synthetic ground truth's "
        "timings and counts (oracle)",
    )
    parser.add_argument(
        "--sft-epochs",
        type=float,
        default=QuickstartConfig.sft_epochs,
        help="verl SFT passes over the training rows (default %(default)s)",
    )
    parser.add_argument(
        "--grpo-steps", type=int, default=QuickstartConfig.grpo_steps, help="verl GRPO steps (default %(default)s)"
    )
    parser.add_argument("--force", action="store_true", help="redo stages that are already done")
    parser.add_argument("--only", action="append", metavar="STAGE", help="run only this stage (repeatable)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from motion_r1_verl.pipeline.commands import StageFailed
    from motion_r1_verl.pipeline.quickstart import QuickstartConfig, build_stages
    from motion_r1_verl.pipeline.stages import run_stages

    config = QuickstartConfig(
        n_clips=args.clips,
        seed=args.seed,
        vq_minutes=args.vq_minutes,
        retrieval_epochs=args.retrieval_epochs,
        cot_mode=args.cot,
        sft_epochs=args.sft_epochs,
        grpo_steps=args.grpo_steps,
    )
    try:
        run_stages(build_stages(config), args.out, force=args.force, only=args.only)
    except StageFailed as err:
        print(f"quickstart stopped: {err}; fix it and re-run (finished stages are skipped)", file=sys.stderr)
        return 1
    print(f"quickstart done: outputs in {args.out}")
    return 0
