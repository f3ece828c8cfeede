"""Session fixtures: a toy dataset and tiny real VQ / text-motion checkpoints trained on it (~15 s once)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tiny_reward_models import build_reward_models  # noqa: E402


@pytest.fixture(scope="session")
def reward_models(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(dataset folder, VQ checkpoint, retrieval checkpoint)."""
    return build_reward_models(tmp_path_factory.mktemp("reward_models"))


@pytest.fixture(scope="session")
def reward_kwargs(reward_models) -> dict:
    """The reward against the decoded ground-truth codes: a response with those codes scores motion 1."""
    _, vq, retrieval = reward_models
    return {"vq_ckpt": str(vq), "retrieval_ckpt": str(retrieval), "device": "cpu", "motion_target": "decoded"}


@pytest.fixture(scope="session")
def real_target_kwargs(reward_models) -> dict:
    """The default reward: the motion similarity against the real ground-truth clip of the dataset."""
    data, vq, retrieval = reward_models
    return {"vq_ckpt": str(vq), "retrieval_ckpt": str(retrieval), "device": "cpu", "data_dir": str(data)}
