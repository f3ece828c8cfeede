"""The quickstart's wiring (the stages themselves are tested where their code lives)."""

import numpy as np
import pytest

from motion_r1_verl.cli.main import main
from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.constants import FEATURE_DIM, VEL_SLICE
from motion_r1_verl.quickstart import QuickstartConfig, build_stages
from motion_r1_verl.quickstart_report import motionless_clip


def test_stages_follow_the_data_flow():
    names = [s.name for s in build_stages(QuickstartConfig())]
    assert len(names) == len(set(names))
    # each stage comes after the ones whose outputs it reads
    order = [
        ("data", "vq"), ("vq", "codes"), ("codes", "sft-data"), ("cot", "sft-data"), ("sft", "grpo"),
        ("retrieval", "grpo"), ("evaluator", "eval-real"), ("grpo", "generate-grpo"),
        ("generate-grpo", "eval-grpo"), ("eval-grpo", "report"),
    ]  # fmt: skip
    for before, after in order:
        assert names.index(before) < names.index(after), (before, after)


def test_too_few_clips_is_a_user_error(capsys):
    with pytest.raises(UserError, match="--clips must be >= 400"):
        QuickstartConfig(n_clips=100)
    assert main(["quickstart", "--clips", "100", "--out", "unused"]) == 2
    assert "--clips must be >= 400" in capsys.readouterr().err


def test_motionless_stand_in_has_no_velocity(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "Mean.npy", rng.normal(size=FEATURE_DIM).astype(np.float32))
    clip = motionless_clip(tmp_path, frames=40)
    assert clip.shape == (40, FEATURE_DIM)
    assert np.all(clip[:, :3] == 0) and np.all(clip[:, VEL_SLICE] == 0)
    assert np.all(clip == clip[0])
