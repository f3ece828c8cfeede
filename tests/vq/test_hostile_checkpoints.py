"""Corrupt or hostile VQ checkpoint folders: each is a one-line UserError naming the file, never a traceback."""

from __future__ import annotations

import json
import shutil

import pytest

from motion_r1_verl.cli.main import main
from motion_r1_verl.errors import UserError
from motion_r1_verl.vq.checkpoint import load_checkpoint


def _edit_config(folder, **model):
    config = json.loads((folder / "config.json").read_text())
    config["model"].update(model)
    (folder / "config.json").write_text(json.dumps(config))


CASES = {
    "corrupt-weights": (lambda f: (f / "model.safetensors").write_bytes(b"\x00" * 64), "model.safetensors: not a"),
    "truncated-weights": (
        lambda f: (f / "model.safetensors").write_bytes((f / "model.safetensors").read_bytes()[:200]),
        "model.safetensors",
    ),
    "width-as-string": (lambda f: _edit_config(f, width="128"), "field 'width' must be int, got '128'"),
    "width-as-float": (lambda f: _edit_config(f, width=128.5), "field 'width' must be int, got 128.5"),
    "other-width": (lambda f: _edit_config(f, width=48), "do not fit the architecture in config.json"),
    "non-utf8-config": (lambda f: (f / "config.json").write_bytes(b"\xff\xfe{}"), "config.json"),
    "config-not-object": (lambda f: (f / "config.json").write_text("[1, 2]"), "config.json"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_checkpoint_is_one_line_naming_the_file(tiny_checkpoint, tiny_dataset, tmp_path, capsys, case):
    spoil, words = CASES[case]
    folder = tmp_path / "vq"
    shutil.copytree(tiny_checkpoint, folder)
    spoil(folder)
    with pytest.raises(UserError, match=words.replace("(", r"\(").replace(")", r"\)")) as caught:
        load_checkpoint(folder)
    assert "\n" not in str(caught.value) and str(folder) in str(caught.value)
    assert main(["vq", "eval", "--ckpt", str(folder), "--data", str(tiny_dataset), "--split", "test"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
