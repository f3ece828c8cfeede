"""SMPL fitting: reaches the targets, recovers a known SMPL body, respects the regularisers, and the
written parameters reload and reproduce the fitted joints through smplx's full forward pass."""

import numpy as np
import pytest
import torch
from smpl_standin import rest_joints

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.outputs.smpl.fit import (
    JOINT_LIMITS,
    SHAPE_PAIRS,
    FitConfig,
    Skeleton,
    SmplParams,
    betas_from_lengths,
    change_up_axis,
    contact_mask,
    fit_smpl,
    rest_pelvis,
    smpl_joints,
)
from motion_r1_verl.motion.outputs.smpl.model_files import build_smpl

FAST = FitConfig(iters=15, progress=False, device="cpu")


@pytest.fixture(scope="module")
def matched_model(matched_smpl_dir):
    return build_smpl(matched_smpl_dir)


@pytest.fixture(scope="module")
def model(smpl_dir):
    return build_smpl(smpl_dir)


def test_skeleton_matches_smplx_forward(model):
    """The joint-only evaluation used by the optimiser equals smplx's full forward pass."""
    rng = np.random.default_rng(0)
    params = SmplParams(rng.normal(scale=0.3, size=(4, 72)), rng.normal(size=(4, 3)), rng.normal(size=10))
    skeleton = Skeleton.from_model(model)
    ours = skeleton.posed(
        *(torch.as_tensor(np.asarray(a, np.float64)) for a in (params.poses, params.trans, params.betas))
    )
    np.testing.assert_allclose(ours[:, :22].numpy(), smpl_joints(model, params), atol=2e-5)
    np.testing.assert_allclose(skeleton.rest(torch.zeros(10, dtype=torch.float64)).numpy(), rest_joints(), atol=1e-6)


def test_fit_reaches_a_synthetic_motion_within_millimetres(synth_joints, matched_model):
    params, report = fit_smpl(synth_joints, matched_model, FAST)
    errors = np.linalg.norm(params.extra["fitted_joints"] - synth_joints, axis=-1)
    assert report.mean_error_mm < 1.0 and report.max_error_mm < 5.0, report.summary()
    assert errors.max() * 1000 == pytest.approx(report.max_error_mm, rel=1e-3)
    assert params.poses.shape == (len(synth_joints), 72) and params.trans.shape == (len(synth_joints), 3)


def _random_body(model, n: int = 20, seed: int = 1) -> tuple[SmplParams, np.ndarray]:
    """SMPL parameters with a random shape and a smooth random pose (knees/elbows bent the natural way)."""
    rng = np.random.default_rng(seed)
    poses = rng.normal(scale=0.25, size=72) + rng.normal(scale=0.02, size=(n, 72)).cumsum(0)
    hinge = [3 * j + a for j, a, _ in JOINT_LIMITS]
    poses[:, hinge] = np.abs(poses[:, hinge]) * [-s for _, _, s in JOINT_LIMITS]
    truth = SmplParams(poses, np.cumsum(rng.normal(scale=0.01, size=(n, 3)), 0), rng.normal(scale=1.5, size=10))
    return truth, smpl_joints(model, truth).astype(np.float64)


def test_fit_recovers_a_body_with_another_shape(model):
    """Targets made by the model itself with random betas: the mean shape cannot reach them (cm off);
    the shape fit (betas from bone lengths, then pose) reaches them within millimetres."""
    truth, targets = _random_body(model)
    _, without_shape = fit_smpl(targets, model, FitConfig(iters=10, progress=False))
    params, with_shape = fit_smpl(targets, model, FitConfig(iters=10, fit_shape=True, progress=False))
    assert without_shape.mean_error_mm > 10.0, without_shape.summary()
    assert with_shape.mean_error_mm < 1.0 and with_shape.max_error_mm < 5.0, with_shape.summary()
    np.testing.assert_allclose(smpl_joints(model, params), targets, atol=5e-3)


