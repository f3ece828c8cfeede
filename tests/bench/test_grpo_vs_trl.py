"""bench/grpo_vs_trl.py without either trainer: metrics parsing, medians, the 2 s grid, the budget mapping,
verl's prompt order, the reward wrapper, the table and the JSON line. TRL itself is not needed."""

import importlib.metadata
import json
import math

import numpy as np
import pandas as pd
import pytest

import bench.grpo_vs_trl as bench
from bench.grpo_vs_trl import (
    TRL_MISSING,
    budget_from_profile,
    format_table,
    grpo_step_durations,
    json_line,
    main,
    make_reward_fn,
    median_after_first,
    on_quantum_grid,
    prompts_match,
    quantum_check,
    ratio,
    trl_figures,
    trl_rows,
    verl_figures,
    verl_prompt_order,
)
from motion_r1_verl.errors import UserError
from motion_r1_verl.protocol import format_response
from motion_r1_verl.verl_plugin.run_files import read_metrics

# The quickstart profile as composed for 16 prompts x 8 samples, mini-batches of 4 prompts.
PROFILE = {
    "data.train_batch_size": 16,
    "data.max_response_length": 256,
    "data.seed": 0,
    "data.shuffle": True,
    "data.filter_overlong_prompts": False,
    "actor_rollout_ref.rollout.n": 8,
    "actor_rollout_ref.rollout.temperature": 1.0,
    "actor_rollout_ref.rollout.top_p": 1.0,
    "actor_rollout_ref.rollout.top_k": -1,
    "actor_rollout_ref.actor.ppo_mini_batch_size": 4,
    "actor_rollout_ref.actor.ppo_epochs": 1,
    "actor_rollout_ref.actor.optim.lr": 1e-4,
    "actor_rollout_ref.actor.optim.weight_decay": 0.01,
    "actor_rollout_ref.actor.optim.betas": [0.9, 0.999],
    "actor_rollout_ref.actor.optim.clip_grad": 1.0,
    "actor_rollout_ref.actor.optim.lr_scheduler_type": "constant",
    "actor_rollout_ref.actor.optim.lr_warmup_steps_ratio": 0.0,
    "actor_rollout_ref.actor.use_kl_loss": True,
    "actor_rollout_ref.actor.kl_loss_coef": 0.01,
    "actor_rollout_ref.actor.kl_loss_type": "low_var_kl",
    "actor_rollout_ref.actor.clip_ratio_low": 0.2,
    "actor_rollout_ref.actor.clip_ratio_high": 0.28,
    "actor_rollout_ref.actor.loss_agg_mode": "token-mean",
    "actor_rollout_ref.actor.entropy_coeff": 0,
    "algorithm.norm_adv_by_std_in_grpo": True,
    "reward.custom_reward_function.reward_kwargs": {"w_semantic": 0.5},
}


def test_median_skips_the_earliest_step_whatever_the_key_order():
    assert median_after_first({3: 5.0, 1: 90.0, 2: 3.0}) == 4.0  # step 1 (start-up) dropped
    assert median_after_first({1: 90.0, 2: 3.0, 3: 5.0, 4: 4.0}) == 4.0
    assert median_after_first({1: 90.0}) is None
    assert median_after_first({}) is None


@pytest.mark.parametrize(
    ("seconds", "on"),
    [
        (4.025, True),  # verl 0.9.1's 2 s poll: a multiple of 2 s plus a little overshoot
        (2.016, True),
        (6.076, True),
        (3.96, True),  # just below a multiple still counts
        (3.53, False),  # a continuous value between the marks
        (1.47, False),
        (0.05, False),  # near 0: no poll at all, not "a multiple of 2 s"
        (4.11, False),  # past the tolerance
    ],
)
def test_on_quantum_grid(seconds, on):
    assert on_quantum_grid(seconds) is on


