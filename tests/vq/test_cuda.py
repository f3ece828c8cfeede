"""The same VQ code on a GPU (skipped without CUDA): training, resume, codec and hook on ``cuda``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motion_r1_verl.vq import hook
from motion_r1_verl.vq.codec import MotionCodec
from motion_r1_verl.vq.train import train_vq

from .conftest import smooth_features, tiny_config

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_train_and_resume_on_cuda(tiny_dataset, tmp_path):
    straight = train_vq(tiny_dataset, tmp_path / "a", tiny_config(steps=6), device="cuda", progress=False)
    first = train_vq(tiny_dataset, tmp_path / "b", tiny_config(steps=6), stop_after=3, device="cuda", progress=False)
    second = train_vq(tiny_dataset, tmp_path / "b", resume=True, device="cuda", progress=False)
    # cuDNN kernels may sum in a different order from run to run: equal up to float noise
    np.testing.assert_allclose(first.losses + second.losses, straight.losses, rtol=1e-4)
    cpu = MotionCodec.from_pretrained(tmp_path / "b", device="cpu")  # saved on CPU, loads anywhere
    assert cpu.device.type == "cpu"


def test_codec_and_hook_on_cuda(tiny_checkpoint):
    gpu = MotionCodec.from_pretrained(tiny_checkpoint)  # default device: cuda when available
    cpu = MotionCodec.from_pretrained(tiny_checkpoint, device="cpu")
    assert gpu.device.type == "cuda"
    rng = np.random.default_rng(3)
    clips = [smooth_features(rng, n) for n in (40, 64, 101, 196)]
    gpu_codes, cpu_codes = gpu.encode(clips), cpu.encode(clips)
    agree = np.mean(np.concatenate([g == c for g, c in zip(gpu_codes, cpu_codes, strict=True)]))
    assert agree > 0.95  # TF32/cuDNN rounding may flip a near-tie
    for g, c in zip(gpu.decode(cpu_codes), cpu.decode(cpu_codes), strict=True):
        np.testing.assert_allclose(g, c, atol=2e-2)
    hook.clear_cache()
    result = hook.decode_text(gpu.tokens_to_text(cpu_codes[1]), tiny_checkpoint)
    assert result.valid and isinstance(result.joints, np.ndarray) and result.joints.shape == (64, 22, 3)
    assert hook.get_codec(tiny_checkpoint).device.type == "cuda"
    hook.clear_cache()
