"""Fixtures for the VQ tests: a small HumanML3D-format folder of smooth generated features and a tiny
VQ-VAE config/checkpoint trained on it in-process (a few seconds on CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from motion_r1_verl.motion.core.humanml3d import Caption, write_clip, write_split
from motion_r1_verl.vq.config import VQConfig, VQModelConfig, VQTrainConfig

# Every clip mixes a few latent sinusoids through ONE fixed (263, 6) matrix: smooth like real motion,
# and low-rank, so a tiny VQ-VAE can learn it in a few dozen steps.
_MIXING = np.random.default_rng(1234).normal(size=(6, 263)).astype(np.float32) * 0.5


def smooth_features(rng: np.random.Generator, n_frames: int) -> np.ndarray:
    """(T, 263) smooth generated features: per-clip sinusoid latents through a shared mixing matrix."""
    t = np.arange(n_frames)[:, None] / 20.0
    freq = rng.uniform(0.2, 1.5, size=(1, 6))
    phase = rng.uniform(0, 2 * np.pi, size=(1, 6))
    latent = np.sin(2 * np.pi * freq * t + phase)
    return (latent @ _MIXING).astype(np.float32)


def write_tiny_dataset(root: Path, seed: int = 0, sizes: dict[str, int] | None = None) -> Path:
    rng = np.random.default_rng(seed)
    sizes = sizes or {"train": 24, "val": 6, "test": 6}
    n = 0
    for split, count in sizes.items():
        ids = []
        for _ in range(count):
            clip_id = f"{n:06d}"
            n += 1
            length = int(rng.integers(40, 100))
            write_clip(root, clip_id, smooth_features(rng, length), [Caption.from_text("a person moves around")])
            ids.append(clip_id)
        write_split(root, split, ids)
    return root


def tiny_config(steps: int = 6, **train_overrides) -> VQConfig:
    train = dict(
        steps=steps,
        batch_size=8,
        window=32,
        lr=2e-3,
        warmup_steps=2,
        lr_milestones=(max(1, steps - 2),),
        val_every=1000,
        save_every=1000,
        val_max_clips=6,
    )
    train.update(train_overrides)
    return VQConfig(model=VQModelConfig(width=32, code_dim=16, codebook_size=32, depth=2), train=VQTrainConfig(**train))


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("vq_data"))


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_dataset, tmp_path_factory) -> Path:
    from motion_r1_verl.vq.train import train_vq

    out = tmp_path_factory.mktemp("vq_ckpt") / "ckpt"
    train_vq(tiny_dataset, out, tiny_config(steps=20), device="cpu", progress=False)
    return out
