"""Properties the standard metrics must have (FID, R-Precision, MM-Dist, Diversity, MultiModality, CI)."""

import numpy as np
import pytest

from motion_r1_verl.metrics import (
    diversity,
    euclidean_distance_matrix,
    fid,
    multimodality,
    r_precision_and_mm_dist,
    replicate,
    summarize,
    top_k_hits,
)


def test_euclidean_distance_matrix_matches_direct_norms():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 7)), rng.normal(size=(4, 7))
    direct = np.linalg.norm(a[:, None] - b[None], axis=-1)
    np.testing.assert_allclose(euclidean_distance_matrix(a, b), direct, atol=1e-9)
    # identical rows: distance exactly 0, never NaN from rounding
    assert np.all(np.isfinite(euclidean_distance_matrix(a, a)))
    np.testing.assert_allclose(np.diag(euclidean_distance_matrix(a, a)), 0.0, atol=1e-6)


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_shift():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 16))
    assert fid(x, x) == pytest.approx(0.0, abs=1e-6)
    shifts = [fid(x, x + s) for s in (0.5, 1.0, 2.0)]
    # a mean shift of s in every one of 16 dims adds exactly 16 s^2
    np.testing.assert_allclose(shifts, [16 * 0.25, 16 * 1.0, 16 * 4.0], rtol=1e-6)
    assert fid(x, 2.0 * x) > 1.0  # a scale change also counts


def test_fid_singular_covariance_guard_gives_finite_value():
    rng = np.random.default_rng(2)
    # fewer samples than dimensions: rank-deficient covariance
    x, y = rng.normal(size=(10, 64)), rng.normal(size=(10, 64)) + 0.1
    value = fid(x, y)
    assert np.isfinite(value) and value > 0


def test_top_k_hits_on_a_known_matrix():
    dist = np.array([[0.0, 1.0, 2.0], [0.5, 0.2, 0.1], [0.1, 0.2, 3.0]])
    hits = top_k_hits(dist, 3)
    # row 0: own motion nearest; row 1: second; row 2: third
    assert hits.tolist() == [[True, True, True], [False, True, True], [False, False, True]]


def test_r_precision_of_random_embeddings_is_chance():
    rng = np.random.default_rng(3)
    text, motion = rng.normal(size=(32 * 200, 8)), rng.normal(size=(32 * 200, 8))
    r, _ = r_precision_and_mm_dist(text, motion, rng)
    np.testing.assert_allclose(r, [1 / 32, 2 / 32, 3 / 32], atol=0.01)


def test_r_precision_of_identical_embeddings_is_one_and_mm_dist_zero():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(100, 8))
    r, mm = r_precision_and_mm_dist(x, x.copy(), rng)
    np.testing.assert_allclose(r, [1.0, 1.0, 1.0])
    assert mm == pytest.approx(0.0, abs=1e-6)


def test_r_precision_drops_the_partial_batch_and_needs_one_full_batch():
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError, match="at least 32"):
        r_precision_and_mm_dist(np.zeros((31, 4)), np.zeros((31, 4)), rng)
    # 40 pairs: one batch of 32; the values are multiples of 1/32
    x = rng.normal(size=(40, 4))
    r, _ = r_precision_and_mm_dist(x, rng.normal(size=(40, 4)), rng)
    assert np.allclose(r * 32, np.round(r * 32))


def test_mm_dist_is_the_mean_matched_distance():
    rng = np.random.default_rng(6)
    text = rng.normal(size=(64, 3))
    motion = text + np.array([3.0, 4.0, 0.0])  # every matched pair is exactly 5 apart
    _, mm = r_precision_and_mm_dist(text, motion, rng)
    assert mm == pytest.approx(5.0)


def test_diversity_of_identical_motions_is_zero_and_positive_otherwise():
    rng = np.random.default_rng(7)
    same = np.tile(rng.normal(size=(1, 16)), (400, 1))
    assert diversity(same, rng) == 0.0
    varied = rng.normal(size=(400, 16))
    # E|x-y| for two independent N(0, I_16) vectors is about sqrt(2*16) (when indices differ)
    assert diversity(varied, rng) == pytest.approx(np.sqrt(32), rel=0.1)
    with pytest.raises(ValueError, match="at least 300"):
        diversity(varied[:299], rng)


def test_multimodality_zero_for_deterministic_generator():
    rng = np.random.default_rng(8)
    per_text = rng.normal(size=(20, 1, 8))
    assert multimodality(np.repeat(per_text, 30, axis=1), rng) == 0.0
    assert multimodality(rng.normal(size=(20, 30, 8)), rng) > 1.0
    with pytest.raises(ValueError, match=">= 10"):
        multimodality(rng.normal(size=(20, 5, 8)), rng)


def test_replication_reports_mean_and_95_ci_and_uses_the_passed_generator():
    s = summarize([1.0, 2.0, 3.0, 4.0])
    assert s.mean == 2.5
    assert s.ci95 == pytest.approx(1.96 * np.std([1, 2, 3, 4]) / 2)

    def draw(rng):
        return {"u": float(rng.uniform())}

    a = replicate(draw, np.random.default_rng(9), times=20)
    b = replicate(draw, np.random.default_rng(9), times=20)
    assert a == b and a["u"].n == 20 and a["u"].ci95 > 0