def test_quantum_verdict_needs_three_values_and_all_on_the_grid():
    # The quickstart run before the 50 ms poll (notes: 4.03 or 6.04 s on every step).
    assert quantum_check([4.03, 6.04, 4.02, 2.02]) == {"on_grid": 4, "of": 4, "quantised": True}
    assert quantum_check([4.03, 3.1, 4.02]) == {"on_grid": 2, "of": 3, "quantised": False}
    assert quantum_check([1.54, 1.39]) == {"on_grid": 0, "of": 2, "quantised": None}
    assert quantum_check([]) == {"on_grid": 0, "of": 0, "quantised": None}


def _metrics_line(step, step_s, gen_s, length=100.0, score=1.5):
    data = {
        "timing_s/step": step_s,
        "timing_s/gen": gen_s,
        "timing_s/old_log_prob": 0.5,
        "timing_s/ref": 0.25,
        "timing_s/adv": 0.05,
        "timing_s/update_weights": 0.05,
        "timing_s/update_actor": 1.0,
        "response_length/mean": length,
        "critic/score/mean": score,
        "actor/pg_loss": None,  # verl writes NaN as null
    }
    return json.dumps({"step": step, "data": data})


def test_verl_figures_from_a_metrics_file(tmp_path):
    path = tmp_path / "metrics.jsonl"
    lines = [_metrics_line(1, 80.0, 36.0), _metrics_line(2, 4.0, 1.5), _metrics_line(3, 5.0, 1.7, length=120.0)]
    path.write_text("\n".join(lines) + '\n{"step": 4, "da')  # a run killed mid-write: torn last line
    notes = []
    metrics = read_metrics(path, notes)
    assert sorted(metrics) == [1, 2, 3] and len(notes) == 1
    launched = 1000.0
    arrivals = {1: launched + 100.0 + 80.0, 2: launched + 184.5, 3: launched + 190.0}
    fig = verl_figures(metrics, arrivals, launched, finished=launched + 200.0)
    assert fig["steps"] == 3
    assert fig["median_step_s"] == 4.5 and fig["first_step_s"] == 80.0
    assert fig["startup_s"] == pytest.approx(100.0)  # arrival of step 1 minus its own duration
    assert fig["median_wall_step_s"] == pytest.approx(5.0)  # 4.5 and 5.5 between lines
    assert fig["median_gen_s"] == pytest.approx(1.6)
    assert fig["gen_s"] == [36.0, 1.5, 1.7]
    assert fig["gen_2s_grid"] == {"on_grid": 0, "of": 2, "quantised": None}
    assert fig["median_update_s"] == 1.0
    assert fig["median_logprob_adv_sync_s"] == pytest.approx(0.85)
    assert fig["mean_response_length"] == pytest.approx(320 / 3)
    assert fig["total_s"] == 200.0


def test_verl_figures_refuse_a_run_without_steps():
    with pytest.raises(ValueError, match="timing_s/step"):
        verl_figures({}, {}, 0.0, 1.0)


def test_trl_step_durations_group_optimiser_steps_by_generation():
    # 4 optimiser steps per GRPO step; a trailing incomplete GRPO step is dropped.
    ends = [11.0, 12.0, 13.0, 14.0, 15.0, 15.5, 16.0, 17.0, 18.0]
    assert grpo_step_durations(10.0, ends, 4) == [4.0, 3.0]
    assert grpo_step_durations(10.0, [11.0, 12.0], 1) == [1.0, 1.0]


def test_trl_figures():
    result = {
        "optimiser_steps_per_grpo_step": 2,
        "train_begin": 110.0,
        "finished": 130.0,
        "step_ends": [113.0, 116.0, 118.0, 120.0, 121.0, 124.0],
        "gen_s": [2.0, 1.0, 1.4],
        "reward_s": [0.2, 0.1, 0.1],
        "rollout_s": [3.0, 1.5, 2.0],
        "completion_lengths": [90.0, 110.0],
        "rewards": [1.0, 2.0],
    }
    fig = trl_figures(result, launched=100.0)
    assert fig["step_s"] == [6.0, 4.0, 4.0]
    assert fig["median_step_s"] == 4.0 and fig["first_step_s"] == 6.0
    assert fig["startup_s"] == 10.0 and fig["total_s"] == 30.0
    assert fig["median_gen_s"] == pytest.approx(1.2)
    assert fig["median_logprob_adv_sync_s"] == pytest.approx(0.45)  # rollout - gen - reward: 0.4 and 0.5
    assert fig["median_update_s"] == pytest.approx(2.25)  # step - rollout: 2.5 and 2.0
    assert fig["mean_response_length"] == 100.0 and fig["mean_score"] == 1.5


