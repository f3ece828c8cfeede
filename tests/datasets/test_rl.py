"""RL rows: verl's layout, the SFT prompt, ground truth + caption for the reward, the SFT clip split,
and verl's own ``RLHFDataset`` reading the parquet."""

import json

import pandas as pd
import pytest
from omegaconf import OmegaConf
from transformers import AutoTokenizer

from motion_r1_verl.cli.main import main
from motion_r1_verl.datasets.rl import DATA_SOURCE, RLBuildConfig, build_rl_dataset, rl_row, split_rows
from motion_r1_verl.datasets.sft import SFTBuildConfig
from motion_r1_verl.datasets.sft import split_rows as sft_split_rows
from motion_r1_verl.datasets.triplets import Triplet
from motion_r1_verl.errors import UserError
from motion_r1_verl.protocol import SYSTEM_PROMPT, chat_prompt
from reward_fns.motion_r1 import parse_ground_truth
from tokenizer_ext.tiny_llm import make_tiny_llm


def _triplets(n_clips=6, captions=3):
    return [
        Triplet(f"{c:03d}", f"caption {k} of clip {c}", f"think {c}", f"1. step {c}", (c, c + 1, c + 2))
        for c in range(n_clips)
        for k in range(captions)
    ]


def test_row_layout_and_sft_prompt():
    row = rl_row(Triplet("007", "  a person   walks ", "He walks.", "1. walk", (4, 2)), "train", 5)
    assert row["data_source"] == DATA_SOURCE == "motion_r1"
    assert row["prompt"] == chat_prompt("a person walks") and row["prompt"][0]["content"] == SYSTEM_PROMPT
    assert row["reward_model"]["style"] == "rule"
    assert json.loads(row["reward_model"]["ground_truth"]) == {"id": "007", "codes": [4, 2]}
    assert row["extra_info"] == {"split": "train", "index": 5, "id": "007", "caption": "  a person   walks "}
    assert "He walks" not in json.dumps(row)  # the CoT is the policy's job in RL


def test_rl_prompts_match_the_sft_layout(tmp_path, capsys):
    """``dataset rl --reasoning think`` writes the prompt ``dataset sft --reasoning think`` trained on."""
    from motion_r1_verl.protocol import system_prompt_for

    cot = tmp_path / "cot.jsonl"
    codes = tmp_path / "codes.jsonl"
    rows = [
        {"id": f"{i:03d}", "caption": f"a person walks {i}", "think": "He walks.", "plan": "1. walk"} for i in range(6)
    ]
    cot.write_text("".join(json.dumps(r) + "\n" for r in rows))
    codes.write_text("".join(json.dumps({"id": r["id"], "codes": [1, 2, 3]}) + "\n" for r in rows))
    for reasoning in ("think", "think+output"):
        out = tmp_path / reasoning
        argv = ["dataset", "rl", "--cot", str(cot), "--codes", str(codes), "--out", str(out), "--val-fraction", "0"]
        assert main([*argv, "--reasoning", reasoning]) == 0
        prompt = pd.read_parquet(out / "train.parquet")["prompt"][0][0]["content"]
        assert prompt == system_prompt_for(reasoning)
    assert "<output>" not in system_prompt_for("think") and "<think>" in system_prompt_for("think")


def test_same_clips_held_out_as_sft():
    triplets = _triplets(n_clips=20)
    _, rl_val = split_rows(triplets, RLBuildConfig(val_fraction=0.2, seed=4))
    _, sft_val = sft_split_rows(triplets, SFTBuildConfig(val_fraction=0.2, seed=4))
    assert {r["extra_info"]["id"] for r in rl_val} == {r["id"] for r in sft_val}
    assert len({r["extra_info"]["id"] for r in rl_val}) == 4
    assert [r["extra_info"]["index"] for r in rl_val] == list(range(len(rl_val)))


def test_captions_per_clip_and_errors(tmp_path):
    train, _ = split_rows(_triplets(), RLBuildConfig(captions_per_clip=1))
    assert len(train) == 6
    with pytest.raises(UserError, match="^val_fraction"):
        RLBuildConfig(val_fraction=1.5)
    with pytest.raises(UserError, match="^captions_per_clip"):
        RLBuildConfig(captions_per_clip=0)
    with pytest.raises(UserError, match="no triplets"):
        build_rl_dataset([], tmp_path, RLBuildConfig())