def test_betas_from_lengths_reproduce_the_bone_lengths(model):
    truth, targets = _random_body(model, n=5, seed=2)
    skeleton = Skeleton.from_model(model)
    betas = betas_from_lengths(skeleton, torch.as_tensor(targets), w_betas=0.0)
    a, b = (list(x) for x in zip(*SHAPE_PAIRS, strict=True))
    fitted = skeleton.rest(betas).numpy()
    wanted = np.linalg.norm(targets[0, a] - targets[0, b], axis=-1)
    np.testing.assert_allclose(np.linalg.norm(fitted[a] - fitted[b], axis=-1), wanted, atol=1e-3)


def test_params_reload_and_reproduce_the_fitted_joints(tmp_path, synth_joints, matched_model):
    params, _ = fit_smpl(synth_joints[:20], matched_model, FAST)
    path = params.save(tmp_path / "clip_smpl.npz")
    data = np.load(path)
    assert {"poses", "trans", "betas", "gender", "mocap_framerate"} <= set(data.files)
    assert float(data["mocap_framerate"]) == 20.0 and str(data["gender"]) == "neutral"
    reloaded = SmplParams.load(path)
    np.testing.assert_allclose(smpl_joints(matched_model, reloaded), params.extra["fitted_joints"], atol=1e-4)


def test_z_up_params_are_the_same_motion(tmp_path, synth_joints, matched_model):
    params, _ = fit_smpl(synth_joints[:10], matched_model, FitConfig(iters=0, progress=False))
    z_up = change_up_axis(params, "z", rest_pelvis(matched_model, params.betas))
    z_up.save(tmp_path / "z.npz")
    reloaded = SmplParams.load(tmp_path / "z.npz")
    assert reloaded.up_axis == "z"
    # AMASS convention: z is up, so the pelvis height lands in trans/joints' z.
    pelvis_z_up = reloaded.trans + rest_pelvis(matched_model, reloaded.betas)
    np.testing.assert_allclose(pelvis_z_up[:, 2], params.extra["fitted_joints"][:, 0, 1], atol=1e-5)
    np.testing.assert_allclose(smpl_joints(matched_model, reloaded), smpl_joints(matched_model, params), atol=1e-4)


def test_knees_and_elbows_do_not_bend_backwards(synth_joints, model):
    params, _ = fit_smpl(synth_joints, model, FAST)
    poses = params.poses.reshape(-1, 24, 3)
    for joint, axis, sign in JOINT_LIMITS:
        assert (poses[:, joint, axis] * sign).max() < 0.1, f"joint {joint} bends the wrong way"


def test_contact_term_holds_planted_feet(synth_joints, model):
    """With a mismatched skeleton the fit must compromise; the contact term keeps planted feet still."""
    targets = synth_joints[:40]
    mask = contact_mask(targets)
    assert mask.any() and not mask.all()
    slides = []
    for w_contact in (0.0, 10.0):
        params, _ = fit_smpl(targets, model, FitConfig(iters=10, w_contact=w_contact, progress=False))
        feet = params.extra["fitted_joints"][:, [7, 10, 8, 11]]
        slides.append(np.linalg.norm(np.diff(feet, axis=0), axis=-1)[mask].mean())
    assert slides[1] < slides[0]


def test_bad_inputs_are_user_errors(model):
    with pytest.raises(UserError, match=r"expected shape \(T, 22, 3\)"):
        fit_smpl(np.zeros((5, 24, 3)), model, FAST)
    with pytest.raises(UserError, match="NaN"):
        fit_smpl(np.full((5, 22, 3), np.nan), model, FAST)
    with pytest.raises(UserError, match="w_joints must be > 0"):
        FitConfig(w_joints=0.0)
    with pytest.raises(UserError, match=r"poses: expected shape \(T, 72\)"):
        SmplParams(np.zeros((3, 70)), np.zeros((3, 3)), np.zeros(10))
