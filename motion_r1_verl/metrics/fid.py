"""Fréchet distance between two embedding sets (FID as used by text-to-motion papers).

FID = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) on Gaussian fits of the two sets. With fewer samples
than dimensions (or collinear embeddings) the covariances are singular and ``sqrtm`` can return inf/NaN or a
complex result; like the reference implementation we then add ``eps`` to the diagonals and retry, and drop an
imaginary part only when it is numerically negligible.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

FID_EPS = 1e-6  # diagonal offset used only when sqrtm of the product is not finite


def activation_statistics(emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of embeddings (N, D); N >= 2."""
    emb = np.asarray(emb, dtype=np.float64)
    if emb.ndim != 2 or emb.shape[0] < 2:
        raise ValueError(f"need (N, D) embeddings with N >= 2, got shape {emb.shape}")
    return emb.mean(axis=0), np.cov(emb, rowvar=False)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = FID_EPS
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"shape mismatch: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}")
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"FID: sqrtm has a large imaginary component {np.max(np.abs(covmean.imag)):.3g}")
        covmean = covmean.real
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))
    # Rounding can make FID(x, x) a tiny negative number; a distance is never below 0.
    return max(value, 0.0)


def fid(real_emb: np.ndarray, gen_emb: np.ndarray) -> float:
    """FID between real (N, D) and generated (M, D) embeddings."""
    mu1, s1 = activation_statistics(real_emb)
    mu2, s2 = activation_statistics(gen_emb)
    return frechet_distance(mu1, s1, mu2, s2)
