"""``motion-r1 data synth``: generate the embedded procedural text-to-motion dataset.

Writes a HumanML3D-format folder (features, joints, captions, splits incl. ``test_heldout``,
Mean/Std on train) plus ``plans.jsonl`` with each clip's ground-truth sub-action chain.
"""

import argparse
from pathlib import Path

EPILOG = """examples:
  motion-r1 data synth --out runs/synth --n 3000 --seed 0 --contact-sheet runs/synth/sheet.png
      # quickstart size, about a minute on 2 cores
  motion-r1 data synth --out runs/synth_large --n 50000 --workers 8
      # a fuller training set
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    from motion_r1_verl.motion.sources.synth.generate import DEFAULT_N

    parser = subparsers.add_parser(
        "synth",
        help="Generate the procedural compositional text-to-motion dataset (HumanML3D format + plans.jsonl).",
        description=(
            "Generate N clips of 1-4 chained sub-actions (walk, run, turn, jump, squat, sit down, stand up, "
            "wave, raise arm, kick, punch, bow, spin, clap, stand) on the HumanML3D skeleton, with several "
            "captions each, train/val/test/test_heldout splits, Mean/Std on train and plans.jsonl. "
            "The result depends only on --n and --seed (not on --workers)."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder (created; an interrupted run resumes)")
    parser.add_argument("--n", type=int, default=DEFAULT_N, help=f"number of clips (default {DEFAULT_N})")
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed and n give the same files")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2; 1 = no subprocesses)")
    parser.add_argument("--captions", type=int, default=3, help="paraphrased captions per clip (default 3)")
    parser.add_argument(
        "--contact-sheet", type=Path, default=None, metavar="PNG", help="also render a grid of 8 clips to this PNG"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from motion_r1_verl.motion.sources.synth.generate import SynthConfig, generate_dataset

    config = SynthConfig(n=args.n, seed=args.seed, workers=args.workers, captions_per_clip=args.captions)
    report = generate_dataset(args.out, config=config, contact_sheet=args.contact_sheet, progress=not args.quiet)
    print(report.summary())
    if report.contact_sheet:
        print(f"contact sheet: {report.contact_sheet}")
    return 0
