"""``motion-r1 data check``: every problem listed, clean folders pass."""

from pathlib import Path

import numpy as np
import pytest

from motion_r1_verl.cli.main import main
from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.check import check_folder
from motion_r1_verl.motion.core.humanml3d import Caption, read_split_ids, write_clip, write_split


def _clean_folder(root: Path) -> None:
    rng = np.random.default_rng(0)
    for i in range(4):
        features = rng.standard_normal((50 + i, 263)).astype(np.float32)
        joints = rng.standard_normal((50 + i, 22, 3)).astype(np.float32)
        write_clip(root, f"{i:06d}", features, [Caption.from_text("a person walks forward")], joints=joints)
    write_split(root, "train", ["000000", "000001"])
    write_split(root, "val", ["000002"])
    write_split(root, "test", ["000003"])
    np.save(root / "Mean.npy", np.zeros(263, np.float32))
    np.save(root / "Std.npy", np.ones(263, np.float32))


def test_clean_folder_passes(tmp_path, capsys):
    _clean_folder(tmp_path)
    result = check_folder(tmp_path)
    assert result.ok, result.problems
    assert result.n_clips == 4 and result.splits == {"train": 2, "val": 1, "test": 1}
    assert main(["data", "check", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK ") and out.count("\n") == 1


def test_lists_every_problem_without_stopping(tmp_path, capsys):
    _clean_folder(tmp_path)
    bad = np.zeros((50, 263), np.float32)
    bad[3, 5] = np.nan
    np.save(tmp_path / "new_joint_vecs/000000.npy", bad)  # NaN
    np.save(tmp_path / "new_joint_vecs/000001.npy", np.zeros((50, 250), np.float32))  # shape
    (tmp_path / "texts/000002.txt").unlink()  # missing text
    (tmp_path / "texts/000003.txt").write_text("ok#ok/NOUN#0#0\nbroken line\n")  # bad line 2
    np.save(tmp_path / "new_joints/000003.npy", np.zeros((49, 22, 3), np.float32))  # frame mismatch
    (tmp_path / "val.txt").write_text("000002\n000009\n000000\n")  # id without file + overlap with train
    np.save(tmp_path / "Std.npy", np.ones(262, np.float32))  # stats shape
    (tmp_path / "new_joint_vecs/000004.npy").write_bytes(b"")  # empty file

    lines = [str(p) for p in check_folder(tmp_path).problems]
    expected = [
        "new_joint_vecs/000000.npy: NaN values in 1 frame(s) (first at frame 3)",
        "new_joint_vecs/000001.npy: shape (50, 250), expected features (T, 263)",
        "new_joint_vecs/000002.npy: missing text: no texts/000002.txt",
        "new_joint_vecs/000004.npy: empty file (0 bytes)",
        "new_joints/000003.npy: 49 frames but new_joint_vecs/000003.npy has 53",
        "texts/000003.txt: bad line 2: expected 4 '#'-separated fields 'caption#tokens#start#end', got 1",
        "val.txt: id 000009 has no new_joint_vecs/000009.npy",
        "val.txt: id 000000 is also in train.txt (splits must not overlap)",
        "Std.npy: shape (262,), expected (263,)",
    ]
    assert lines == expected

    assert main(["data", "check", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines() == expected
    assert captured.err.startswith("FAILED ") and "9 problems in 8 files" in captured.err


def test_missing_everything(tmp_path):
    reasons = {p.path: p.reason for p in check_folder(tmp_path).problems}
    assert set(reasons) == {"new_joint_vecs/", "texts/", "train.txt", "Mean.npy", "Std.npy"}
    assert "missing file" in reasons["Mean.npy"]


def test_not_a_folder_exits_2_with_one_line(tmp_path, capsys):
    assert main(["data", "check", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not found" in err


def test_a_split_path_that_is_a_folder_or_ids_that_leave_the_folder_fail(tmp_path, capsys):
    _clean_folder(tmp_path)
    (tmp_path / "val.txt").unlink()
    (tmp_path / "val.txt").mkdir()
    (tmp_path / "test.txt").write_text("../000003\n")
    reasons = {p.path: p.reason for p in check_folder(tmp_path).problems}
    assert reasons["val.txt"].startswith("is not a regular file")
    assert "not a plain file name" in reasons["test.txt"]
    assert main(["data", "check", str(tmp_path)]) == 2
    for split, words in (("val", "not a regular file"), ("test", r"test.txt:1: id '\.\./000003'")):
        with pytest.raises(UserError, match=words):
            read_split_ids(tmp_path, split)
