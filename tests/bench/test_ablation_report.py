"""bench/ablation.py without training: its stage plan, its statistics and its seed-paired verdicts."""

import json
import math

import pytest

from bench.ablation import (
    JUDGES,
    NEEDED_STAGES,
    SPLITS,
    VARIANTS,
    AblationConfig,
    build_stages,
    comparison_lines,
    main,
    t_interval,
    tables,
    validation_lines,
    verdict,
)
from motion_r1_verl.errors import UserError
from motion_r1_verl.pipeline.stages import marker_path


def _finished_run(tmp_path):
    for stage in NEEDED_STAGES:
        marker = marker_path(tmp_path / "run", stage)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("done\n")
    return tmp_path / "run"


def test_unfinished_run_is_refused_with_the_missing_stages(tmp_path, capsys):
    assert main(["--run", str(tmp_path / "run"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "not a finished quickstart run" in err and "rl-data" in err and "judge" in err


def test_one_seed_gives_no_interval(tmp_path):
    with pytest.raises(UserError, match="--seeds must be >= 2"):
        AblationConfig(_finished_run(tmp_path), tmp_path / "out", seeds=1)


def test_arms_are_checked(tmp_path):
    run = _finished_run(tmp_path)
    with pytest.raises(UserError, match="unknown grpo-typo"):
        AblationConfig(run, tmp_path / "out", arms=("cot-sft", "grpo-typo"))
    with pytest.raises(UserError, match="cot-sft must be among them"):
        AblationConfig(run, tmp_path / "out", arms=("grpo-both",))


def test_stage_plan_is_seed_major_and_complete(tmp_path):
    stages = build_stages(AblationConfig(_finished_run(tmp_path), tmp_path / "out", seeds=2))
    names = [s.name for s in stages]
    assert len(names) == len(set(names))
    # per split: real, ceiling decode, ceiling eval; the no-CoT parquet; per seed: a tiny LM, then per
    # variant a training run and a generation + evaluation per split
    per_seed = 1 + len(VARIANTS) * (1 + 2 * len(SPLITS))
    assert len(names) == 3 * len(SPLITS) + 1 + 2 * per_seed
    # Every unit of seed 0 comes before any of seed 1, so a stopped run keeps whole replications.
    last_seed0 = max(i for i, n in enumerate(names) if n.endswith("-s0") or "-s0-" in n)
    first_seed1 = min(i for i, n in enumerate(names) if n.endswith("-s1") or "-s1-" in n)
    assert last_seed0 < first_seed1
    # The seed's LM, then its CoT-SFT, before any GRPO arm (which starts from that SFT model).
    assert names.index("llm-s1") < names.index("train-cot-sft-s1") < names.index("train-grpo-format-s1")
    assert (
        names.index("train-grpo-both-s1") < names.index("gen-grpo-both-s1-test") < names.index("eval-grpo-both-s1-test")
    )


def test_a_subset_of_arms_plans_only_those(tmp_path):
    config = AblationConfig(_finished_run(tmp_path), tmp_path / "out", seeds=2, arms=("cot-sft", "grpo-both"))
    names = [s.name for s in build_stages(config)]
    assert "train-grpo-both-s0" in names and "train-cot-sft-s1" in names
    assert not any("nocot" in n or "grpo-format" in n for n in names)


def test_t_interval_matches_the_textbook_value():
    mean, half = t_interval([1.0, 2.0, 3.0])
    assert mean == pytest.approx(2.0)
    assert half == pytest.approx(4.302653 * 1.0 / math.sqrt(3), rel=1e-6)  # t(0.975, 2) * s / sqrt(n)
    assert math.isnan(t_interval([1.0])[1])


def test_verdict_reads_the_interval_and_the_direction():
    assert verdict([0.10, 0.11, 0.12]).endswith("better (interval above 0)")
    assert verdict([-0.10, -0.11, -0.12]).endswith("WORSE (interval below 0)")
    assert verdict([-0.1, 0.1, 0.0]).endswith("not resolved (interval spans 0)")
    # lower is better (FID): a drop is an improvement
    assert verdict([-0.10, -0.11], higher_is_better=False).endswith("better (interval above 0)")
    assert verdict([0.1]) == "fewer than 2 paired seeds"


def _results(r1_by_variant):
    variants = {}
    for variant in VARIANTS:
        values = r1_by_variant.get(variant.name, [0.1, 0.1])
        rows = [
            {"seed": s, "R@1": v, "R@2": v, "R@3": v, "FID": 1 - v, "MM-Dist": 1.0, "Diversity": 1.0,
             "motion_sim": 0.5, "well_formed": 1.0}
            for s, v in enumerate(values)
        ]  # fmt: skip
        splits = {split: {judge: rows for judge in JUDGES} for split in SPLITS}
        variants[variant.name] = {"label": variant.label, "splits": splits}
    return {"reference": {}, "variants": variants, "validation": {}}


def test_comparisons_use_seed_paired_differences():
    results = _results(
        {
            "cot-sft": [0.10, 0.20, 0.15],
            "grpo-both": [0.15, 0.26, 0.20],  # +0.05, +0.06, +0.05: paired, clearly better
            "grpo-format": [0.20, 0.10, 0.15],  # CoT-SFT's values, reordered: no paired difference
        }
    )
    lines = comparison_lines(results, "test", "judge", "R@1")
    both_vs_sft = next(line for line in lines if "+ both rewards vs CoT-SFT only" in line)
    assert "+0.053±0.014" in both_vs_sft and "better (interval above 0)" in both_vs_sft
    assert "(relative +36%)" in both_vs_sft  # 0.0533 / mean(0.10, 0.20, 0.15)
    fmt_vs_sft = next(line for line in lines if "+ format reward only vs CoT-SFT only" in line)
    assert "+0.000±" in fmt_vs_sft and "not resolved" in fmt_vs_sft
    # FID is lower-is-better: the same runs (FID = 1 - R@1) get the same verdicts.
    fid = comparison_lines(results, "test", "judge", "FID")

    def words(text):
        return text.split("->")[1].split(" (relative")[0]

    assert [words(line) for line in fid] == [words(line) for line in lines]


def test_comparisons_skip_arms_not_run():
    results = _results({})
    del results["variants"]["grpo-semantic"]
    lines = comparison_lines(results, "test", "judge", "R@1")
    assert lines and not any("semantic" in line for line in lines)


def test_validation_lines_pair_start_and_end_per_seed():
    def point(fmt, sim):
        return {"format": fmt, "similarity": sim}

    results = _results({})
    results["validation"] = {
        "grpo-both": [
            {"seed": s, "start": point(0.9, 1.50 + s / 10), "end": point(0.95, 1.55 + s / 10)} for s in range(3)
        ],  # fmt: skip
        "grpo-format": [
            {"seed": s, "start": point(0.9, 1.50 + s / 10), "end": point(0.97, 1.50 + s / 10)} for s in range(3)
        ],  # fmt: skip
    }
    text = "\n".join(validation_lines(results))
    assert "| + both rewards | 0.900±0.000 → 0.950±0.000 |" in text
    assert "+0.050±0.000 -> better" in text
    assert "+ both rewards vs + format reward only: +0.050±0.000 -> better" in text


def test_tables_have_a_row_per_variant_split_and_judge():
    text = tables(_results({}))
    for variant in VARIANTS:
        assert text.count(f"| {variant.label} |") == len(SPLITS) * len(JUDGES)
    assert "0.100±0.000" in text and "| 2 |" in text


def test_report_only_writes_tables_from_what_is_done(tmp_path):
    run = _finished_run(tmp_path)
    out = tmp_path / "out"
    assert main(["--run", str(run), "--out", str(out), "--seeds", "2", "--report-only"]) == 0
    results = json.loads((out / "ablation.json").read_text())
    assert set(results["variants"]) == {v.name for v in VARIANTS}
    assert "| + both rewards |" in (out / "ablation.md").read_text()


def test_shared_sft_validation_only_trains_grpo_arms_from_the_quickstart_model(tmp_path):
    from bench.ablation import BY_NAME, model_dir

    config = AblationConfig(
        _finished_run(tmp_path),
        tmp_path / "out",
        seeds=3,
        arms=("grpo-format", "grpo-both"),
        shared_sft=True,
        validation_only=True,
    )
    names = [s.name for s in build_stages(config)]
    # no tiny LM, no SFT, no test generations: one GRPO run per arm and seed (plus the reference rows)
    assert [n for n in names if n.startswith("train-")] == [
        f"train-{arm}-s{seed}" for seed in range(3) for arm in ("grpo-format", "grpo-both")
    ]
    assert not any(n.startswith(("llm-", "gen-grpo", "eval-grpo")) for n in names)
    assert model_dir(config, BY_NAME["cot-sft"], 2) == config.run / "sft-model"


def test_grpo_overrides_reach_every_grpo_run(tmp_path, monkeypatch):
    import bench.ablation as ablation

    seen = []
    monkeypatch.setattr(ablation, "train_grpo", lambda *args, overrides, **kwargs: seen.append(list(overrides)))
    config = AblationConfig(
        _finished_run(tmp_path),
        tmp_path / "out",
        seeds=2,
        arms=("grpo-format", "grpo-both"),
        shared_sft=True,
        validation_only=True,
        grpo_overrides=("algorithm.adv_estimator=grpo_positive",),
    )
    for seed in range(2):
        for arm in ("grpo-format", "grpo-both"):
            ablation.grpo(config, ablation.BY_NAME[arm], seed, tmp_path)
    assert len(seen) == 4
    assert all(o[-1] == "algorithm.adv_estimator=grpo_positive" for o in seen)
    # the arm's own reward weights and the seed stay in front of the extra overrides
    assert any(x.startswith("+reward.custom_reward_function.reward_kwargs.") for x in seen[0])
    assert "data.seed=1" in seen[2]
