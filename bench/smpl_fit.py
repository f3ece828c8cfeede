"""How close and how fast is ``motion-r1 export smpl`` (SMPL fit to 22 joints)?

Measures, per motion and model: mean / max joint error (mm) of the analytic start and of the fit, and wall
time per 100 frames (after one warm-up fit, so one-off imports are not counted). Motions: synthetic clips
(``motion_r1_verl.motion.sources.synth``, 196 frames each) and, when present, the real HumanML3D clip
``../shared/data/humanml3d/new_joints/012314.npy``. Models:

* ``matched``: the test suite's SMPL-structured stand-in with the synthetic skeleton (bone lengths and
  rigid pelvis/spine3 shapes of the clip): the motion is exactly reachable, so this is the fit's own error;
* ``smpl-like``: the stand-in with SMPL-like pelvis/collar geometry and HumanML3D's reference bone
  lengths, with and without ``--fit-shape``: the mismatch a real SMPL body has with HumanML3D skeletons;
* ``--smpl-model DIR``: a real SMPL model instead (licensed; not in this repository).

Why: a fit is judged by its error in mm and its time per 100 frames on CPU, and the numbers show where
the remaining error comes from (skeleton mismatch, not the optimiser).

Run: ``.venv/bin/python bench/smpl_fit.py [--device cpu|cuda] [--threads 2] [--iters 30] [--smpl-model DIR]``
Prints a table; the last stdout line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
REAL_CLIP = REPO.parent / "shared" / "data" / "humanml3d" / "new_joints" / "012314.npy"


def _standin():
    # The stand-in model builder lives with the tests (it is test scaffolding, not library code).
    sys.path.insert(0, str(REPO / "tests" / "motion" / "smpl"))
    import smpl_standin

    return smpl_standin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", help="torch device for the fit")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (CI has 2 cores)")
    parser.add_argument("--iters", type=int, default=30, help="L-BFGS iterations (the CLI default)")
    parser.add_argument("--clips", type=int, default=3, help="synthetic clips to fit")
    parser.add_argument("--smpl-model", type=Path, default=None, help="real SMPL model folder (optional)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from motion_r1_verl.motion.core.features import joints_from_features
    from motion_r1_verl.motion.outputs.smpl.fit import FitConfig, fit_smpl
    from motion_r1_verl.motion.outputs.smpl.model_files import build_smpl
    from motion_r1_verl.motion.sources.synth.generate import SynthConfig, make_clip

    synth_config = SynthConfig(n=args.clips, seed=0, workers=1)
    motions = {
        f"synth{i}": np.asarray(joints_from_features(make_clip(synth_config, i)["features"]), np.float64)
        for i in range(args.clips)
    }
    if REAL_CLIP.is_file():
        motions["real012314"] = np.load(REAL_CLIP).astype(np.float64)

    standin = _standin()
    tmp = Path(tempfile.mkdtemp(prefix="smpl_bench_"))
    groups, lengths = standin.clip_skeleton(motions["synth0"])
    standin.write_standin_model(
        tmp / "matched", arrays=standin.build_standin_arrays(joints=standin.rest_joints(groups, lengths))
    )
    standin.write_standin_model(tmp / "smpl_like")
    models = {"matched": build_smpl(tmp / "matched"), "smpl-like": build_smpl(tmp / "smpl_like")}
    if args.smpl_model is not None:
        models["smpl"] = build_smpl(args.smpl_model)

    # Warm-up: torch.optim's first use imports torch._dynamo (seconds), which is not the fit's cost.
    fit_smpl(motions["synth0"][:10], models["matched"], FitConfig(iters=2, progress=False, device=args.device))

    rows = []
    header = ("model", "motion", "shape", "frames", "start mm", "mean mm", "max mm", "s/100f")
    print("{:<10} {:<11} {:<5} {:>6} {:>9} {:>8} {:>8} {:>7}".format(*header))
    for model_name, model in models.items():
        for motion_name, joints in motions.items():
            if model_name == "matched" and not motion_name.startswith("synth"):
                continue  # the matched stand-in has the synthetic skeleton only
            for fit_shape in (False, True) if model_name != "matched" else (False,):
                config = FitConfig(iters=args.iters, fit_shape=fit_shape, progress=False, device=args.device)
                if args.device.startswith("cuda"):
                    torch.cuda.synchronize()
                started = time.perf_counter()
                _, report = fit_smpl(joints, model, config)
                if args.device.startswith("cuda"):
                    torch.cuda.synchronize()
                seconds = time.perf_counter() - started
                row = {
                    "model": model_name,
                    "motion": motion_name,
                    "fit_shape": fit_shape,
                    "frames": len(joints),
                    "start_mm": round(report.init_error_mm, 3),
                    "mean_mm": round(report.mean_error_mm, 3),
                    "max_mm": round(report.max_error_mm, 3),
                    "s_per_100_frames": round(100 * seconds / len(joints), 3),
                }
                rows.append(row)
                print(
                    f"{model_name:<10} {motion_name:<11} {'yes' if fit_shape else 'no':<5} {len(joints):>6} "
                    f"{row['start_mm']:>9.2f} {row['mean_mm']:>8.2f} {row['max_mm']:>8.2f} "
                    f"{row['s_per_100_frames']:>7.2f}"
                )
    matched = [r for r in rows if r["model"] == "matched"]
    summary = {
        "device": args.device,
        "threads": args.threads,
        "iters": args.iters,
        "matched_mean_mm": round(float(np.mean([r["mean_mm"] for r in matched])), 3),
        "matched_max_mm": round(float(np.max([r["max_mm"] for r in matched])), 3),
        "s_per_100_frames": round(float(np.median([r["s_per_100_frames"] for r in rows])), 3),
        "rows": rows,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
