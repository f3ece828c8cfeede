"""Reconstruction quality of a VQ-VAE on whole clips: MPJPE, feature error, codebook usage.

MPJPE follows MoMask's ``calculate_mpjpe``: joints are recovered from the features
(``joints_from_features``), each frame is centred on its own pelvis, and the mean per-joint
Euclidean error is reported in millimetres. The un-centred ("global", trajectory included) MPJPE is
reported beside it because root drift is what a pelvis-centred metric hides.

Clips whose length is not a multiple of the frames per code are trimmed to the largest multiple
(the last 1-3 frames are not scored), as T2M-GPT's evaluation does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from motion_r1_verl.motion.core.features import joints_from_features
from motion_r1_verl.motion.core.normalization import Normalizer
from motion_r1_verl.vq.data import pad_batch
from motion_r1_verl.vq.model import MotionVQVAE


@dataclass
class ReconMetrics:
    """Reconstruction quality over a set of clips."""

    mpjpe_mm: float
    """Mean per-joint position error, each frame centred on its pelvis (MoMask's MPJPE), mm."""
    mpjpe_global_mm: float
    """Same without centring (root trajectory errors included), mm."""
    feature_l1: float
    """Mean absolute error in normalised feature space."""
    usage: float
    """Fraction of the codebook used at least once by these clips."""
    perplexity: float
    """exp(entropy) of the code histogram of these clips."""
    n_clips: int
    n_frames: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def mpjpe(pred: torch.Tensor, target: torch.Tensor, *, align_root: bool = True) -> torch.Tensor:
    """Per-frame mean joint error of (..., J, 3) positions -> (...,) in the input's unit."""
    if align_root:
        pred = pred - pred[..., :1, :]
        target = target - target[..., :1, :]
    return torch.linalg.vector_norm(pred - target, dim=-1).mean(-1)


@torch.no_grad()
def reconstruct(
    model: MotionVQVAE, normalized: list[torch.Tensor], batch_size: int = 64
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Reconstructions and codes of normalised clips whose lengths are multiples of frames-per-code."""
    device = next(model.parameters()).device
    recons: list[torch.Tensor] = []
    codes: list[torch.Tensor] = []
    fpc = model.frames_per_code
    for i in range(0, len(normalized), batch_size):
        chunk = [c.to(device) for c in normalized[i : i + batch_size]]
        x, mask = pad_batch(chunk)
        code = model.encode(x, mask)
        recon = model.decode(code, mask[:, ::fpc])
        for j, clip in enumerate(chunk):
            recons.append(recon[j, : clip.shape[0]])
            codes.append(code[j, : clip.shape[0] // fpc])
    return recons, codes


@torch.no_grad()
def reconstruction_metrics(
    model: MotionVQVAE, normalizer: Normalizer, clips: list[np.ndarray], batch_size: int = 64
) -> ReconMetrics:
    """Encode-decode raw (T, 263) ``clips`` and measure the error (see module docstring)."""
    was_training = model.training
    model.eval()
    fpc = model.frames_per_code
    trimmed = [torch.from_numpy(np.asarray(c[: c.shape[0] // fpc * fpc], dtype=np.float32)) for c in clips]
    trimmed = [c for c in trimmed if c.shape[0] > 0]
    normalized = [normalizer(c) for c in trimmed]
    recons, codes = reconstruct(model, normalized, batch_size)
    err_sum = err_global_sum = l1_sum = 0.0
    n_frames = 0
    for raw, norm_clip, recon in zip(trimmed, normalized, recons, strict=True):
        target_joints = joints_from_features(raw)
        pred_joints = joints_from_features(normalizer.inverse(recon.float().cpu()))
        err_sum += float(mpjpe(pred_joints, target_joints).sum())
        err_global_sum += float(mpjpe(pred_joints, target_joints, align_root=False).sum())
        l1_sum += float((recon.float().cpu() - norm_clip).abs().mean(-1).sum())
        n_frames += raw.shape[0]
    all_codes = torch.cat([c.cpu() for c in codes]) if codes else torch.zeros(0, dtype=torch.long)
    counts = torch.bincount(all_codes, minlength=model.cfg.codebook_size).double()
    prob = counts / counts.sum().clamp_min(1)
    perplexity = float(torch.exp(-(prob * torch.log(prob + 1e-12)).sum()))
    model.train(was_training)
    frames = max(n_frames, 1)
    return ReconMetrics(
        mpjpe_mm=1000.0 * err_sum / frames,
        mpjpe_global_mm=1000.0 * err_global_sum / frames,
        feature_l1=l1_sum / frames,
        usage=float((counts > 0).double().mean()),
        perplexity=perplexity,
        n_clips=len(trimmed),
        n_frames=n_frames,
    )
