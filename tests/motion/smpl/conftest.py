"""Fixtures for the SMPL tests: stand-in SMPL model folders built in-process (``smpl_standin.py``) and a
motion from the embedded synthetic dataset."""

from pathlib import Path

import numpy as np
import pytest
from smpl_standin import build_standin_arrays, clip_skeleton, rest_joints, write_standin_model

from motion_r1_verl.motion.core.features import joints_from_features
from motion_r1_verl.motion.sources.synth.generate import SynthConfig, make_clip

N_FRAMES = 60  # 3 s at 20 fps: enough motion for smoothness/contact terms, fast on 2 cores


@pytest.fixture(scope="session")
def synth_joints() -> np.ndarray:
    """(60, 22, 3) joints of clip 0 of the synthetic dataset (seed 0), y up, metres."""
    clip = make_clip(SynthConfig(n=1, seed=0, workers=1), 0)
    return np.asarray(joints_from_features(clip["features"]), dtype=np.float64)[:N_FRAMES]


@pytest.fixture(scope="session")
def smpl_dir(tmp_path_factory) -> Path:
    """Folder with ``smpl/SMPL_NEUTRAL.pkl``: the SMPL-like stand-in (T-pose, reference bone lengths)."""
    root = tmp_path_factory.mktemp("smpl_models")
    write_standin_model(root)
    return root


@pytest.fixture(scope="session")
def matched_smpl_dir(tmp_path_factory, synth_joints) -> Path:
    """A stand-in whose skeleton (rigid pelvis/spine3 parts, bone lengths) is that of ``synth_joints``."""
    root = tmp_path_factory.mktemp("smpl_matched")
    groups, lengths = clip_skeleton(synth_joints)
    write_standin_model(root, arrays=build_standin_arrays(joints=rest_joints(groups, lengths)))
    return root
