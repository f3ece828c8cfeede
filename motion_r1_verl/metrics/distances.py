"""Distances between embedding sets, and the R-Precision / MM-Dist protocol of Guo et al. (2022).

Why: every text-to-motion paper since Guo et al. reports R-Precision and MM-Dist computed the same way:
the test set is shuffled, cut into batches of 32 (the last incomplete batch is dropped), and inside each
batch every text embedding ranks the 32 motion embeddings by Euclidean distance; top-k counts whether its
own motion is among the k nearest. MM-Dist is the mean distance between matched text/motion pairs.
We reproduce that protocol exactly so numbers are comparable; the randomness comes from a
``np.random.Generator`` passed in (no global random state).
"""

from __future__ import annotations

import numpy as np

R_PRECISION_BATCH = 32  # the protocol's batch: 1 matched + 31 mismatched motions per text
R_PRECISION_TOP_K = 3


def euclidean_distance_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances: ``a`` (N, D), ``b`` (M, D) -> (N, M) float64.

    Uses the expansion |a|^2 - 2ab + |b|^2 like the reference code, clipped at 0 so rounding never yields NaN.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected (N, D) and (M, D) arrays with the same D, got {a.shape} and {b.shape}")
    sq = np.sum(a * a, axis=1, keepdims=True) - 2.0 * a @ b.T + np.sum(b * b, axis=1)[None, :]
    return np.sqrt(np.clip(sq, 0.0, None))


def top_k_hits(dist: np.ndarray, top_k: int = R_PRECISION_TOP_K) -> np.ndarray:
    """For a square distance matrix (text i vs motion j, matched pairs on the diagonal) return a (N, top_k)
    bool array whose column k-1 says whether motion i is among the k nearest motions of text i."""
    n = dist.shape[0]
    if dist.shape != (n, n):
        raise ValueError(f"expected a square distance matrix, got {dist.shape}")
    # Stable sort, so ties go to the lower index. The reference implementation uses numpy's default argsort
    # (quicksort, not stable); with float distances ties do not occur in practice, so results are identical.
    order = np.argsort(dist, axis=1, kind="stable")[:, :top_k]
    hit = order == np.arange(n)[:, None]
    return np.cumsum(hit, axis=1) > 0


def r_precision_and_mm_dist(
    text_emb: np.ndarray,
    motion_emb: np.ndarray,
    rng: np.random.Generator,
    batch_size: int = R_PRECISION_BATCH,
    top_k: int = R_PRECISION_TOP_K,
) -> tuple[np.ndarray, float]:
    """One replication of the protocol: shuffle, batches of ``batch_size`` (last partial batch dropped).

    ``text_emb`` and ``motion_emb`` are (N, D) with row i of one matching row i of the other.
    Returns (R-Precision top-1..top-k as a (top_k,) array, MM-Dist) averaged over all evaluated pairs.
    """
    text_emb = np.asarray(text_emb, dtype=np.float64)
    motion_emb = np.asarray(motion_emb, dtype=np.float64)
    if text_emb.shape != motion_emb.shape or text_emb.ndim != 2:
        raise ValueError(f"text and motion embeddings must both be (N, D), got {text_emb.shape}, {motion_emb.shape}")
    n = text_emb.shape[0]
    n_batches = n // batch_size
    if n_batches == 0:
        raise ValueError(f"R-Precision needs at least {batch_size} matched pairs, got {n}")
    perm = rng.permutation(n)[: n_batches * batch_size].reshape(n_batches, batch_size)
    hits = np.zeros(top_k, dtype=np.float64)
    matched_dist = 0.0
    for idx in perm:
        dist = euclidean_distance_matrix(text_emb[idx], motion_emb[idx])
        hits += top_k_hits(dist, top_k).sum(axis=0)
        matched_dist += float(np.trace(dist))
    total = n_batches * batch_size
    return hits / total, matched_dist / total
