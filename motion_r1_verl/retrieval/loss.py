"""Symmetric InfoNCE with near-duplicate captions removed from the negatives (as in TMR), on cosine or
Euclidean similarity.

Why the duplicate filter: a batch can hold two clips whose captions say the same thing ("a person walks
forward" twice). Treating the other clip as a negative pushes apart pairs that are in fact matches; TMR
filters negatives whose text embeddings are more similar than a threshold. The diagonal (the true pair) is
always kept.

Two similarities: :func:`info_nce` takes L2-normalised latents (dot product, the TMR-style model);
:func:`euclidean_info_nce` takes raw embeddings and uses minus the squared Euclidean distance, for the Guo et
al. architecture whose embeddings are not normalised and whose evaluation ranks by Euclidean distance.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def negative_mask(text_sim: torch.Tensor, threshold: float) -> torch.Tensor:
    """(B, B) bool: True where pair (i, j) stays in the softmax (the diagonal, and non-duplicates)."""
    keep = text_sim <= threshold
    return keep | torch.eye(text_sim.shape[0], dtype=torch.bool, device=text_sim.device)


def info_nce(
    text_latent: torch.Tensor,
    motion_latent: torch.Tensor,
    temperature: float,
    frozen_text_emb: torch.Tensor | None = None,
    duplicate_threshold: float = 1.0,
) -> torch.Tensor:
    """Symmetric InfoNCE of L2-normalised latents (B, d); ``frozen_text_emb`` (B, e) decides duplicates."""
    logits = text_latent @ motion_latent.T / temperature  # (B_text, B_motion)
    if frozen_text_emb is not None and duplicate_threshold < 1.0:
        sim = F.normalize(frozen_text_emb, dim=-1) @ F.normalize(frozen_text_emb, dim=-1).T
        logits = logits.masked_fill(~negative_mask(sim, duplicate_threshold), float("-inf"))
    return symmetric_cross_entropy(logits)


def euclidean_info_nce(
    text_emb: torch.Tensor, motion_emb: torch.Tensor, temperature: float, keep: torch.Tensor | None = None
) -> torch.Tensor:
    """Symmetric InfoNCE of raw embeddings (B, d) with logits ``-|t_i - m_j|^2 / temperature``.

    ``keep`` (B, B) bool, e.g. from :func:`negative_mask`, drops pairs from the softmax (the diagonal must stay).
    """
    logits = -torch.cdist(text_emb, motion_emb).pow(2) / temperature  # (B_text, B_motion)
    if keep is not None:
        logits = logits.masked_fill(~keep, float("-inf"))
    return symmetric_cross_entropy(logits)


def symmetric_cross_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean of text->motion and motion->text cross-entropy of square logits whose matches are on the diagonal."""
    target = torch.arange(logits.shape[0], device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