def test_ratio_is_verl_over_trl_and_needs_both():
    assert ratio({"median_step_s": 9.0}, {"median_step_s": 4.5}) == 2.0
    assert ratio(None, {"median_step_s": 4.5}) is None
    assert ratio({"median_step_s": None}, {"median_step_s": 4.5}) is None


def test_budget_maps_verls_update_budget_to_trl():
    budget = budget_from_profile(PROFILE)
    assert budget.optimiser_steps_per_grpo_step == 4  # 16 prompts / mini-batches of 4
    args = budget.trl_args
    assert args["num_generations"] == 8
    # One optimiser step on 4 x 8 = 32 responses, 128 / 32 = 4 of them per generation batch.
    assert args["per_device_train_batch_size"] == 32 and args["gradient_accumulation_steps"] == 1
    assert args["steps_per_generation"] == 4 and args["num_iterations"] == 1
    assert args["max_completion_length"] == 256 and args["temperature"] == 1.0 and args["top_k"] == 0
    assert args["learning_rate"] == 1e-4 and args["beta"] == 0.01 and args["loss_type"] == "dapo"
    assert (args["epsilon"], args["epsilon_high"]) == (0.2, 0.28)
    assert budget.reward_kwargs == {"w_semantic": 0.5} and budget.notes == ()


def test_budget_with_micro_batches_and_epochs():
    budget = budget_from_profile(PROFILE | {"actor_rollout_ref.actor.ppo_epochs": 2}, micro_batch=8)
    args = budget.trl_args
    assert args["per_device_train_batch_size"] == 8 and args["gradient_accumulation_steps"] == 4
    assert args["steps_per_generation"] == 16 and args["num_iterations"] == 2
    # TRL: steps_per_generation * num_iterations / accumulation = optimiser steps per generation, as verl's.
    per = args["steps_per_generation"] * args["num_iterations"] // args["gradient_accumulation_steps"]
    assert per == budget.optimiser_steps_per_grpo_step == 8


@pytest.mark.parametrize(
    ("change", "micro", "message"),
    [
        ({"data.train_batch_size": 6}, None, "multiple of the profile's ppo_mini_batch_size"),
        ({"actor_rollout_ref.rollout.n": 1}, None, "--group must be >= 2"),
        ({}, 5, "--trl-micro-batch"),
    ],
)
def test_budget_refuses_what_trl_cannot_express(change, micro, message):
    with pytest.raises(UserError, match=message):
        budget_from_profile(PROFILE | change, micro_batch=micro)


def test_budget_notes_what_it_cannot_map():
    budget = budget_from_profile(PROFILE | {"actor_rollout_ref.actor.loss_agg_mode": "seq-mean-token-sum"})
    assert budget.trl_args["loss_type"] == "dapo"
    assert any("seq-mean-token-sum" in note for note in budget.notes)


def test_the_real_profile_composes_and_maps():
    values = bench.compose_profile(["data.train_batch_size=8", "actor_rollout_ref.rollout.n=4"])
    assert values["data.train_batch_size"] == 8 and values["actor_rollout_ref.rollout.n"] == 4
    budget = budget_from_profile(values)
    mini = values["actor_rollout_ref.actor.ppo_mini_batch_size"]
    assert budget.optimiser_steps_per_grpo_step == budget.epochs * 8 // mini
    assert budget.trl_args["max_completion_length"] == values["data.max_response_length"]


def test_prompt_order_is_verls_sampler_order():
    from omegaconf import OmegaConf
    from verl.trainer.ppo.utils import create_rl_sampler

    n = 50
    sampler = create_rl_sampler(OmegaConf.create({"shuffle": True, "seed": 3}), list(range(n)))
    first, second = list(sampler), list(sampler)  # a second epoch continues the same generator
    assert sorted(first) == list(range(n)) and first != second
    assert verl_prompt_order(n, n + 10, seed=3) == first + second[:10]
    assert verl_prompt_order(5, 7, seed=0, shuffle=False) == [0, 1, 2, 3, 4, 0, 1]


