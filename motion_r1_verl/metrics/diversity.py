"""Diversity and MultiModality (Guo et al. 2022).

Diversity: mean distance between ``times`` random pairs of generated motion embeddings (300 in the protocol).
MultiModality: for each text, mean distance between ``times`` random pairs among its repeated generations
(10 pairs over 30 generations per text, 100 texts, in the protocol). Index pairs are drawn without replacement
from two independent permutations, exactly as the reference code does (so a pair may compare a sample with
itself, which is part of the protocol's definition).
"""

from __future__ import annotations

import numpy as np

DIVERSITY_TIMES = 300
MULTIMODALITY_TIMES = 10


def diversity(emb: np.ndarray, rng: np.random.Generator, times: int = DIVERSITY_TIMES) -> float:
    """Diversity of embeddings (N, D), N >= ``times``."""
    emb = np.asarray(emb, dtype=np.float64)
    if emb.ndim != 2:
        raise ValueError(f"expected (N, D) embeddings, got {emb.shape}")
    if emb.shape[0] < times:
        raise ValueError(f"diversity with {times} pairs needs at least {times} samples, got {emb.shape[0]}")
    first = rng.choice(emb.shape[0], times, replace=False)
    second = rng.choice(emb.shape[0], times, replace=False)
    return float(np.linalg.norm(emb[first] - emb[second], axis=1).mean())


def multimodality(emb: np.ndarray, rng: np.random.Generator, times: int = MULTIMODALITY_TIMES) -> float:
    """MultiModality of embeddings (n_texts, n_per_text, D), n_per_text >= ``times``."""
    emb = np.asarray(emb, dtype=np.float64)
    if emb.ndim != 3:
        raise ValueError(f"expected (n_texts, n_per_text, D) embeddings, got {emb.shape}")
    if emb.shape[1] < times:
        raise ValueError(f"multimodality with {times} pairs needs >= {times} generations per text, got {emb.shape[1]}")
    first = rng.choice(emb.shape[1], times, replace=False)
    second = rng.choice(emb.shape[1], times, replace=False)
    return float(np.linalg.norm(emb[:, first] - emb[:, second], axis=2).mean())
