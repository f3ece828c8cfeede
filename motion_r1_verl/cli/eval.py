"""``motion-r1 eval``: R-Precision, FID, MM-Dist, Diversity, MultiModality of generated or real motions."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from motion_r1_verl.errors import UserError

EXAMPLE = """example:
  motion-r1 eval --data data/synth --split test --reference --ckpt runs/retrieval --json runs/eval_real.json
  motion-r1 eval --data data/synth --split test --motions runs/gen --ckpt runs/retrieval --label Ours
  motion-r1 eval --data data/synth --split test --reference --evaluator guo --ckpt runs/judge   # trained judge
  motion-r1 eval --data HumanML3D --split test --motions runs/gen --evaluator guo \\
      --ckpt t2m/text_mot_match/model/finest.tar --glove glove --eval-norm t2m/Comp_v6_KLD01/meta

GEN_DIR holds <id>.npy (T,263) features per test clip id, or <id>_<k>.npy samples for MultiModality,
and optionally captions.jsonl ({"id", "caption"}) naming the caption each motion was generated from
(default: the clip's first caption).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval",
        help="standard text-to-motion metrics (Guo et al. protocol)",
        description="Evaluate generated motions (--motions) or the real ones (--reference, the 'Real' row) with "
        "R-Precision top-1/2/3 (batches of 32), FID, MM-Dist, Diversity and MultiModality, each as mean ± 95% "
        "CI over replications. Prints a Markdown table in the paper's column order; --json writes the numbers.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, type=Path, help="HumanML3D-format folder (texts, features, splits)")
    p.add_argument("--split", default="test", help="split to evaluate (default: test; e.g. test_heldout)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--motions", type=Path, help="folder of generated motions GEN_DIR/<id>.npy")
    what.add_argument("--reference", action="store_true", help="evaluate the real motions of the split")
    p.add_argument("--evaluator", choices=("ours", "guo"), default="ours", help="embedding model (default: ours)")
    p.add_argument(
        "--ckpt",
        type=Path,
        help="ours: a retrieval checkpoint folder; guo: a judge folder from 'retrieval train --arch guo', "
        "or the official finest.tar",
    )
    p.add_argument("--glove", type=Path, help="guo + finest.tar: folder with our_vab_data.npy / _words.pkl / _idx.pkl")
    p.add_argument("--eval-norm", type=Path, help="guo + finest.tar: folder with t2m_mean.npy / t2m_std.npy")
    p.add_argument("--replications", type=int, default=20, help="evaluation rounds (default: 20)")
    p.add_argument("--seed", type=int, default=0, help="seed of the evaluation's random draws (default: 0)")
    p.add_argument("--label", default=None, help="row name in the table (default: Real / the GEN_DIR name)")
    p.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    p.set_defaults(func=_eval)


def _eval(args: argparse.Namespace) -> int:
    import numpy as np

    from motion_r1_verl.eval import GuoTextMotionEvaluator, OursEvaluator, evaluate, load_generated, markdown_table
    from motion_r1_verl.eval.report import write_json
    from motion_r1_verl.motion.core.humanml3d import load_split

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.replications < 1:
        raise UserError(f"--replications must be >= 1, got {args.replications}")
    if args.ckpt is None:
        raise UserError("--ckpt is required (ours: retrieval checkpoint folder; guo: judge folder or finest.tar)")
    if args.evaluator == "ours":
        evaluator = OursEvaluator.load(args.ckpt, args.device)
    elif not args.ckpt.exists():
        raise UserError(f"--ckpt {args.ckpt} not found (guo: a judge folder or the official finest.tar)")
    elif args.ckpt.is_dir():
        if args.glove is not None or args.eval_norm is not None:
            raise UserError(
                f"{args.ckpt} is a trained judge folder (it carries its word vectors and normaliser); "
                "--glove/--eval-norm go with the official finest.tar only"
            )
        evaluator = GuoTextMotionEvaluator.load_trained(args.ckpt, args.device)
    else:
        if args.glove is None or args.eval_norm is None:
            raise UserError(
                "--evaluator guo with a finest.tar file needs --glove DIR and --eval-norm DIR "
                "(a judge folder from 'retrieval train --arch guo' needs neither)"
            )
        evaluator = GuoTextMotionEvaluator.load(args.ckpt, args.glove, args.eval_norm, args.device)
    clips, report = load_split(args.data, args.split)
    generated = load_generated(args.motions, [c.id for c in clips]) if args.motions else None
    label = args.label or ("Real" if args.reference else args.motions.name)
    result = evaluate(evaluator, clips, generated, np.random.default_rng(args.seed), args.replications, label)
    print(markdown_table([result]))
    if report.skipped:
        print(f"\n{report.summary()}")
    if args.json:
        payload = {
            "data": str(args.data),
            "split": args.split,
            "checkpoint": str(args.ckpt),
            "seed": args.seed,
            **result.as_dict(),
        }
        write_json(args.json, payload)
    return 0
