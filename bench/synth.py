"""Benchmark the synthetic dataset generator: clips per minute, 1 vs N worker processes.

What is measured: wall time of ``generate_dataset`` writing a complete HumanML3D-format folder
(plans, IK/FK posing, features, recovered joints, captions, atomic file writes, Mean/Std, splits)
into a temporary directory, with 1 worker and with ``--workers`` workers, on the same seed. The
issue asks for >= 2,000 clips/min on 2 cores. Also reports the data set's foot skate (cm/frame,
``motion_r1_verl.motion.sources.synth.skate``), which must stay below 1.0.

    .venv/bin/python bench/synth.py --n 600 --workers 2

The last stdout line is one JSON object with the figures.
"""

import argparse
import json
import os
import tempfile
import time

from motion_r1_verl.motion.sources.synth import SynthConfig, generate_dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=600, help="clips per run (default 600)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the parallel run (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of both runs")
    args = parser.parse_args(argv)

    results, cpu_seconds = {}, 0.0
    for workers in sorted({1, args.workers}):
        with tempfile.TemporaryDirectory() as tmp:
            config = SynthConfig(n=args.n, seed=args.seed, workers=workers)
            cpu = time.process_time()
            report = generate_dataset(os.path.join(tmp, "synth"), config=config, progress=False)
            if workers == 1:
                cpu_seconds = time.process_time() - cpu
        results[workers] = report
    print(f"{'workers':>8} {'clips':>6} {'seconds':>8} {'clips/min':>10} {'skate cm/frame':>15}")
    for workers, r in results.items():
        row = f"{workers:>8} {r.n_clips:>6} {r.seconds:>8.1f} {r.clips_per_minute:>10.0f}"
        print(f"{row} {r.foot_skate_cm_per_frame:>15.4f}")
    # CPU time of the 1-worker run: what one core costs per clip, independent of other load on the
    # machine (wall-clock figures on a shared machine understate the speed).
    per_core = 60.0 * args.n / cpu_seconds
    load = os.getloadavg()[0]
    print(f"1-worker CPU time: {cpu_seconds:.1f} s -> {per_core:.0f} clips per CPU-minute; load avg {load:.1f}")
    single, parallel = results[1], results[max(results)]
    print(
        json.dumps(
            {
                "n_clips": args.n,
                "workers": max(results),
                "clips_per_min": round(parallel.clips_per_minute, 1),
                "clips_per_min_1_worker": round(single.clips_per_minute, 1),
                "speedup": round(parallel.clips_per_minute / single.clips_per_minute, 2),
                "clips_per_cpu_min": round(per_core, 1),
                "load_avg_1min": round(os.getloadavg()[0], 2),
                "foot_skate_cm_per_frame": round(parallel.foot_skate_cm_per_frame, 4),
                "mean_clip_seconds": round(parallel.mean_seconds, 2),
                "cpu_count": os.cpu_count(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
