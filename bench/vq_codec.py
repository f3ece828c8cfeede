"""Benchmark: VQ codec encode+decode throughput, batched (64 clips per call) vs one clip per call.

What is measured: frames per second of ``MotionCodec.encode`` followed by ``MotionCodec.decode`` on
the same clips (raw features in, raw features out, normalisation included), once with the codec's
batch size 64 and once calling the codec for one clip at a time. Both on the same device, same
process, same clips (lengths 40..196 frames, uniformly drawn), so the ratio is a like-for-like
figure. Why: rewards and evaluation decode thousands of responses; the hook must batch them.

Without ``--ckpt`` the model is the ``small`` (or ``--preset``) architecture with random weights and a
codebook initialised from one pass (speed does not depend on the weights).

Run: ``python bench/vq_codec.py [--ckpt runs/vq] [--device cuda] [--clips 256]``; the last stdout line
is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from motion_r1_verl.motion.core.constants import FEATURE_DIM, MAX_FRAMES, MIN_FRAMES
from motion_r1_verl.motion.core.normalization import Normalizer
from motion_r1_verl.runtime.device import pick_device
from motion_r1_verl.vq.codec import MotionCodec
from motion_r1_verl.vq.config import preset
from motion_r1_verl.vq.model import MotionVQVAE


def build_codec(ckpt: str | None, preset_name: str, device: torch.device) -> MotionCodec:
    if ckpt:
        return MotionCodec.from_pretrained(ckpt, device=device, batch_size=64)
    torch.manual_seed(0)
    model = MotionVQVAE(preset(preset_name).model).to(device)
    model.train()
    with torch.no_grad():
        model(torch.randn(8, 64, FEATURE_DIM, device=device))  # initialise the codebook
    normalizer = Normalizer(np.zeros(FEATURE_DIM, np.float32), np.ones(FEATURE_DIM, np.float32))
    return MotionCodec(model.eval(), normalizer, batch_size=64)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, repeats: int) -> float:
    """Best wall time of ``repeats`` runs of ``fn`` (after one warm-up run)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", default=None, help="VQ checkpoint folder (default: random small model)")
    parser.add_argument("--preset", default="small", help="architecture when no --ckpt (small | t2m-gpt)")
    parser.add_argument("--device", default=None, help="torch device (default cuda if available, else cpu)")
    parser.add_argument("--clips", type=int, default=128, help="clips per measurement")
    parser.add_argument("--repeats", type=int, default=2, help="timed repeats (best is kept)")
    args = parser.parse_args(argv)

    device = pick_device(args.device)
    codec = build_codec(args.ckpt, args.preset, device)
    rng = np.random.default_rng(0)
    lengths = rng.integers(MIN_FRAMES, MAX_FRAMES + 1, size=args.clips)
    clips = [rng.normal(size=(int(n), FEATURE_DIM)).astype(np.float32) for n in lengths]
    frames = int(sum(n // codec.frames_per_code * codec.frames_per_code for n in lengths))

    def batched() -> None:
        codec.decode(codec.encode(clips))

    def one_at_a_time() -> None:
        for clip in clips:
            codec.decode(codec.encode([clip]))

    # Same codes either way: exact on CPU (the mask makes batching exact); on a GPU, cuDNN picks other
    # kernels (TF32 by default) per batch shape, so a near-tie can flip: report the agreement.
    singles = [codec.encode([c])[0] for c in clips]
    agreement = float(np.mean(np.concatenate([a == b for a, b in zip(codec.encode(clips), singles, strict=True)])))
    t_batched = timed(batched, device, args.repeats)
    t_single = timed(one_at_a_time, device, args.repeats)
    result = {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "width": codec.model.cfg.width,
        "clips": args.clips,
        "frames": frames,
        "batched_fps": frames / t_batched,
        "single_fps": frames / t_single,
        "speedup": t_single / t_batched,
        "code_agreement": agreement,
    }
    print(f"{'mode':<16}{'seconds':>10}{'frames/s':>14}")
    print(f"{'batched (64)':<16}{t_batched:>10.3f}{result['batched_fps']:>14.0f}")
    print(f"{'one at a time':<16}{t_single:>10.3f}{result['single_fps']:>14.0f}")
    print(f"speed-up {result['speedup']:.1f}x on {device} ({result['threads']} threads, width {result['width']})")
    print(f"batched vs single codes agree on {agreement:.2%} of codes")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