def test_verl_rlhf_dataset_reads_our_parquet_and_the_reward_reads_its_ground_truth(tmp_path):
    from verl.utils.dataset.rl_dataset import RLHFDataset

    counts = build_rl_dataset(_triplets(), tmp_path / "rl", RLBuildConfig(val_fraction=0.2))
    assert counts == {"train": 15, "val": 3}
    frame = pd.read_parquet(tmp_path / "rl" / "train.parquet")
    assert list(frame.columns) == ["data_source", "prompt", "ability", "reward_model", "extra_info"]

    tok = AutoTokenizer.from_pretrained(make_tiny_llm(tmp_path / "tiny", ["caption of clip"]))
    config = OmegaConf.create({"max_prompt_length": 1024, "cache_dir": str(tmp_path / "cache")})
    dataset = RLHFDataset([str(tmp_path / "rl" / "train.parquet")], tok, config)
    item = dataset[0]
    assert item["data_source"] == "motion_r1"
    gt = parse_ground_truth(item["reward_model"]["ground_truth"], codebook_size=16)
    assert not isinstance(gt, str), gt
    assert gt.codes == tuple(json.loads(frame.iloc[0]["reward_model"]["ground_truth"])["codes"])
    assert item["extra_info"]["caption"] == frame.iloc[0]["extra_info"]["caption"]
    # verl 0.9.1 tokenises in the agent loop from the raw chat, which must be our SFT prompt
    assert list(item["raw_prompt"]) == chat_prompt(frame.iloc[0]["extra_info"]["caption"])
    assert item["index"] == frame.iloc[0]["extra_info"]["index"]


def test_build_rl_verb_from_plans(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "texts").mkdir(parents=True)
    (data / "texts" / "000001.txt").write_text("a person walks#a/DET#0.0#0.0\nsomeone walks#x#0.0#0.0\n")
    plans = tmp_path / "plans.jsonl"
    step = {"action": "walk", "side": None, "direction": "forward", "count": 3, "speed": "normal", "angle": None}
    plans.write_text(json.dumps({"id": "000001", "length": 60, "steps": [{**step, "start": 0, "end": 59}]}) + "\n")
    codes = tmp_path / "codes.jsonl"
    codes.write_text(json.dumps({"id": "000001", "codes": [1, 2, 3]}) + "\n")
    assert (
        main(
            [
                "dataset",
                "rl",
                "--plans",
                str(plans),
                "--data",
                str(data),
                "--codes",
                str(codes),
                "--out",
                str(tmp_path / "rl"),
            ]
        )
        == 0
    )
    assert "2 triplets" in capsys.readouterr().out
    assert len(pd.read_parquet(tmp_path / "rl" / "train.parquet")) == 2
    assert main(["dataset", "rl", "--plans", str(plans), "--codes", str(codes), "--out", str(tmp_path / "x")]) == 2


def test_val_split_by_name_one_caption_per_held_out_clip():
    config = RLBuildConfig(val_ids=frozenset({"001", "004"}), val_captions_per_clip=1)
    train, val = split_rows(_triplets(), config)
    assert sorted(r["extra_info"]["id"] for r in val) == ["001", "004"]  # one prompt per held-out motion
    assert len(train) == 4 * 3 and not {r["extra_info"]["id"] for r in train} & {"001", "004"}
    with pytest.raises(UserError, match="not both"):
        RLBuildConfig(val_ids=frozenset({"001"}), val_fraction=0.2)


def test_val_split_verb_and_no_stale_val_file(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "val.txt").write_text("002\n")
    cot = tmp_path / "cot.jsonl"
    cot.write_text("".join(json.dumps({"id": t.id, "caption": t.caption, "think": t.think, "plan": t.plan,
                                       "status": "ok"}) + "\n" for t in _triplets()))  # fmt: skip
    codes = tmp_path / "codes.jsonl"
    codes.write_text("".join(json.dumps({"id": f"{c:03d}", "codes": [1, 2, 3]}) + "\n" for c in range(6)))
    out = tmp_path / "rl"
    args = ["dataset", "rl", "--cot", str(cot), "--codes", str(codes), "--out", str(out)]
    assert main([*args, "--val-split", "val", "--data", str(data), "--val-captions-per-clip", "1"]) == 0
    val = pd.read_parquet(out / "val.parquet")
    assert [info["id"] for info in val["extra_info"]] == ["002"]
    # Rebuilt without a validation split: the old val.parquet would overlap the new train rows.
    assert main(args) == 0
    assert not (out / "val.parquet").exists() and len(pd.read_parquet(out / "train.parquet")) == 18
    capsys.readouterr()
    assert main([*args, "--val-split", "val"]) == 2
    assert "--val-split needs --data" in capsys.readouterr().err
