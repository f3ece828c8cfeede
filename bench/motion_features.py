"""Throughput of ``features_from_joints`` (HumanML3D's process_file, vectorised), in frames per second.

What is measured: turning joint positions ``(B, T+1, 22, 3)`` into features ``(B, T, 263)``, the
step every dataset import, synthetic-data build and BVH import runs once per clip. Three ways, in
one run so the ratios compare like with like:

* batched: the whole batch in one call (the library then works through it in ~1k-frame groups);
* batched, 2 threads: the batch split in two halves run in a thread pool (numpy releases the GIL
  inside its array loops, so this is how to use both cores of a 2-core CI box);
* one clip at a time: a Python loop over the clips, as a naive caller would do.

Also ``joints_from_features`` (recover_from_ric) batched, for the reverse direction.
Frames counted are feature rows (T per clip). The motions are synthetic (forward kinematics of
smooth random joint rotations on a turning, walking root), so the bench needs no data files.

    OMP_NUM_THREADS=1 .venv/bin/python bench/motion_features.py [--clips 64] [--frames 196] [--repeats 5]

Prints a table; the last stdout line is one JSON object with the figures.
"""

import argparse
import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from motion_r1_verl.motion.core.features import features_from_joints, joints_from_features
from motion_r1_verl.motion.core.kinematics import forward_kinematics
from motion_r1_verl.motion.core.rotations import qmul


def synthetic_motions(n_clips: int, n_frames: int, seed: int = 0) -> np.ndarray:
    """``(n_clips, n_frames, 22, 3)`` float32 joints: every joint swinging about a random axis, the
    root walking and turning."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames)[None, :, None] / 20.0
    axes = rng.normal(size=(n_clips, 1, 22, 3))
    axes /= np.linalg.norm(axes, axis=-1, keepdims=True)
    freq = rng.uniform(0.3, 1.5, (n_clips, 1, 22))
    phase = rng.uniform(0, 2 * np.pi, (n_clips, 1, 22))
    angles = 0.5 * np.sin(2 * np.pi * freq * t + phase)
    local = np.concatenate([np.cos(angles / 2)[..., None], np.sin(angles / 2)[..., None] * axes], axis=-1)
    heading = rng.uniform(-np.pi, np.pi, (n_clips, 1)) + rng.uniform(-1, 1, (n_clips, 1)) * t[..., 0]
    turn = np.stack([np.cos(heading / 2), 0 * heading, np.sin(heading / 2), 0 * heading], axis=-1)
    local[:, :, 0] = qmul(turn, local[:, :, 0])
    speed = rng.uniform(0.5, 1.5, (n_clips, 1))
    step = np.stack([np.sin(heading), 0 * heading, np.cos(heading)], axis=-1) * (speed / 20.0)[..., None]
    root = np.cumsum(step, axis=1) + np.array([0.0, 0.95, 0.0])
    return forward_kinematics(local, root).astype(np.float32)


def best_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up (imports, allocator)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=64, help="clips per batch (default 64)")
    parser.add_argument("--frames", type=int, default=196, help="feature rows per clip, T (default 196)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats; the best is reported (default 5)")
    args = parser.parse_args()

    joints = synthetic_motions(args.clips, args.frames + 1)
    rows = args.clips * args.frames
    pool = ThreadPoolExecutor(max_workers=2)

    def two_threads() -> np.ndarray:
        halves = np.array_split(joints, 2)
        return np.concatenate(list(pool.map(features_from_joints, halves)))

    features = features_from_joints(joints)
    seconds = {
        "batched": best_seconds(lambda: features_from_joints(joints), args.repeats),
        "batched_2_threads": best_seconds(two_threads, args.repeats),
        "one_clip_at_a_time": best_seconds(lambda: [features_from_joints(clip) for clip in joints], args.repeats),
        "joints_from_features_batched": best_seconds(lambda: joints_from_features(features), args.repeats),
    }
    pool.shutdown()
    fps = {name: rows / s for name, s in seconds.items()}

    print(f"{args.clips} clips x {args.frames} frames = {rows} rows; best of {args.repeats}; cpus={os.cpu_count()}")
    print(f"{'method':<30}{'seconds':>10}{'frames/s':>12}")
    for name in seconds:
        print(f"{name:<30}{seconds[name]:>10.4f}{fps[name]:>12,.0f}")
    result = {
        "clips": args.clips,
        "frames_per_clip": args.frames,
        "batched_fps": round(fps["batched"]),
        "batched_2_threads_fps": round(fps["batched_2_threads"]),
        "one_clip_at_a_time_fps": round(fps["one_clip_at_a_time"]),
        "batched_over_one_at_a_time": round(fps["batched"] / fps["one_clip_at_a_time"], 2),
        "two_threads_over_batched": round(fps["batched_2_threads"] / fps["batched"], 2),
        "joints_from_features_fps": round(fps["joints_from_features_batched"]),
        "goal_fps": 50_000,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
