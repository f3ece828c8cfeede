"""Benchmark: reconstruction quality of the VQ-VAE trained under a wall-time budget.

What is measured: train a preset (default ``small``) on a HumanML3D-format folder (default: the
synthetic dataset, generated if the folder is missing) for at most ``--minutes`` of wall time, then
report on the TEST split the pelvis-centred MPJPE (mm, MoMask's definition), the global MPJPE,
codebook usage (fraction of codes used by the test clips) and perplexity, and the MPJPE of the real
HumanML3D clip (normalised with the checkpoint's own statistics). Wall and process CPU seconds and
the load average are printed beside the figures: on a shared CPU the same wall budget buys fewer steps.

Why: the tokenizer's quality goal (small preset, synthetic test split, <= 15 CPU minutes: MPJPE <= 25 mm,
usage >= 70 %) and an honest look at how the synthetic-trained tokenizer transfers to real motion.

Run: ``python bench/vq_quality.py --data runs/synth --out runs/vq_small --minutes 15`` (add ``--steps``
to change the schedule length, ``--device cuda`` for a GPU). Last stdout line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from motion_r1_verl.motion.core.humanml3d import check_motion_array, load_array
from motion_r1_verl.vq.codec import MotionCodec
from motion_r1_verl.vq.config import preset
from motion_r1_verl.vq.data import load_features
from motion_r1_verl.vq.evaluate import reconstruction_metrics
from motion_r1_verl.vq.train import train_vq

REAL_CLIP = Path(__file__).resolve().parents[1].parent / "shared/data/humanml3d/new_joint_vecs/012314.npy"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="runs/synth", help="HumanML3D-format folder (generated if missing)")
    parser.add_argument("--synth-n", type=int, default=3000, help="clips to generate when --data is missing")
    parser.add_argument("--out", default="runs/vq_quality", help="checkpoint folder (resumed if it exists)")
    parser.add_argument("--preset", default="small", help="VQ preset")
    parser.add_argument("--steps", type=int, default=None, help="schedule length (default: the preset's)")
    parser.add_argument("--minutes", type=float, default=15.0, help="wall-time budget for training")
    parser.add_argument("--device", default=None, help="torch device (default cuda if available, else cpu)")
    parser.add_argument("--real", default=str(REAL_CLIP), help="a real (T, 263) features .npy to reconstruct")
    parser.add_argument("--set", action="append", default=[], help="train config override KEY=VALUE (repeatable)")
    args = parser.parse_args(argv)

    data, out = Path(args.data), Path(args.out)
    if not (data / "train.txt").is_file():
        from motion_r1_verl.motion.sources.synth import generate_dataset

        generate_dataset(data, n=args.synth_n, seed=0, progress=False)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    cpu_started = time.process_time()
    config = preset(args.preset)
    for item in args.set:
        key, value = item.split("=", 1)
        section, name = key.split(".", 1) if "." in key else ("train", key)
        target = getattr(config, section)
        setattr(target, name, type(getattr(target, name))(json.loads(value)))
    config.__post_init__()
    config.train.__post_init__()
    config.model.__post_init__()
    result = train_vq(
        data,
        out,
        None if (out / "config.json").exists() else config,
        resume=(out / "config.json").exists(),
        steps=args.steps,
        time_limit_s=60.0 * args.minutes,
        device=args.device,
        progress=False,
    )
    train_seconds = time.perf_counter() - started
    # CPU seconds of this process, all threads: on a shared machine this, not wall time, is what it used.
    train_cpu_seconds = time.process_time() - cpu_started
    load_after = os.getloadavg()[0]

    codec = MotionCodec.from_pretrained(out, device=args.device)
    _, test_clips = load_features(data, "test", min_frames=codec.frames_per_code)
    test = reconstruction_metrics(codec.model, codec.normalizer, test_clips)
    figures = {
        "preset": args.preset,
        "device": str(codec.device),
        "steps": result.step,
        "scheduled_steps": codec.config.train.steps if codec.config else None,
        "train_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(train_cpu_seconds, 1),
        "threads": torch.get_num_threads(),
        "load_avg_before": round(load_before, 2),
        "load_avg_after": round(load_after, 2),
        "cpus": os.cpu_count(),
        "test_mpjpe_mm": test.mpjpe_mm,
        "test_mpjpe_global_mm": test.mpjpe_global_mm,
        "test_usage": test.usage,
        "test_perplexity": test.perplexity,
        "test_clips": test.n_clips,
    }
    real_path = Path(args.real)
    if real_path.is_file():
        real = reconstruction_metrics(
            codec.model, codec.normalizer, [check_motion_array(load_array(real_path), "features")]
        )
        figures["real_mpjpe_mm"] = real.mpjpe_mm
        figures["real_mpjpe_global_mm"] = real.mpjpe_global_mm
    print(f"{'figure':<24}{'value':>12}")
    for key, value in figures.items():
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"{key:<24}{shown:>12}")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
