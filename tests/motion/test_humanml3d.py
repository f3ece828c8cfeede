"""Reader/writer of HumanML3D-format folders, on real files in tmp_path."""

from pathlib import Path

import numpy as np
import pytest

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.humanml3d import (
    Caption,
    load_split,
    parse_caption_line,
    read_split_ids,
    tag_caption,
    write_clip,
    write_split,
)


def _features(n_frames: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n_frames, 263)).astype(np.float32)


def _folder(root: Path, clips: dict[str, int], split: str = "train") -> None:
    for i, (clip_id, n) in enumerate(clips.items()):
        write_clip(root, clip_id, _features(n, i), [Caption.from_text(f"a person walks {i} steps")])
    write_split(root, split, list(clips))


def test_round_trip_keeps_features_captions_and_joints(tmp_path):
    features = _features(80)
    joints = np.random.default_rng(1).standard_normal((80, 22, 3)).astype(np.float32)
    captions = [
        Caption("a man walks forward", ("a/DET", "man/NOUN", "walk/VERB", "forward/ADV"), 0.0, 0.0),
        Caption.from_text("then he waves his left hand"),
    ]
    write_clip(tmp_path, "000001", features, captions, joints=joints)
    write_split(tmp_path, "train", ["000001"])

    clips, report = load_split(tmp_path, "train")
    assert report.n_read == 1 and report.skipped == {}
    (clip,) = clips
    assert clip.id == "000001"
    assert clip.features.dtype == np.float32
    np.testing.assert_array_equal(clip.features, features)
    assert clip.captions[0] == captions[0]
    assert clip.captions[1].text == "then he waves his left hand"
    assert "wave/VERB" in clip.captions[1].tokens
    np.testing.assert_array_equal(np.load(tmp_path / "new_joints" / "000001.npy"), joints)
    assert read_split_ids(tmp_path, "train") == ["000001"]
    # Atomic writes leave no temp files behind.
    assert not list(tmp_path.rglob("*.tmp"))


def test_crops_become_their_own_clips_and_share_span_captions(tmp_path):
    features = _features(150)
    captions = [
        Caption.from_text("a person walks then jumps"),
        Caption.from_text("a person walks", 1.0, 4.0),
        Caption.from_text("someone is walking", 1.0, 4.0),
        Caption.from_text("a person jumps", 5.0, 6.0),  # 20 frames: too short
    ]
    write_clip(tmp_path, "000002", features, captions)
    write_split(tmp_path, "train", ["000002"])

    clips, report = load_split(tmp_path, "train")
    by_id = {c.id: c for c in clips}
    assert set(by_id) == {"000002", "000002@1.0-4.0"}
    crop = by_id["000002@1.0-4.0"]
    np.testing.assert_array_equal(crop.features, features[20:80])
    assert [c.text for c in crop.captions] == ["a person walks", "someone is walking"]
    assert [c.text for c in by_id["000002"].captions] == ["a person walks then jumps"]
    assert report.n_read == 2
    assert report.skipped == {"000002@5.0-6.0": "length out of range: 20 frames, kept 40..199"}

    clips, report = load_split(tmp_path, "train", expand_crops=False)
    assert [c.id for c in clips] == ["000002"] and report.skipped == {}


def test_length_rule_is_the_protocols_keep_40_to_199_and_cut_to_196(tmp_path):
    # Guo et al.'s loaders (and T2M-GPT's, MoMask's) keep 40 <= T < 200 and score at most 196 frames.
    lengths = {"f39": 39, "f40": 40, "f196": 196, "f197": 197, "f199": 199, "f200": 200}
    _folder(tmp_path, lengths)
    clips, report = load_split(tmp_path, "train")
    assert [c.id for c in clips] == ["f40", "f196", "f197", "f199"]
    assert [c.features.shape[0] for c in clips] == [40, 196, 196, 196]
    # The cut keeps the first 196 frames (deterministic across reads).
    full = np.load(tmp_path / "new_joint_vecs" / "f199.npy")
    np.testing.assert_array_equal(clips[-1].features, full[:196])
    assert set(report.skipped) == {"f39", "f200"}
    assert "39 frames" in report.skipped["f39"] and "200 frames" in report.skipped["f200"]
    assert "kept 40..199" in report.skipped["f200"]
    assert report.summary() == "read 4 clips, skipped 2 (2 length out of range)"


def test_length_rule_applies_to_caption_crops_too(tmp_path):
    features = _features(260)
    captions = [
        Caption.from_text("a long walk"),
        Caption.from_text("a walk", 0.0, 9.95),
        Caption.from_text("a run", 0.0, 10.0),
    ]
    write_clip(tmp_path, "c", features, captions)
    write_split(tmp_path, "train", ["c"])
    clips, report = load_split(tmp_path, "train")
    # The whole clip (260 frames) and the 200-frame crop are out; the 199-frame crop is kept, cut to 196.
    (crop,) = clips
    assert crop.id.startswith("c@0.0-9.")
    assert crop.features.shape[0] == 196
    np.testing.assert_array_equal(crop.features, features[:196])
    assert len(report.skipped) == 2


def test_uncut_reads_keep_every_length(tmp_path):
    _folder(tmp_path, {"f39": 39, "f300": 300})
    clips, _ = load_split(tmp_path, "train", min_frames=1, length_limit=None, crop_frames=None)
    assert [c.features.shape[0] for c in clips] == [39, 300]