def test_prompts_match_compares_each_step_with_its_group():
    ours = {1: ["a", "b"], 2: ["c", "d"]}
    assert prompts_match({1: ["b", "a", "a", "b"], 2: ["c", "c", "d", "d"]}, ours, group=2)
    assert not prompts_match({1: ["a", "a", "a", "b"], 2: ["c", "c", "d", "d"]}, ours, group=2)
    assert not prompts_match({3: ["a", "a"]}, ours, group=2)  # a step TRL never ran
    assert not prompts_match({}, ours, group=2)


def test_reward_wrapper_passes_the_rows_columns_to_compute_score():
    calls = []

    def fake_score(data_source, solution_str, ground_truth, extra_info, **kwargs):
        calls.append((data_source, solution_str, ground_truth["id"], extra_info["caption"], kwargs))
        return {"score": float(len(solution_str))}

    reward = make_reward_fn({"vq_ckpt": "vq", "retrieval_ckpt": "r"}, score=fake_score, workers=4)
    assert reward.__name__ == "motion_r1"  # TRL logs it as rewards/motion_r1/mean
    completions = [[{"role": "assistant", "content": "abc"}], [{"role": "assistant", "content": "de"}]]
    scores = reward(
        prompts=[[], []],
        completions=completions,
        ground_truth=[{"id": "1"}, {"id": "2"}],
        extra_info=[{"caption": "x"}, {"caption": "y"}],
        data_source=["motion_r1", "motion_r1"],
        trainer_state=None,
    )
    assert scores == [3.0, 2.0]
    assert sorted(calls, key=lambda c: c[2]) == [
        ("motion_r1", "abc", "1", "x", {"vq_ckpt": "vq", "retrieval_ckpt": "r"}),
        ("motion_r1", "de", "2", "y", {"vq_ckpt": "vq", "retrieval_ckpt": "r"}),
    ]


def test_reward_wrapper_with_the_real_reward_format_only():
    reward = make_reward_fn({"w_motion": 0, "w_semantic": 0})
    good = format_response("the person walks", "1. walk", list(range(12)))
    scores = reward(
        completions=[[{"role": "assistant", "content": good}], [{"role": "assistant", "content": "no tags"}]],
        ground_truth=[{"id": "0", "codes": list(range(12))}] * 2,
        extra_info=[{"caption": "a person walks"}] * 2,
    )
    assert scores == [1.0, 0.0]


def test_trl_rows_are_plain_python_in_the_given_order():
    frame = pd.DataFrame(
        {
            "data_source": ["motion_r1", "motion_r1"],
            "prompt": [
                np.array([{"role": "system", "content": "s"}, {"role": "user", "content": "u0"}]),
                np.array([{"role": "system", "content": "s"}, {"role": "user", "content": "u1"}]),
            ],
            "reward_model": [
                {"style": "rule", "ground_truth": {"id": "000000", "codes": np.array([1, 2])}},
                {"style": "rule", "ground_truth": {"id": "000001", "codes": np.array([3])}},
            ],
            "extra_info": [{"caption": "c0", "index": np.int64(0)}, {"caption": "c1", "index": np.int64(1)}],
        }
    )
    rows = trl_rows(frame, [1, 0, 1])
    assert [r["prompt"][1]["content"] for r in rows] == ["u1", "u0", "u1"]
    assert rows[1]["ground_truth"] == {"id": "000000", "codes": [1, 2]}
    assert type(rows[1]["ground_truth"]["codes"][0]) is int and type(rows[0]["extra_info"]["index"]) is int
    json.dumps(rows)  # nothing numpy left


def _figures(verl=None, trl=None):
    return {
        "profile": "cpu_tiny",
        "steps": 3,
        "prompts": 8,
        "group": 4,
        "threads": 2,
        "optimiser_steps_per_grpo_step": 2,
        "ratio_verl_over_trl": ratio(verl, trl),
        "prompts_match": True if verl and trl else None,
        "notes": [],
        "verl": verl,
        "trl": trl,
    }


