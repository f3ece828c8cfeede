"""Tiny real VQ-VAE and text-motion checkpoints for reward tests, trained in-process in seconds.

The dataset: each clip belongs to one of ``ACTIONS``; its features oscillate on an action-specific group
of dims, and its caption names the action, so even a briefly trained text-motion model separates them.
Used by tests/reward_fns, tests/e2e and bench/reward.py (they put this folder on sys.path) (``build_reward_models``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motion_r1_verl.motion.core.constants import FEATURE_DIM
from motion_r1_verl.motion.core.humanml3d import Caption, write_clip, write_split
from motion_r1_verl.motion.core.normalization import Normalizer

ACTIONS = ("walk", "run", "jump", "wave", "kick", "squat")


def toy_features(action: int, rng: np.random.Generator, length: int) -> np.ndarray:
    t = np.arange(length)[:, None] / 20.0
    x = 0.2 * rng.normal(size=(length, FEATURE_DIM))
    dims = np.arange(action * 40, action * 40 + 40)
    x[:, dims] += 2.0 * np.sin(2 * np.pi * (0.5 + action * 0.4) * t + rng.uniform(0, 2 * np.pi))
    return x.astype(np.float32)


def write_toy_dataset(root: Path, n_train: int = 48, n_val: int = 12, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    feats_train = []
    n = 0
    for split, count in (("train", n_train), ("val", n_val), ("test", n_val)):
        ids = []
        for _ in range(count):
            action = n % len(ACTIONS)
            clip_id = f"{n:06d}"
            feats = toy_features(action, rng, int(rng.integers(40, 100)) // 4 * 4)
            write_clip(root, clip_id, feats, [Caption.from_text(f"a person does a {ACTIONS[action]}")])
            ids.append(clip_id)
            if split == "train":
                feats_train.append(feats)
            n += 1
        write_split(root, split, ids)
    Normalizer.fit(feats_train).save(root)
    return root


def train_tiny_vq(data: Path, out: Path, steps: int = 20) -> Path:
    from motion_r1_verl.vq.config import VQConfig, VQModelConfig, VQTrainConfig
    from motion_r1_verl.vq.train import train_vq

    config = VQConfig(
        model=VQModelConfig(width=32, code_dim=16, codebook_size=32, depth=2),
        train=VQTrainConfig(
            steps=steps,
            batch_size=8,
            window=32,
            lr=2e-3,
            warmup_steps=2,
            lr_milestones=(steps,),
            val_every=1000,
            save_every=1000,
            val_max_clips=4,
        ),
    )
    train_vq(data, out, config, device="cpu", progress=False)
    return out


def train_tiny_retrieval(data: Path, out: Path, epochs: int = 3) -> Path:
    from motion_r1_verl.retrieval import PRESETS, TextMotionConfig, TrainConfig
    from motion_r1_verl.retrieval.train import train_retrieval

    cfg = TextMotionConfig(**PRESETS["tiny"])
    tc = TrainConfig(epochs=epochs, batch_size=16, lr=1e-3, warmup_steps=2, val_every=epochs)
    train_retrieval(data, out, cfg, tc, device="cpu", progress=False)
    return out


def build_reward_models(root: Path) -> tuple[Path, Path, Path]:
    """(dataset, vq checkpoint, retrieval checkpoint) under ``root``; reused when already there."""
    data, vq, retrieval = root / "data", root / "vq", root / "retrieval"
    if not (data / "train.txt").is_file():
        write_toy_dataset(data)
    if not (vq / "model.safetensors").is_file():
        train_tiny_vq(data, vq)
    if not (retrieval / "model.safetensors").is_file():
        train_tiny_retrieval(data, retrieval)
    return data, vq, retrieval
