"""``motion-r1 retrieval train --arch guo`` then ``motion-r1 eval --evaluator guo --ckpt FOLDER``, end to end."""

import json
import shutil
from pathlib import Path

import pytest

from motion_r1_verl.cli.main import main


@pytest.fixture(scope="module")
def judge(toy_data, tmp_path_factory) -> Path:
    """The cpu-preset judge, a few epochs on the toy set, trained through the CLI."""
    out = tmp_path_factory.mktemp("guo_judge") / "judge"
    argv = ["retrieval", "train", "--arch", "guo", "--data", str(toy_data), "--out", str(out), "--epochs", "4"]
    assert main([*argv, "--batch-size", "32", "--val-every", "2", "--device", "cpu", "--threads", "1"]) == 0
    return out


def test_eval_with_a_trained_judge_folder_needs_no_glove(toy_data, judge, tmp_path, capsys):
    out_json = tmp_path / "real.json"
    argv = ["eval", "--data", str(toy_data), "--split", "test", "--reference", "--evaluator", "guo"]
    argv += ["--ckpt", str(judge), "--replications", "3", "--json", str(out_json), "--device", "cpu"]
    assert main(argv) == 0
    assert "| Real |" in capsys.readouterr().out
    data = json.loads(out_json.read_text())
    assert data["settings"]["evaluator"] == "guo-trained"
    m = data["metrics"]
    assert m["FID"]["mean"] == pytest.approx(0.0, abs=1e-4)
    assert m["R@1"]["mean"] > 1 / 32  # trained: above chance (the toy set's ceiling is 0.25)
    assert m["R@1"]["mean"] <= m["R@2"]["mean"] <= m["R@3"]["mean"]


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("motion-r1 ")
    return err


def test_bad_judge_folders_exit_2_with_one_line(toy_data, judge, tmp_path, capsys):
    base = ["eval", "--data", str(toy_data), "--reference", "--evaluator", "guo", "--device", "cpu"]
    assert main([*base, "--ckpt", str(tmp_path / "missing")]) == 2
    assert "not found" in _one_line_error(capsys)
    assert main([*base, "--ckpt", str(judge), "--glove", str(tmp_path)]) == 2
    assert "finest.tar only" in _one_line_error(capsys)

    broken = tmp_path / "broken"
    shutil.copytree(judge, broken)
    (broken / "config.json").write_text("{not json")
    assert main([*base, "--ckpt", str(broken)]) == 2
    assert "config.json" in _one_line_error(capsys)
    shutil.copy(judge / "config.json", broken / "config.json")
    (broken / "word_vectors.json").unlink()
    assert main([*base, "--ckpt", str(broken)]) == 2
    assert "word vectors missing" in _one_line_error(capsys)
    # a judge folder is not a TMR-style checkpoint
    assert main(["eval", "--data", str(toy_data), "--reference", "--ckpt", str(judge), "--device", "cpu"]) == 2
    _one_line_error(capsys)


def test_train_flags_that_do_not_fit_the_arch_are_user_errors(toy_data, tmp_path, capsys):
    argv = ["retrieval", "train", "--data", str(toy_data), "--out", str(tmp_path / "x")]
    assert main([*argv, "--arch", "guo", "--resume"]) == 2
    assert "--arch tmr" in _one_line_error(capsys)
    assert main([*argv, "--arch", "guo", "--preset", "compact"]) == 2
    assert "guo presets" in _one_line_error(capsys)
    assert main([*argv, "--preset", "official"]) == 2
    assert "tmr presets" in _one_line_error(capsys)
    assert not (tmp_path / "x").exists()
