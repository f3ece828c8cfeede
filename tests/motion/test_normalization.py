"""Normalizer: real HumanML3D / evaluator statistics, numpy and torch, save/load, fit."""

import numpy as np
import pytest
import torch

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.constants import FEATURE_DIM
from motion_r1_verl.motion.core.normalization import STD_GROUPS, Normalizer


@pytest.fixture(scope="module")
def features(shared_data) -> np.ndarray:
    return np.load(shared_data / "humanml3d" / "new_joint_vecs" / "012314.npy")


def test_real_stats_round_trip_numpy_and_torch(shared_data, features):
    norm = Normalizer.load(shared_data / "humanml3d")
    assert norm.dim == FEATURE_DIM
    z = norm(features)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z, (features - np.load(shared_data / "humanml3d" / "Mean.npy")) / norm.std, rtol=1e-6)
    np.testing.assert_allclose(norm.inverse(z), features, atol=1e-5)
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        x = torch.from_numpy(features).to(dtype)
        out = norm(x)
        assert out.dtype == dtype and out.device == x.device
        torch.testing.assert_close(norm.inverse(out), x, atol=0.05, rtol=0.02)
    # float64 numpy stays float64.
    assert norm(features.astype(np.float64)).dtype == np.float64


def test_evaluator_stats_are_a_different_normalisation(shared_data, features):
    ours = Normalizer.load(shared_data / "humanml3d")
    evaluator = Normalizer.evaluator(shared_data / "t2m_evaluator")
    assert evaluator.dim == FEATURE_DIM
    ratio = ours.std / evaluator.std
    assert ratio.max() > 10  # README: up to ~25x apart
    assert not np.allclose(evaluator(features), ours(features))


def test_save_load_and_prefix(tmp_path, features):
    norm = Normalizer.fit([features[:100], features[100:]])
    norm.save(tmp_path / "stats")
    again = Normalizer.load(tmp_path / "stats")
    np.testing.assert_array_equal(again.mean, norm.mean)
    np.testing.assert_array_equal(again.std, norm.std)
    assert sorted(p.name for p in (tmp_path / "stats").iterdir()) == ["Mean.npy", "Std.npy"]  # no temp files left
    norm.save(tmp_path, mean_name="vq_Mean.npy", std_name="vq_Std.npy")
    np.testing.assert_array_equal(Normalizer.load(tmp_path / "vq_").mean, norm.mean)


def test_fit_matches_humanml3d_group_std(features):
    clips = [features[:60], features[60:]]
    norm = Normalizer.fit(clips)
    np.testing.assert_allclose(norm.mean, features.mean(0), rtol=1e-5, atol=1e-6)
    per_dim = features.astype(np.float64).std(0)
    for group in STD_GROUPS:
        assert np.allclose(norm.std[group], max(per_dim[group].mean(), 1e-4), rtol=1e-5)
    raw = Normalizer.fit(clips, group_std=False)
    np.testing.assert_allclose(raw.std, np.maximum(per_dim, 1e-4), rtol=1e-5)
    # The normalised training data has zero mean per dim.
    np.testing.assert_allclose(norm(features).mean(0), 0.0, atol=1e-4)


def test_fit_floors_constant_dims():
    still = np.zeros((50, FEATURE_DIM), dtype=np.float32)
    norm = Normalizer.fit([still])
    assert (norm.std >= 1e-4).all()
    assert np.isfinite(norm(still + 1.0)).all()


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: Normalizer(np.zeros(263), np.ones(262)), r"shape \(D,\)"),
        (lambda: Normalizer(np.zeros(3), np.array([1.0, 0.0, 1.0])), "std must be > 0"),
        (lambda: Normalizer(np.array([np.nan, 0]), np.ones(2)), "NaN"),
        (lambda: Normalizer(np.zeros(263), np.ones(263))(np.zeros((4, 251))), r"\(\.\.\., 263\)"),
        (lambda: Normalizer.fit([]), "no feature arrays"),
        (lambda: Normalizer.fit([np.zeros((4, 263)), np.zeros((4, 262))]), "clip 1"),
        (lambda: Normalizer.fit([np.full((4, 263), np.nan)]), "NaN"),
        (lambda: Normalizer.fit([np.zeros((4, 10))]), "263-dim"),
    ],
)
def test_bad_input(call, expected):
    with pytest.raises(UserError, match=expected):
        call()


def test_missing_or_broken_files_name_the_path(tmp_path):
    with pytest.raises(UserError, match="Mean.npy"):
        Normalizer.load(tmp_path)
    (tmp_path / "Mean.npy").write_text("not numpy")
    np.save(tmp_path / "Std.npy", np.ones(263))
    with pytest.raises(UserError, match="Mean.npy"):
        Normalizer.load(tmp_path)
