"""``motion-r1 extend-vocab`` / ``make-tiny-llm`` through ``main``: help, a real run, a user error."""

import json

import pytest

from motion_r1_verl.cli.main import main


@pytest.mark.parametrize("verb", ["extend-vocab", "make-tiny-llm", "build-sft"])
def test_help(verb, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([verb, "--help"])
    assert exit_info.value.code == 0
    assert "example:" in capsys.readouterr().out


def test_make_then_extend(tmp_path, capsys):
    (tmp_path / "texts.txt").write_text("a person walks in a circle\na person kicks\n")
    assert main(["make-tiny-llm", "--out", str(tmp_path / "tiny"), "--texts", str(tmp_path / "texts.txt")]) == 0
    assert (
        main(["extend-vocab", "--base", str(tmp_path / "tiny"), "--codebook-size", "8", "--out", str(tmp_path / "e")])
        == 0
    )
    assert "embedding rows" in capsys.readouterr().out
    assert json.loads((tmp_path / "e" / "motion_vocab.json").read_text())["codebook_size"] == 8


def test_missing_base_is_a_user_error(tmp_path, capsys):
    code = main(
        ["extend-vocab", "--base", str(tmp_path / "nope"), "--codebook-size", "8", "--out", str(tmp_path / "e")]
    )
    assert code == 2
    assert "cannot load base model" in capsys.readouterr().err
