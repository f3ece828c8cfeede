"""``rollout_dumps`` and ``motion-r1 rollouts`` on small hand-written GRPO run folders (real files in tmp_path)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from motion_r1_verl.cli.main import main
from motion_r1_verl.errors import UserError
from motion_r1_verl.verl_plugin.rollout_dumps import diagnose_run, parse_step_range

GOOD = "<think>walk forward</think><output>1. walk</output><Motion>" + "<Motion_3>" * 12 + "</Motion>"
FEW_CODES = "<think>walk forward</think><output>1. walk</output><Motion><Motion_3><Motion_4></Motion>"
UNTERMINATED = "<think>walk forever"
OUT_OF_RANGE = "<think>walk forward</think><output>1. walk</output><Motion>" + "<Motion_9>" * 12 + "</Motion>"


def _write_jsonl(path: Path, rows: list[dict], torn: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + torn)


def _config(run: Path, model: Path, max_response_length: int) -> None:
    tree = {
        "actor_rollout_ref": {
            "model": {"path": str(model)},
            "rollout": {"n": 2, "response_length": "${oc.select:data.max_response_length,512}"},
        },
        "data": {"max_response_length": max_response_length},
        "reward": {"custom_reward_function": {"reward_kwargs": {"vq_ckpt": "vq", "retrieval_ckpt": "ret"}}},
    }
    path = run / "hydra" / ".hydra" / "config.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(tree))


def _verl(uid: str, output: str, score: float, step: int) -> dict:
    return {
        "input": "user\na person walks\nassistant\n",
        "output": output,
        "gts": {},
        "score": score,
        "step": step,
        "uid": uid,
    }


def _reward(uid, step, score, length, fmt, motion, semantic, parse_ok, motion_len, reason) -> dict:
    return {
        "uid": uid,
        "step": step,
        "score": score,
        "response_length": length,
        "format": fmt,
        "motion": motion,
        "semantic": semantic,
        "parse_ok": parse_ok,
        "motion_len": motion_len,
        "reason": reason,
    }


@pytest.fixture
def new_run(tmp_path) -> Path:
    """A run with both dumps: step 1 mixed (hand-computed below), steps 2-3 all well-formed; validation
    at steps 0 and 2; KL/entropy per step."""
    run = tmp_path / "grpo"
    _config(run, tmp_path / "no-model", max_response_length=100)
    step1 = [
        # uid, text, score, length, format, motion, semantic, parse_ok, motion_len, reason
        ("a_0_0", GOOD, 2.5, 40, 1.0, 0.75, 0.75, True, 12, "ok"),
        ("a_0_1", FEW_CODES, 1.0, 100, 0.0, 0.5, 0.5, True, 2, "too few motion codes"),
        ("b_0_0", UNTERMINATED, 0.0, 100, 0.0, 0.0, 0.0, False, 0, "unterminated <think>"),
        ("b_0_1", UNTERMINATED, 0.0, 60, 0.0, 0.0, 0.0, False, 0, "unterminated <think>"),
    ]
    _write_jsonl(run / "rollouts" / "1.jsonl", [_verl(u, t, s, 1) for u, t, s, *_ in step1])
    _write_jsonl(run / "rollouts" / "rewards" / "1.jsonl", [_reward(u, 1, s, *rest) for u, _, s, *rest in step1])
    for step in (2, 3):
        uids = [f"c{step}_0_0", f"c{step}_0_1"]
        _write_jsonl(
            run / "rollouts" / f"{step}.jsonl", [_verl(u, GOOD, 2.0 + i / 5, step) for i, u in enumerate(uids)]
        )
        _write_jsonl(
            run / "rollouts" / "rewards" / f"{step}.jsonl",
            [_reward(u, step, 2.0 + i / 5, 50, 1.0, 0.5 + i / 10, 0.5, True, 12, "ok") for i, u in enumerate(uids)],
        )
    trainer = {"actor/ppo_kl": 0.01, "actor/kl_loss": 0.001, "actor/entropy": 0.5, "actor/pg_clipfrac": 0.0}
    metrics = [
        {
            "step": 0,
            "data": {
                "val-core/motion_r1/reward/mean@2": 1.0,
                "val-aux/motion_r1/format/mean@1": 0.4,  # mean@2 is the one to report
                "val-aux/motion_r1/format/mean@2": 0.5,
                "val-aux/motion_r1/motion/mean@2": 0.3,
                "val-aux/num_turns/mean": 1.0,  # not a per-key validation mean
            },
        },
        {"step": 1, "data": {**trainer, "critic/score/mean": 0.875}},
        {"step": 2, "data": {**trainer, "actor/entropy": None}},  # verl writes NaN as null
        {"step": 2, "data": {"val-core/motion_r1/reward/mean@2": 1.5, "val-aux/motion_r1/format/mean@2": 0.9}},
        {"step": 3, "data": trainer},
    ]
    _write_jsonl(run / "metrics.jsonl", metrics)
    return run


def _tokenizer_json(path: Path) -> None:
    """A word-level tokenizer that splits on whitespace: token counts are word counts."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit

    tokenizer = Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = WhitespaceSplit()
    tokenizer.save(str(path))


