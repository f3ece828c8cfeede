"""The generated folder: determinism, lengths, finiteness, splits, held-out pairs, Mean/Std, skate."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from motion_r1_verl.motion.core.constants import FEATURE_DIM, MAX_FRAMES, MIN_FRAMES
from motion_r1_verl.motion.core.humanml3d import load_split, read_split_ids
from motion_r1_verl.motion.core.normalization import Normalizer
from motion_r1_verl.motion.sources.synth import SynthConfig, generate_dataset
from motion_r1_verl.motion.sources.synth.compose import HELDOUT_SET, pairs_of
from motion_r1_verl.motion.sources.synth.generate import PARTS_DIR, _prepare_parts, _run_chunk
from motion_r1_verl.motion.sources.synth.skate import foot_skate


def _plans(root: Path) -> dict[str, dict]:
    return {p["id"]: p for p in map(json.loads, (root / "plans.jsonl").read_text().splitlines())}


def _snapshot(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "synth.json")
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


def test_same_seed_same_files_whatever_the_workers(tmp_path, synth_dir, small_config):
    # The fixture used 2 workers; one worker must give byte-identical files.
    config = dataclasses.replace(small_config, workers=1)
    generate_dataset(tmp_path / "again", config=config, progress=False)
    assert _snapshot(tmp_path / "again") == _snapshot(synth_dir)


def test_other_seed_other_clips(tmp_path):
    a = generate_dataset(tmp_path / "a", config=SynthConfig(n=6, seed=1, workers=1), progress=False)
    b = generate_dataset(tmp_path / "b", config=SynthConfig(n=6, seed=2, workers=1), progress=False)
    assert a.n_clips == b.n_clips == 6
    assert (tmp_path / "a" / "plans.jsonl").read_text() != (tmp_path / "b" / "plans.jsonl").read_text()


def test_interrupted_run_resumes_to_the_same_files(tmp_path, synth_dir, small_config):
    out = tmp_path / "resumed"
    _prepare_parts(out, small_config)
    _run_chunk((small_config, str(out), 1))  # as if a previous run stopped after one chunk
    report = generate_dataset(out, config=small_config, progress=False)
    assert report.n_generated == small_config.n - small_config.chunk_size
    assert not (out / PARTS_DIR).exists()
    assert _snapshot(out) == _snapshot(synth_dir)


def test_lengths_and_finite_values(synth_dir, small_config):
    plans = _plans(synth_dir)
    assert len(plans) == small_config.n
    for clip_id, plan in plans.items():
        features = np.load(synth_dir / "new_joint_vecs" / f"{clip_id}.npy")
        joints = np.load(synth_dir / "new_joints" / f"{clip_id}.npy")
        assert features.dtype == np.float32 and features.shape == (plan["length"], FEATURE_DIM)
        assert joints.shape == (plan["length"], 22, 3)
        assert MIN_FRAMES <= plan["length"] <= MAX_FRAMES
        assert np.isfinite(features).all() and np.isfinite(joints).all()
        steps = plan["steps"]
        assert 1 <= len(steps) <= 4
        starts = [s["start"] for s in steps]
        assert starts == sorted(starts)
        for step in steps:
            assert 0 <= step["start"] < step["end"] <= plan["length"]
        # Sequential steps do not overlap; a "with_previous" step lies inside the step before it.
        for prev, step in zip(steps, steps[1:]):
            if step.get("timing") == "with_previous":
                assert prev["start"] <= step["start"] and step["end"] <= prev["end"]
            else:
                assert step["start"] >= prev["end"]


def test_feet_on_the_floor_and_body_upright(synth_dir):
    for clip_id in read_split_ids(synth_dir, "val") + read_split_ids(synth_dir, "test"):
        joints = np.load(synth_dir / "new_joints" / f"{clip_id}.npy")
        feet = joints[:, [7, 8, 10, 11], 1]
        assert abs(feet.min()) < 0.01  # the lowest foot joint touches y=0
        assert (joints[:, 15, 1] > joints[:, 0, 1]).all()  # head above pelvis: y is up
        assert 1.45 < joints[:, 15, 1].max() < 1.75  # a standing head height at some point


def test_splits_disjoint_and_heldout_pairs_only_in_heldout(synth_dir, small_config):
    splits = {s: read_split_ids(synth_dir, s) for s in ("train", "val", "test", "test_heldout")}
    all_ids = [i for ids in splits.values() for i in ids]
    assert len(all_ids) == len(set(all_ids)) == small_config.n
    assert splits["train"] and splits["test_heldout"]
    plans = _plans(synth_dir)
    for split, ids in splits.items():
        for clip_id in ids:
            has_heldout = bool(pairs_of([s["action"] for s in plans[clip_id]["steps"]]) & HELDOUT_SET)
            assert has_heldout == (split == "test_heldout"), (split, plans[clip_id]["steps"])


def test_mean_std_are_fitted_on_train(synth_dir):
    clips, report = load_split(synth_dir, "train")
    assert report.n_read == len(read_split_ids(synth_dir, "train"))
    expected = Normalizer.fit([c.features for c in clips])
    saved = Normalizer.load(synth_dir)
    np.testing.assert_allclose(saved.mean, expected.mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(saved.std, expected.std, rtol=1e-4, atol=1e-6)


def test_foot_skate_below_one_cm_per_frame(synth_dir):
    report = json.loads((synth_dir / "synth.json").read_text())["report"]
    assert report["foot_skate_cm_per_frame"] < 1.0
    # Also per clip, measured on the stored joints (recovered from the features).
    for clip_id in read_split_ids(synth_dir, "test"):
        assert foot_skate(np.load(synth_dir / "new_joints" / f"{clip_id}.npy")) < 1.0, clip_id


@pytest.mark.parametrize("slide_cm", [2.0, 5.0])
def test_foot_skate_metric_sees_sliding(slide_cm):
    # A foot dragged along the floor at slide_cm per frame must read as that speed.
    joints = np.zeros((30, 22, 3))
    joints[:, :, 1] = 1.0
    joints[:, [7, 8, 10, 11], 1] = [0.07, 0.07, 0.01, 0.01]
    joints[:, [7, 10], 2] = np.arange(30)[:, None] * slide_cm / 100
    assert foot_skate(joints) == pytest.approx(slide_cm / 2)  # two of the four foot joints slide


def test_no_teleporting_anywhere(synth_dir):
    # Segment joins included: no joint moves faster than a sprinting foot (10 m/s = 0.5 m/frame,
    # with margin) or changes velocity by more than 0.4 m/frame per frame.
    for clip_id in read_split_ids(synth_dir, "all"):
        joints = np.load(synth_dir / "new_joints" / f"{clip_id}.npy").astype(np.float64)
        velocity = np.diff(joints, axis=0)
        assert np.linalg.norm(velocity, axis=-1).max() < 0.6, clip_id
        assert np.linalg.norm(np.diff(velocity, axis=0), axis=-1).max() < 0.4, clip_id