# Each bad input: how to break the "bad" clip, and a fragment the reason must contain.
BAD_INPUTS = {
    "wrong_shape": (lambda r: np.save(r / "new_joint_vecs/bad.npy", _features(60)[:, :200]), "shape (60, 200)"),
    "joints_shape": (lambda r: np.save(r / "new_joint_vecs/bad.npy", np.zeros((60, 22, 3))), "expected features"),
    "nan": (lambda r: np.save(r / "new_joint_vecs/bad.npy", _nan_features()), "NaN values in 1 frame(s)"),
    "inf": (lambda r: np.save(r / "new_joint_vecs/bad.npy", _inf_features()), "inf values"),
    "empty_file": (lambda r: (r / "new_joint_vecs/bad.npy").write_bytes(b""), "empty file"),
    "not_npy": (lambda r: (r / "new_joint_vecs/bad.npy").write_bytes(b"hello"), "not a readable .npy"),
    "missing_features": (lambda r: (r / "new_joint_vecs/bad.npy").unlink(), "missing file"),
    "missing_captions": (lambda r: (r / "texts/bad.txt").unlink(), "missing caption file"),
    "non_utf8": (lambda r: (r / "texts/bad.txt").write_bytes(b"a man \xff walks#a/DET#0#0\n"), "not UTF-8"),
    "no_lines": (lambda r: (r / "texts/bad.txt").write_text("\n\n"), "no caption lines"),
}


def _nan_features() -> np.ndarray:
    x = _features(60)
    x[7, 3] = np.nan
    return x


def _inf_features() -> np.ndarray:
    x = _features(60)
    x[2, 0] = np.inf
    return x


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_clip_is_skipped_with_reason_or_raises_when_strict(tmp_path, case):
    _folder(tmp_path, {"good": 60, "bad": 60})
    breaker, fragment = BAD_INPUTS[case]
    breaker(tmp_path)

    clips, report = load_split(tmp_path, "train")
    assert [c.id for c in clips] == ["good"]
    assert list(report.skipped) == ["bad"]
    assert fragment in report.skipped["bad"]
    assert "bad." in report.skipped["bad"]  # names the file
    assert f"first: bad: {report.skipped['bad']}" in report.summary()  # so does the logged summary

    with pytest.raises(UserError, match="bad\\.") as err:
        load_split(tmp_path, "train", strict=True)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_bad_caption_lines_are_dropped_one_by_one(tmp_path):
    _folder(tmp_path, {"clip": 60})
    (tmp_path / "texts/clip.txt").write_text(
        "a person walks#a/DET person/NOUN walk/VERB#0.0#0.0\n"
        "no fields here\n"
        "a person runs#a/DET person/NOUN run/VERB#zero#0.0\n"
        "a person sits#a/DET personNOUN#0.0#0.0\n"
        "a person turns#turn/VERB#3.0#1.0\n"
        "a person hops#hop/VERB#nan#nan\n"
    )
    clips, report = load_split(tmp_path, "train")
    (clip,) = clips
    # The NaN span counts as the whole clip, like the original loaders.
    assert [c.text for c in clip.captions] == ["a person walks", "a person hops"]
    assert sorted(report.skipped) == ["clip:line2", "clip:line3", "clip:line4", "clip:line5"]
    assert "4 '#'-separated fields" in report.skipped["clip:line2"]
    assert "not numbers" in report.skipped["clip:line3"]
    assert "'personNOUN' is not 'word/POS'" in report.skipped["clip:line4"]
    assert "not after start" in report.skipped["clip:line5"]
    assert all("texts/clip.txt line" in r for r in report.skipped.values())

    with pytest.raises(UserError, match="clip.txt line 2"):
        load_split(tmp_path, "train", strict=True)


def test_missing_split_or_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="val.txt not found"):
        load_split(tmp_path, "val")
    with pytest.raises(UserError, match="not found"):
        load_split(tmp_path / "nope", "train")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"clip_id": "a/b"}, "clip id"),
        ({"features": np.zeros((10, 262), np.float32)}, "shape"),
        ({"features": np.full((10, 263), np.nan, np.float32)}, "NaN"),
        ({"captions": []}, "at least one caption"),
        ({"captions": [Caption.from_text("a # b")]}, "without '#'"),
        ({"captions": [Caption("walk", ("walk",), 0.0, 0.0)]}, "not 'word/POS'"),
        ({"captions": [Caption.from_text("walk", 3.0, 2.0)]}, "not after start"),
        ({"joints": np.zeros((11, 22, 3), np.float32)}, "must match"),
    ],
)
def test_writer_rejects_what_the_reader_could_not_read(tmp_path, kwargs, match):
    args = {"clip_id": "x", "features": _features(10), "captions": [Caption.from_text("walk")]} | kwargs
    with pytest.raises(UserError, match=match):
        write_clip(tmp_path, args.pop("clip_id"), **args)
    assert not (tmp_path / "new_joint_vecs").exists() or not list((tmp_path / "new_joint_vecs").iterdir())


def test_parse_real_humanml3d_line():
    line = "a man kicks something with his left leg.#a/DET man/NOUN kick/VERB something/PRON#0.0#0.0"
    caption = parse_caption_line(line)
    assert caption.text == "a man kicks something with his left leg."
    assert caption.tokens == ("a/DET", "man/NOUN", "kick/VERB", "something/PRON")
    assert caption.is_whole


def test_tagger_lemmatises_motion_verbs():
    assert tag_caption("A person runs, jumped and is stepping back.") == (
        "a/DET",
        "person/NOUN",
        "run/VERB",
        "jump/VERB",
        "and/CCONJ",
        "be/AUX",
        "step/VERB",
        "back/ADV",
    )