@pytest.fixture
def old_run(tmp_path) -> Path:
    """An older run: verl's dump only (no rollouts/rewards/), a model folder with motion_vocab.json
    (codebook 8) and a whitespace tokenizer; step 2 ends in a torn line."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "motion_vocab.json").write_text(json.dumps({"codebook_size": 8}))
    _tokenizer_json(model / "tokenizer.json")
    run = tmp_path / "old"
    _config(run, model, max_response_length=3)
    step1 = [("g1_0_0", GOOD, 2.0), ("g1_0_1", UNTERMINATED, 0.0), ("g2_0_0", OUT_OF_RANGE, 0.0), ("g2_0_1", GOOD, 2.0)]
    _write_jsonl(run / "rollouts" / "1.jsonl", [_verl(u, t, s, 1) for u, t, s in step1])
    step2 = [_verl("h_0_0", GOOD, 2.1, 2), _verl("h_0_1", GOOD, 2.1, 2)]
    _write_jsonl(run / "rollouts" / "2.jsonl", step2, torn='{"input": "user\\na per')
    return run


def test_steps_with_reward_dumps(new_run):
    diagnosis = diagnose_run(new_run)
    assert [s.step for s in diagnosis.steps] == [1, 2, 3]
    s = diagnosis.steps[0]
    assert (s.responses, s.groups, s.source) == (4, 2, "reward dump")
    assert s.format == pytest.approx(0.25)
    assert s.parse_ok == pytest.approx(0.5)
    assert s.motion == pytest.approx((0.75 + 0.5) / 4)  # over all responses, 0 where nothing parsed
    assert s.motion_cos == pytest.approx((0.5 + 0.0) / 2)  # 2x-1 over the two parsed spans
    assert s.semantic_cos == pytest.approx(0.25)
    assert s.motion_len == pytest.approx(14 / 4)
    assert s.score == pytest.approx(0.875)
    assert s.group_score_std == pytest.approx((0.75 + 0.0) / 2)  # group a: std(2.5, 1.0); group b: both 0
    assert s.zero_std_groups == pytest.approx(0.5)
    assert s.response_length == pytest.approx(75.0)
    assert s.truncated == pytest.approx(0.5)  # 100 >= data.max_response_length twice
    assert s.reasons == pytest.approx({"unterminated <think>": 0.5, "ok": 0.25, "too few motion codes": 0.25})
    assert list(s.reasons)[0] == "unterminated <think>"  # most common first
    assert (s.ppo_kl, s.kl_loss, s.entropy, s.pg_clipfrac) == (0.01, 0.001, 0.5, 0.0)
    assert s.metrics["reward/reason/unterminated_think"] == pytest.approx(0.5)  # the training-time names
    assert diagnosis.steps[1].entropy is None  # null in metrics.jsonl
    assert diagnosis.steps[1].zero_std_groups == 0.0
    assert diagnosis.notes == []


def test_validation_points_and_summary(new_run):
    diagnosis = diagnose_run(new_run)
    assert diagnosis.validation == [
        {"step": 0, "format": 0.5, "motion": 0.3, "reward": 1.0},
        {"step": 2, "format": 0.9, "reward": 1.5},
    ]
    comparison = diagnosis.summary["comparison"]
    assert comparison["kind"] == "validation"
    assert (comparison["first_steps"], comparison["last_steps"]) == ([0], [2])
    assert comparison["values"]["reward"] == pytest.approx({"first": 1.0, "last": 1.5, "change": 0.5})
    assert "motion" not in comparison["values"]  # not validated at step 2
    assert diagnosis.summary["reasons"][:2] == [
        {"reason": "ok", "count": 5, "share": pytest.approx(5 / 8)},
        {"reason": "unterminated <think>", "count": 2, "share": pytest.approx(2 / 8)},
    ]
    assert diagnosis.summary["examples"]["unterminated <think>"]["output"] == UNTERMINATED
    assert diagnosis.summary["responses"] == 8


def test_without_validation_the_summary_compares_first_and_last_training_steps(new_run):
    (new_run / "metrics.jsonl").unlink()
    diagnosis = diagnose_run(new_run, window=5)
    comparison = diagnosis.summary["comparison"]
    assert comparison["kind"] == "training"
    assert (comparison["first_steps"], comparison["last_steps"]) == ([1], [3])  # at most half the run each
    assert comparison["values"]["format"] == pytest.approx({"first": 0.25, "last": 1.0, "change": 0.75})
    assert "ppo_kl" not in comparison["values"]
    assert diagnosis.steps[0].ppo_kl is None


def test_step_range_limits_what_is_read(new_run):
    diagnosis = diagnose_run(new_run, steps=(2, None))
    assert [s.step for s in diagnosis.steps] == [2, 3]
    assert [p["step"] for p in diagnosis.validation] == [2]
    with pytest.raises(UserError, match="steps 1-3"):
        diagnose_run(new_run, steps=(7, 9))


def test_older_run_is_judged_from_the_text(old_run):
    diagnosis = diagnose_run(old_run)
    assert diagnosis.codebook_size == 8  # from the model's motion_vocab.json
    s = diagnosis.steps[0]
    assert s.source == "text"
    assert s.format == pytest.approx(0.5)
    assert s.parse_ok == pytest.approx(0.5)
    assert s.reasons == pytest.approx({"ok": 0.5, "unterminated <think>": 0.25, "motion id out of range": 0.25})
    assert (s.motion, s.semantic, s.motion_cos, s.semantic_cos) == (None, None, None, None)
    assert s.score == pytest.approx(1.0)
    assert s.response_length == pytest.approx((3 + 2 + 3 + 3) / 4)  # whitespace tokens of each text
    assert s.truncated == pytest.approx(0.75)  # >= data.max_response_length (3)
    assert diagnosis.steps[1].responses == 2  # the torn last line is skipped...
    assert any("2.jsonl: last line 3 is incomplete" in n for n in diagnosis.notes)  # ...with a note
    assert any("re-tokenised" in n for n in diagnosis.notes)
    assert any("older run" in n for n in diagnosis.notes)


def test_codebook_size_flag_overrides_the_model(old_run):
    s = diagnose_run(old_run, codebook_size=16).steps[0]
    assert s.reasons == pytest.approx({"ok": 0.75, "unterminated <think>": 0.25})  # Motion_9 is in range now


def test_older_run_without_codebook_size_is_a_user_error(old_run, tmp_path):
    (tmp_path / "model" / "motion_vocab.json").unlink()
    with pytest.raises(UserError, match="motion_vocab.json.*codebook_size=K"):
        diagnose_run(old_run)


def test_without_tokenizer_lengths_stay_empty(old_run, tmp_path):
    (tmp_path / "model" / "tokenizer.json").unlink()
    diagnosis = diagnose_run(old_run)
    assert diagnosis.steps[0].response_length is None
    assert diagnosis.steps[0].truncated is None
    assert any("lengths unknown" in n for n in diagnosis.notes)


def test_responses_missing_from_the_reward_dump_are_judged_from_text(new_run, tmp_path):
    path = new_run / "rollouts" / "rewards" / "1.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:3]))  # b_0_1 lost its reward line
    (tmp_path / "no-model").mkdir()
    (tmp_path / "no-model" / "motion_vocab.json").write_text(json.dumps({"codebook_size": 8}))
    s = diagnose_run(new_run).steps[0]
    assert s.source == "mixed"
    assert s.reasons["unterminated <think>"] == pytest.approx(0.5)  # same verdict from the text
    assert s.motion_cos == pytest.approx(0.25)  # from the three dumped lines


def test_a_bad_line_before_the_end_is_a_user_error(new_run):
    path = new_run / "rollouts" / "2.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "{not json\n" + lines[1])
    with pytest.raises(UserError, match=r"2\.jsonl:2: not valid JSON"):
        diagnose_run(new_run)


@pytest.mark.parametrize("make", ["missing", "empty", "no-dumps"])
def test_no_run_is_a_user_error(tmp_path, make):
    run = tmp_path / "run"
    if make != "missing":
        run.mkdir()
    if make == "no-dumps":
        (run / "rollouts").mkdir()
        (run / "metrics.jsonl").write_text('{"step": 1, "data": {}}\n')
    with pytest.raises(UserError, match="no such folder" if make == "missing" else "no rollout dumps") as err:
        diagnose_run(run)
    assert str(run) in str(err.value)


def test_the_rollouts_folder_itself_is_accepted(new_run):
    assert diagnose_run(new_run / "rollouts").run_dir == new_run


@pytest.mark.parametrize(
    "text, expected", [("3-7", (3, 7)), ("3-", (3, None)), ("-7", (None, 7)), ("5", (5, 5)), (" 2 - 4 ", (2, 4))]
)
def test_parse_step_range(text, expected):
    assert parse_step_range(text) == expected


@pytest.mark.parametrize("text", ["", "-", "a-b", "7-3", "1-2-3"])
def test_parse_step_range_rejects(text):
    with pytest.raises(UserError, match="^steps "):
        parse_step_range(text)


def test_cli_prints_the_table_and_writes_json(new_run, tmp_path, capsys):
    out = tmp_path / "report" / "rollouts.json"
    assert main(["rollouts", str(new_run), "--every", "2", "--json", str(out), "--examples"]) == 0
    text = capsys.readouterr().out
    header = next(line for line in text.splitlines() if line.startswith("step"))
    assert "cos_m" in header and "zero_var" in header and "ppo_kl" in header
    rows = [line.split()[0] for line in text.splitlines() if line[:4].strip().isdigit()]
    assert rows[:2] == ["1", "3"]  # every 2nd step, and the last
    assert "unterminated <think> 50%" in text
    assert "validation step 0 -> step 2" in text
    assert f"e.g. step 1 b_0_1: {UNTERMINATED}" in text
    report = json.loads(out.read_text())
    assert [s["step"] for s in report["steps"]] == [1, 2, 3]  # the JSON keeps every step
    assert report["summary"]["comparison"]["kind"] == "validation"
    assert report["config"]["truncation_length"] == 100
    assert [p.name for p in out.parent.iterdir()] == ["rollouts.json"]  # written atomically, no temp left behind


def test_cli_user_error_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert main(["rollouts", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nope" in err and err.startswith("motion-r1 rollouts: error:")
    assert main(["rollouts", str(tmp_path), "--every", "0"]) == 2


def test_reading_imports_neither_verl_torch_nor_ray():
    code = (
        "import sys, motion_r1_verl.cli.rollouts, motion_r1_verl.verl_plugin.rollout_dumps; "
        "print(sorted(m for m in ('verl', 'torch', 'ray') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip() == "[]"