VERL = {
    "median_step_s": 4.0,
    "first_step_s": 80.0,
    "startup_s": 95.0,
    "median_gen_s": 1.5,
    "gen_s": [18.3, 1.54, 1.39, 1.6],
    "gen_2s_grid": {"on_grid": 0, "of": 3, "quantised": False},
    "phase_median_s": {"gen": 1.5, "update_actor": 1.4},
    "mean_score": float("nan"),
}
TRL = {"median_step_s": 2.0, "first_step_s": 1.1, "startup_s": 7.7, "median_gen_s": 0.75}


def test_table_shows_both_sides_the_ratio_and_the_grid_verdict():
    text = format_table(_figures(VERL, TRL))
    assert "ratio verl/TRL (median step) = 2.00" in text
    assert "[18.30, 1.54, 1.39, 1.60]" in text and "0/3" in text and "the 50 ms poll works" in text
    row = next(line for line in text.splitlines() if line.startswith("median step (s)"))
    assert row.split()[-2:] == ["4.00", "2.00"]
    only_trl = format_table(_figures(trl=TRL))
    assert "ratio verl/TRL" not in only_trl and "timing_s/gen" not in only_trl


def test_json_line_is_one_strict_json_object():
    line = json_line(_figures(VERL, TRL))
    assert "\n" not in line and "NaN" not in line
    parsed = json.loads(line)
    assert parsed["ratio_verl_over_trl"] == 2.0
    assert parsed["verl"]["mean_score"] is None  # NaN has no JSON spelling
    assert math.isclose(parsed["verl"]["gen_s"][1], 1.54)


def _run_folder(tmp_path):
    run = tmp_path / "run"
    (run / "rl-data").mkdir(parents=True)
    (run / "rl-data" / "train.parquet").write_bytes(b"")
    (run / "vq").mkdir()
    (run / "retrieval").mkdir()
    (run / "sft-model").mkdir()
    (run / "sft-model" / "config.json").write_text("{}")
    return run


def test_missing_trl_is_one_line_with_the_install_command(tmp_path, monkeypatch, capsys):
    real_find_spec = bench.importlib.util.find_spec
    monkeypatch.setattr(bench.importlib.util, "find_spec", lambda name: None if name == "trl" else real_find_spec(name))
    with pytest.raises(UserError, match=r'pip install -e "\.\[bench\]"'):
        bench.require_trl()
    run = _run_folder(tmp_path)
    assert main(["--run", str(run), "--out", str(tmp_path / "out"), "--only", "trl"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {TRL_MISSING}"


def test_a_trl_release_that_would_break_verl_is_refused(tmp_path, monkeypatch, capsys):
    class Dist:
        version = "1.16.0"
        files = ["trl/__init__.py", "trl/experimental/__init__.py"]

    monkeypatch.setattr(bench.importlib.metadata, "distribution", lambda name: Dist())
    assert bench.trl_breaking_verl() == "1.16.0"
    Dist.files.append(bench.VERL_NEEDS_FROM_TRL)
    assert bench.trl_breaking_verl() is None

    def absent(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(bench.importlib.metadata, "distribution", absent)
    assert bench.trl_breaking_verl() is None


def test_bad_run_folder_and_flags_are_user_errors(tmp_path, capsys):
    assert main(["--run", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    assert "no such folder" in capsys.readouterr().err
    run = _run_folder(tmp_path)
    assert main(["--run", str(run), "--out", str(tmp_path / "out"), "--steps", "1", "--only", "verl"]) == 2
    assert "--steps must be >= 2" in capsys.readouterr().err
    (run / "vq").rmdir()
    assert main(["--run", str(run), "--out", str(tmp_path / "out")]) == 2
    assert "vq not found" in capsys.readouterr().err


def test_help():
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0


def test_no_ray_process_matches_an_unused_temp_dir(tmp_path):
    assert bench.ray_pids(str(tmp_path / "mr1ray.never-used")) == set()
