"""Standard text-to-motion metrics (Guo et al. 2022): R-Precision, FID, MM-Dist, Diversity, MultiModality.

Pure functions on embedding arrays; randomness only through a ``np.random.Generator`` argument.
"""

from motion_r1_verl.metrics.distances import (
    R_PRECISION_BATCH,
    euclidean_distance_matrix,
    r_precision_and_mm_dist,
    top_k_hits,
)
from motion_r1_verl.metrics.diversity import DIVERSITY_TIMES, MULTIMODALITY_TIMES, diversity, multimodality
from motion_r1_verl.metrics.fid import activation_statistics, fid, frechet_distance
from motion_r1_verl.metrics.replication import REPLICATIONS, Summary, replicate, summarize

__all__ = [
    "DIVERSITY_TIMES",
    "MULTIMODALITY_TIMES",
    "REPLICATIONS",
    "R_PRECISION_BATCH",
    "Summary",
    "activation_statistics",
    "diversity",
    "euclidean_distance_matrix",
    "fid",
    "frechet_distance",
    "multimodality",
    "r_precision_and_mm_dist",
    "replicate",
    "summarize",
    "top_k_hits",
]
