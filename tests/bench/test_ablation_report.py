"""bench/ablation.py without training: its stage plan, its statistics and its verdicts on the paper's ordering."""

import json
import math

import pytest

from bench.ablation import (
    NEEDED_STAGES,
    SPLITS,
    VARIANTS,
    AblationConfig,
    build_stages,
    main,
    ordering_lines,
    reward_trend,
    t_interval,
    tables,
)
from motion_r1_verl.errors import UserError
from motion_r1_verl.pipeline import marker_path


def _finished_run(tmp_path):
    for stage in NEEDED_STAGES:
        marker = marker_path(tmp_path / "run", stage)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("done\n")
    return tmp_path / "run"


def test_unfinished_run_is_refused_with_the_missing_stages(tmp_path, capsys):
    assert main(["--run", str(tmp_path / "run"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "not a finished quickstart run" in err and "rl-data" in err


def test_one_seed_gives_no_interval(tmp_path):
    with pytest.raises(UserError, match="--seeds must be >= 2"):
        AblationConfig(_finished_run(tmp_path), tmp_path / "out", seeds=1)


def test_stage_plan_is_seed_major_and_complete(tmp_path):
    stages = build_stages(AblationConfig(_finished_run(tmp_path), tmp_path / "out", seeds=2))
    names = [s.name for s in stages]
    assert len(names) == len(set(names))
    grpo_variants = [v for v in VARIANTS if v.reward_weights is not None]
    per_seed = len(grpo_variants) + 2 * len(SPLITS) * len(VARIANTS)
    assert len(names) == len(SPLITS) + 2 + 2 * per_seed
    # Every unit of seed 0 comes before any of seed 1, so a stopped run keeps whole replications.
    last_seed0 = max(i for i, n in enumerate(names) if "-s0" in n)
    first_seed1 = min(i for i, n in enumerate(names) if "-s1" in n)
    assert last_seed0 < first_seed1
    # A model is trained before it generates, and generates before it is evaluated.
    assert (
        names.index("train-grpo-both-s1") < names.index("gen-grpo-both-s1-test") < names.index("eval-grpo-both-s1-test")
    )


def test_t_interval_matches_the_textbook_value():
    mean, half = t_interval([1.0, 2.0, 3.0])
    assert mean == pytest.approx(2.0)
    assert half == pytest.approx(4.302653 * 1.0 / math.sqrt(3), rel=1e-6)  # t(0.975, 2) * s / sqrt(n)
    assert math.isnan(t_interval([1.0])[1])


def _results(r1_by_variant):
    variants = {}
    for variant in VARIANTS:
        values = r1_by_variant.get(variant.name, [0.1, 0.1])
        rows = [
            {"seed": s, "R@1": v, "R@2": v, "R@3": v, "FID": 1 - v, "MM-Dist": 1.0, "Diversity": 1.0,
             "motion_sim": 0.5, "well_formed": 1.0}
            for s, v in enumerate(values)
        ]  # fmt: skip
        variants[variant.name] = {"label": variant.label, "splits": {split: rows for split in SPLITS}}
    return {"real": {}, "variants": variants}


def test_ordering_verdicts_use_seed_paired_differences():
    results = _results(
        {
            "nocot-sft": [0.10, 0.11],  # the same as CoT-only
            "cot-sft": [0.10, 0.11],
            "grpo-semantic": [0.30, 0.31],  # better on every seed
            "grpo-motion": [0.09, 0.13],  # better on one seed, worse on the other
            "grpo-both": [0.20, 0.21],  # worse than semantic alone on every seed
        }
    )
    lines = ordering_lines(results, "test", "R@1")
    assert len(lines) == 5
    assert "CoT-SFT only vs No-CoT SFT: +0.000±0.000 -> not resolved" in lines[0]
    assert "+ semantic reward vs CoT-SFT only: +0.200±0.000 -> better (interval above 0)" in lines[1]
    assert "+ motion reward vs CoT-SFT only: +0.005±" in lines[2] and "not resolved" in lines[2]
    assert "+ both rewards vs + semantic reward: -0.100±0.000 -> WORSE" in lines[3]
    # FID is lower-is-better: the same runs (FID = 1 - R@1) get the same verdicts.
    fid = ordering_lines(results, "test", "FID")
    assert [line.split("->")[1] for line in fid] == [line.split("->")[1] for line in lines]


def test_ordering_needs_two_shared_seeds():
    results = _results({"grpo-both": [0.2]})
    assert not any("+ both rewards vs" in line for line in ordering_lines(results, "test", "R@1"))


def test_tables_have_a_row_per_variant_and_split():
    text = tables(_results({}))
    for variant in VARIANTS:
        assert text.count(f"| {variant.label} |") == len(SPLITS)
    assert "0.100±0.000" in text and "| 2 |" in text


def test_reward_trend_reads_verl_file_logger_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    lines = [{"step": i + 1, "data": {"critic/score/mean": float(i), "actor/lr": 1e-4}} for i in range(12)]
    lines.insert(3, {"step": 0, "data": {"val/score": 1.0}})  # a line without the training reward
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    assert reward_trend(path) == (2.0, 9.0)  # mean of 0..4 and of 7..11
    assert reward_trend(path, window=7) is None  # too few steps for two windows
    assert reward_trend(tmp_path / "missing.jsonl") is None
