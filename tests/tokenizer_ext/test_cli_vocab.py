"""``motion-r1 llm extend-vocab`` / ``llm make-tiny`` through ``main``: help, a real run, a user error."""

import json

import pandas as pd
import pytest

from motion_r1_verl.cli.main import main


@pytest.mark.parametrize("verb", [("llm", "extend-vocab"), ("llm", "make-tiny"), ("dataset", "sft"), ("dataset", "rl")])
def test_help(verb, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*verb, "--help"])
    assert exit_info.value.code == 0
    assert "example:" in capsys.readouterr().out


def test_make_then_extend(tmp_path, capsys):
    (tmp_path / "texts.txt").write_text("a person walks in a circle\na person kicks\n")
    texts = str(tmp_path / "texts.txt")
    assert main(["llm", "make-tiny", "--out", str(tmp_path / "tiny"), "--texts", texts]) == 0
    assert (
        main(
            [
                "llm",
                "extend-vocab",
                "--base",
                str(tmp_path / "tiny"),
                "--codebook-size",
                "8",
                "--out",
                str(tmp_path / "e"),
            ]
        )
        == 0
    )
    assert "embedding rows" in capsys.readouterr().out
    assert json.loads((tmp_path / "e" / "motion_vocab.json").read_text())["codebook_size"] == 8


def test_build_sft_no_cot_baseline(tmp_path, capsys):
    row = {"id": "000001", "caption": "a person walks", "think": "He walks.", "plan": "1. walk", "status": "ok"}
    (tmp_path / "cot.jsonl").write_text(json.dumps(row) + "\n")
    (tmp_path / "codes.jsonl").write_text(json.dumps({"id": "000001", "codes": [3, 1]}) + "\n")
    args = ["dataset", "sft", "--cot", str(tmp_path / "cot.jsonl"), "--codes", str(tmp_path / "codes.jsonl")]
    assert main([*args, "--out", str(tmp_path / "nocot"), "--reasoning", "none"]) == 0
    (messages,) = pd.read_parquet(tmp_path / "nocot" / "train.parquet")["messages"]
    assert messages[-1]["content"] == "<Motion><Motion_3><Motion_1></Motion>"


def test_missing_base_is_a_user_error(tmp_path, capsys):
    code = main(
        ["llm", "extend-vocab", "--base", str(tmp_path / "nope"), "--codebook-size", "8", "--out", str(tmp_path / "e")]
    )
    assert code == 2
    assert "cannot load base model" in capsys.readouterr().err
