"""``motion-r1 view RUN_DIR``: one offline HTML page of a GRPO run (curves, rollouts, 3D motions)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

EXAMPLE = """examples:
  motion-r1 view runs/grpo                                   # writes runs/grpo/viewer.html
  motion-r1 view runs/quickstart/grpo-ckpt --out view.html --groups-per-step 8 --motions 10
  motion-r1 view runs/grpo --codec runs/vq                   # when the run's config names no vq_ckpt

RUN_DIR is the OUT_DIR of recipes/motion_r1/grpo.sh (metrics.jsonl, rollouts/<step>.jsonl,
rollouts/rewards/<step>.jsonl, hydra/.hydra/config.yaml). The page embeds Plotly's JavaScript and opens
offline in any browser; --groups-per-step and --motions bound its size.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "view",
        help="one offline HTML page of a GRPO run: curves, rollouts by group, 3D motions",
        description="Training curves (reward components, score, KL, entropy, length, validation points), the "
        "rollouts of each step by prompt group (caption, <think>, <output>, score, components, failure reason, "
        "rank; filters by step, score, reason and caption) and the best sample of some groups beside its "
        "ground truth as animated 3D skeletons, in one self-contained HTML file.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the GRPO run's OUT_DIR")
    p.add_argument("--out", type=Path, default=None, help="the HTML file (default RUN_DIR/viewer.html)")
    p.add_argument("--groups-per-step", type=int, default=4, help="prompt groups shown per step (default 4)")
    p.add_argument("--motions", type=int, default=6, help="groups drawn as 3D skeletons (default 6; 0: none)")
    p.add_argument("--frame-stride", type=int, default=2, help="keep every k-th frame of an animation (default 2)")
    p.add_argument("--codec", type=Path, default=None, help="VQ-VAE checkpoint (default: the run's vq_ckpt)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from motion_r1_verl.view import ViewConfig, write_view

    config = ViewConfig(args.groups_per_step, args.motions, args.frame_stride, args.codec)
    start = time.perf_counter()
    report = write_view(args.run_dir, args.out or args.run_dir / "viewer.html", config)
    print(f"{report.summary()} in {time.perf_counter() - start:.1f} s")
    for note in report.notes[:10]:
        print(f"  note: {note}")
    return 0
