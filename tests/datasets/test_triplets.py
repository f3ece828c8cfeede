"""Joining cot.jsonl with codes.jsonl, and the oracle CoT rows from plans.jsonl."""

import json

import pytest

from motion_r1_verl.datasets.triplets import Triplet, join_triplets, load_triplets, oracle_cot_rows, read_jsonl
from motion_r1_verl.errors import UserError


def _cot(clip_id, caption="a man walks", status="ok", think="He walks."):
    return {"id": clip_id, "caption": caption, "think": think, "plan": "1. walk", "status": status}


def test_join_keeps_order_and_counts_every_skip():
    cot = [
        _cot("b", "second clip"),
        _cot("a", "first clip"),
        _cot("a", "first clip, paraphrase"),
        _cot("c", status="failed"),  # CoT engine gave up
        _cot("d"),  # no codes row
        _cot("e"),  # empty codes
        _cot("a", think=""),  # no reasoning
    ]
    codes = [{"id": "a", "codes": [1, 2]}, {"id": "b", "codes": [3]}, {"id": "e", "codes": []}]
    triplets, report = join_triplets(cot, codes)
    assert [t.caption for t in triplets] == ["second clip", "first clip", "first clip, paraphrase"]
    assert triplets[1] == Triplet("a", "first clip", "He walks.", "1. walk", (1, 2))
    assert report.n_joined == 3
    assert dict(report.skipped) == {
        "CoT status not ok": 1,
        "no codes for the id": 1,
        "empty codes": 1,
        "missing caption or think": 1,
    }
    assert report.summary().startswith("3 triplets; skipped: 1 CoT status not ok")


def test_read_jsonl_names_the_bad_line(tmp_path):
    path = tmp_path / "cot.jsonl"
    path.write_text(json.dumps(_cot("a")) + "\n{not json\n")
    with pytest.raises(UserError, match=r"cot\.jsonl:2"):
        read_jsonl(path)
    path.write_text('{"no_id": 1}\n')
    with pytest.raises(UserError, match="'id'"):
        read_jsonl(path)
    with pytest.raises(UserError, match="not found"):
        read_jsonl(tmp_path / "missing.jsonl")


def test_load_triplets_from_files(tmp_path):
    (tmp_path / "cot.jsonl").write_text(json.dumps(_cot("7")) + "\n")
    (tmp_path / "codes.jsonl").write_text(json.dumps({"id": "7", "codes": [5, 6, 7]}) + "\n")
    triplets, _ = load_triplets(tmp_path / "cot.jsonl", tmp_path / "codes.jsonl")
    assert triplets[0].codes == (5, 6, 7)


def test_oracle_rows_one_per_caption(tmp_path):
    steps = [{"action": "walk", "direction": "forward", "count": 3, "start": 0, "end": 58}]
    (tmp_path / "plans.jsonl").write_text(json.dumps({"id": "000001", "length": 58, "steps": steps}) + "\n")
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "000001.txt").write_text("a person walks#x#0.0#0.0\nsomeone walks ahead#x#0.0#0.0\n")
    rows = oracle_cot_rows(tmp_path / "plans.jsonl", tmp_path)
    assert [r["caption"] for r in rows] == ["a person walks", "someone walks ahead"]
    assert rows[0]["plan"] == "1. walk forward 3 steps"
    assert rows[0]["source"] == "oracle" and rows[0]["status"] == "ok"
    assert "walk" in rows[0]["think"]


def test_codes_that_are_not_non_negative_integers_are_skipped_and_counted():
    codes = [{"id": k, "codes": v} for k, v in (("a", [1, 2.5]), ("b", ["3"]), ("c", [-1, 4]), ("d", "12"))]
    codes.append({"id": "e", "codes": [True, 1]})
    triplets, report = join_triplets([_cot(k) for k in "abcde"], codes)
    assert triplets == [] and report.skipped == {"codes not a list of non-negative integers": 5}


def test_codes_outside_the_codebook_are_skipped_and_counted():
    codes = [{"id": "a", "codes": [0, 31]}, {"id": "b", "codes": [3, 32]}, {"id": "c", "codes": [512]}]
    triplets, report = join_triplets([_cot(k) for k in "abc"], codes, codebook_size=32)
    assert [t.id for t in triplets] == ["a"]
    assert report.skipped == {"codes outside the codebook (0..31)": 2}
    assert len(join_triplets([_cot(k) for k in "abc"], codes)[0]) == 3  # no codebook given: not judged


def test_unreadable_rows_name_the_file_and_line(tmp_path):
    path = tmp_path / "cot.jsonl"
    path.write_bytes(json.dumps(_cot("a")).encode() + b"\n\xff\xfe{}\n")
    with pytest.raises(UserError, match=r"cot\.jsonl:2: not UTF-8"):
        read_jsonl(path)
    path.write_text("[" * 100_000 + "\n")
    with pytest.raises(UserError, match=r"cot\.jsonl:1: (JSON nested too deeply|not valid JSON)"):
        read_jsonl(path)


def test_plans_without_steps_or_unreadable_captions_are_named(tmp_path):
    (tmp_path / "plans.jsonl").write_text(json.dumps({"id": "000001", "length": 58}) + "\n")
    with pytest.raises(UserError, match=r"row 1 \(id 000001\): 'steps' must be"):
        oracle_cot_rows(tmp_path / "plans.jsonl", tmp_path)
    steps = [{"action": "walk", "direction": "forward", "count": 3, "start": 0, "end": 58}]
    (tmp_path / "plans.jsonl").write_text(json.dumps({"id": "000001", "length": 58, "steps": steps}) + "\n")
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "000001.txt").write_bytes(b"a person \xff walks#x#0.0#0.0\n")
    with pytest.raises(UserError, match=r"000001\.txt: not UTF-8"):
        oracle_cot_rows(tmp_path / "plans.jsonl", tmp_path)
