"""``motion-r1 data synth`` end to end: files, contact sheet, errors, help."""

import json

import numpy as np
import pytest
from PIL import Image

from motion_r1_verl.cli.main import main


def test_synth_writes_a_folder_and_a_contact_sheet(tmp_path, capsys):
    out, sheet = tmp_path / "synth", tmp_path / "sheet.png"
    rc = main(["data", "synth", "--out", str(out), "--n", "4", "--seed", "3", "--workers", "1", "--quiet",
               "--contact-sheet", str(sheet)])  # fmt: skip
    assert rc == 0
    printed = capsys.readouterr().out
    assert "4 clips" in printed and "foot skate" in printed and "clips/min" in printed
    for name in ("Mean.npy", "Std.npy", "plans.jsonl", "train.txt", "val.txt", "test.txt", "test_heldout.txt"):
        assert (out / name).is_file(), name
    assert len((out / "plans.jsonl").read_text().splitlines()) == 4
    assert len(list((out / "new_joint_vecs").glob("*.npy"))) == 4
    report = json.loads((out / "synth.json").read_text())["report"]
    assert report["contact_sheet"] == str(sheet)
    image = np.asarray(Image.open(sheet).convert("L"))
    assert image.shape[0] > 400 and image.shape[1] > 400
    assert (image < 128).mean() > 0.005  # something was drawn on the white sheet


def test_synth_rejects_bad_arguments_with_exit_code_2(tmp_path, capsys):
    assert main(["data", "synth", "--out", str(tmp_path / "x"), "--n", "0"]) == 2
    assert "n must be >= 1" in capsys.readouterr().err


def test_synth_help_has_an_example(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["data", "synth", "--help"])
    assert exc.value.code == 0
    assert "motion-r1 data synth --out" in capsys.readouterr().out
