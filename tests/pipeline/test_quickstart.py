"""The quickstart's wiring (the stages themselves are tested where their code lives)."""

import json

import numpy as np
import pytest

from motion_r1_verl.cli.main import main
from motion_r1_verl.errors import UserError
from motion_r1_verl.generate.outputs import motionless_clip
from motion_r1_verl.motion.core.constants import FEATURE_DIM, VEL_SLICE
from motion_r1_verl.pipeline.quickstart import QuickstartConfig, build_stages


def test_stages_follow_the_data_flow():
    names = [s.name for s in build_stages(QuickstartConfig())]
    assert len(names) == len(set(names))
    # each stage comes after the ones whose outputs it reads
    order = [
        ("data", "vq"), ("vq", "codes"), ("codes", "sft-data"), ("cot", "sft-data"), ("sft", "grpo"),
        ("retrieval", "grpo"), ("judge", "eval-real"), ("retrieval", "eval-real"), ("cot", "llm"),
        ("rl-data", "grpo"), ("grpo", "generate-grpo"),
        ("generate-grpo", "eval-grpo"), ("eval-grpo", "report"),
    ]  # fmt: skip
    for before, after in order:
        assert names.index(before) < names.index(after), (before, after)


def test_too_few_clips_is_a_user_error(capsys):
    with pytest.raises(UserError, match="^n_clips must be >= 400"):
        QuickstartConfig(n_clips=100)
    assert main(["quickstart", "--clips", "100", "--out", "unused"]) == 2
    assert "--clips must be >= 400" in capsys.readouterr().err


def test_budget_checks_are_user_errors():
    with pytest.raises(UserError, match="multiple of the optimiser steps"):
        QuickstartConfig(grpo_prompts_per_step=10, grpo_updates_per_step=4)
    with pytest.raises(UserError, match="^sft_epochs must be > 0"):
        QuickstartConfig(sft_epochs=0)
    with pytest.raises(UserError, match="^cot_mode must be rules or oracle"):
        QuickstartConfig(cot_mode="llm")


def test_sft_steps_follow_epochs_and_rows(tmp_path):
    import pandas as pd

    from motion_r1_verl.pipeline.steps import sft_steps_for

    pd.DataFrame({"messages": [[{"role": "user", "content": str(i)}] for i in range(100)]}).to_parquet(
        tmp_path / "train.parquet"
    )
    assert sft_steps_for(tmp_path, 2.0, 16) == 13  # ceil(200 / 16)
    assert sft_steps_for(tmp_path, 0.01, 16) == 1


def test_validation_gain_reads_verls_validation_points(tmp_path):
    import json

    from motion_r1_verl.pipeline.report import plot_validation, validation_curve, validation_gain

    metrics = tmp_path / "metrics.jsonl"
    rows = []
    for step, (fmt, motion, semantic) in enumerate([(0.9, 0.8, 0.7), (0.95, 0.85, 0.75)]):
        data = {f"val-aux/motion_r1/{k}/mean@4": v for k, v in (("format", fmt), ("motion", motion),
                                                                 ("semantic", semantic))}  # fmt: skip
        data["actor/pg_loss"] = 0.1
        rows.append(json.dumps({"step": step * 5, "data": data}))
    metrics.write_text("\n".join(rows) + "\n")
    points = validation_curve(metrics)
    assert [p["step"] for p in points] == [0, 5]
    assert points[0]["similarity_all"] == pytest.approx(2 * (0.8 + 0.7) - 2)
    assert points[0]["similarity"] == pytest.approx(2 * 0.8 / 0.9 - 1 + 2 * 0.7 / 0.9 - 1)
    line = validation_gain(metrics)
    assert "(+0.035)" in line and "0.900 -> 0.950" in line
    png = plot_validation(points, tmp_path / "validation.png")
    assert png.stat().st_size > 1000
    assert "no validation points" in validation_gain(tmp_path / "absent.jsonl")


def test_motionless_stand_in_has_no_velocity(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "Mean.npy", rng.normal(size=FEATURE_DIM).astype(np.float32))
    clip = motionless_clip(tmp_path, frames=40)
    assert clip.shape == (40, FEATURE_DIM)
    assert np.all(clip[:, :3] == 0) and np.all(clip[:, VEL_SLICE] == 0)
    assert np.all(clip == clip[0])


def test_the_report_lists_each_fixed_prompt_across_validations(tmp_path):
    """The decode hook's folder (one sub-folder per validation step) becomes one line per prompt with a link per
    step, malformed generations marked, and the motion metrics per step."""
    from motion_r1_verl.pipeline.report import validation_motion_lines

    motions = tmp_path / "grpo-ckpt" / "validation" / "motions"
    for step, reason in ((0, "no <Motion> span found"), (10, "ok")):
        (motions / str(step)).mkdir(parents=True)
        rows = [{"clip": 0, "caption": "a person waves", "video": "clip_0.mp4", "reason": reason}]
        (motions / str(step) / "motions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    metrics = [
        {"step": s, "partition": "val", "val-motion/decoded": d, "val-motion/seconds": 2.0}
        for s, d in ((0, 0.5), (10, 0.75))
    ]
    metrics.append({"step": 5, "partition": "train", "train-motion/decoded": 1.0})
    (motions / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metrics))
    lines = validation_motion_lines(motions, tmp_path)
    prompt = next(line for line in lines if line.startswith("- a person waves — "))
    assert "[step 0](grpo-ckpt/validation/motions/0/clip_0.mp4) (malformed)" in prompt
    assert "[step 10](grpo-ckpt/validation/motions/10/clip_0.mp4)" in prompt and prompt.count("malformed") == 1
    table = [line for line in lines if line.startswith("| 0 ") or line.startswith("| 10 ") or line.startswith("| 5 ")]
    assert [line.split(" | ")[1] for line in table] == ["0.500", "0.750"]  # validation rows only
    assert validation_motion_lines(tmp_path / "none", tmp_path) == []


def test_grpo_budget_reaches_verls_overrides(tmp_path, monkeypatch):
    from motion_r1_verl.pipeline import steps

    calls = []
    monkeypatch.setattr(steps, "run_recipe", lambda script, env, *overrides: calls.append((script, overrides)))
    steps.train_grpo(
        tmp_path, tmp_path / "sft", tmp_path / "ckpt", tmp_path / "out",
        steps=3, prompts_per_step=8, group_size=4, updates_per_step=2, lr=2e-4, temperature=0.9, entropy_coeff=-0.05,
    )  # fmt: skip
    (script, overrides), (merge, _) = calls
    assert (script, merge) == ("grpo.sh", "merge.sh")
    for expected in (
        "trainer.total_training_steps=3",
        "data.train_batch_size=8",
        "actor_rollout_ref.actor.ppo_mini_batch_size=4",  # prompts per optimiser step
        "actor_rollout_ref.rollout.n=4",
        "actor_rollout_ref.actor.optim.lr=0.0002",
        "actor_rollout_ref.rollout.temperature=0.9",
        "actor_rollout_ref.actor.entropy_coeff=-0.05",
    ):
        assert expected in overrides
