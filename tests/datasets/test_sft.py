"""SFT rows: message layout, paraphrase handling, clip-level split, and that verl's own
``MultiTurnSFTDataset`` reads the parquet with the loss on the assistant's motion tokens only."""

import pandas as pd
import pytest
from omegaconf import OmegaConf
from transformers import AutoTokenizer

from motion_r1_verl.datasets.sft import SFTBuildConfig, build_sft_dataset, sft_messages, split_rows
from motion_r1_verl.datasets.triplets import Triplet
from motion_r1_verl.errors import UserError
from motion_r1_verl.protocol import REASONING_TAGS, SYSTEM_PROMPT, system_prompt_for
from tokenizer_ext.tiny_llm import make_tiny_llm
from tokenizer_ext.tokens import add_motion_tokens


def _triplets(n_clips=6, captions=3):
    return [
        Triplet(f"{c:03d}", f"caption {k} of clip {c}", f"think {c}", f"1. step {c}", (c, c + 1, c + 2))
        for c in range(n_clips)
        for k in range(captions)
    ]


def test_messages_layout():
    t = Triplet("1", "  a person   walks ", "He walks.", "1. walk", (4, 2))
    msgs = sft_messages(t)
    assert [m["role"] for m in msgs] == ["system", "user", "assistant"]
    assert msgs[0]["content"] == SYSTEM_PROMPT
    assert msgs[1]["content"] == "a person walks"
    assert msgs[2]["content"] == "<think>He walks.</think><output>1. walk</output><Motion><Motion_4><Motion_2></Motion>"
    assert "<output>" not in sft_messages(t, with_output=False)[2]["content"]


@pytest.mark.parametrize(
    ("reasoning", "expected"),
    [
        ("think+output", "<think>He walks.</think><output>1. walk</output><Motion><Motion_4><Motion_2></Motion>"),
        ("think", "<think>He walks.</think><Motion><Motion_4><Motion_2></Motion>"),
        ("none", "<Motion><Motion_4><Motion_2></Motion>"),
    ],
)
def test_reasoning_variants_of_the_response(reasoning, expected, tmp_path):
    triplet = Triplet("1", "a person walks", "He walks.", "1. walk", (4, 2))
    config = SFTBuildConfig.for_reasoning(reasoning)
    build_sft_dataset([triplet], tmp_path, config)
    (row,) = pd.read_parquet(tmp_path / "train.parquet")["messages"]
    assert row[-1]["content"] == expected
    # The system prompt asks for exactly the blocks the response holds.
    prompt = row[0]["content"]
    assert prompt == system_prompt_for(reasoning)
    for tag in ("<think>", "<output>"):
        assert (tag in prompt) == (tag in expected), (reasoning, tag)
    assert "<Motion>" in prompt and (reasoning != "think+output" or prompt == SYSTEM_PROMPT)


def test_unknown_reasoning_is_a_user_error():
    with pytest.raises(UserError, match="think\\+output, think, none"):
        SFTBuildConfig.for_reasoning("cot")


def test_system_prompt_states_every_tag():
    for tag in (*REASONING_TAGS, "<Motion>", "</Motion>"):
        assert tag in SYSTEM_PROMPT


def test_all_paraphrases_by_default_and_sampling():
    train, val = split_rows(_triplets(), SFTBuildConfig())
    assert len(train) == 18 and val == []
    train, _ = split_rows(_triplets(), SFTBuildConfig(captions_per_clip=1, seed=3))
    assert len(train) == 6 and len({r["id"] for r in train}) == 6


def test_val_split_is_by_clip():
    train, val = split_rows(_triplets(n_clips=10), SFTBuildConfig(val_fraction=0.2))
    train_ids, val_ids = {r["id"] for r in train}, {r["id"] for r in val}
    assert len(val_ids) == 2 and not train_ids & val_ids
    assert len(val) == 6  # all three paraphrases of each held-out clip
    assert split_rows(_triplets(n_clips=10), SFTBuildConfig(val_fraction=0.2))[1] == val  # seeded


def test_config_and_empty_input_errors(tmp_path):
    with pytest.raises(UserError, match="^val_fraction"):
        SFTBuildConfig(val_fraction=1.0)
    with pytest.raises(UserError, match="^captions_per_clip"):
        SFTBuildConfig(captions_per_clip=0)
    with pytest.raises(UserError, match="no triplets"):
        build_sft_dataset([], tmp_path, SFTBuildConfig())


def test_verl_dataset_reads_our_parquet(tmp_path):
    from verl.utils.dataset.multiturn_sft_dataset import MultiTurnSFTDataset

    counts = build_sft_dataset(_triplets(), tmp_path / "sft", SFTBuildConfig(val_fraction=0.2))
    assert counts == {"train": 15, "val": 3}
    assert list(pd.read_parquet(tmp_path / "sft" / "train.parquet").columns) == ["messages", "id"]

    tok_dir = make_tiny_llm(tmp_path / "tiny", ["caption of clip", "think step"])
    tok = AutoTokenizer.from_pretrained(tok_dir)
    add_motion_tokens(tok, 16)
    config = OmegaConf.create({"max_length": 512, "truncation": "error", "pad_mode": "no_padding"})
    dataset = MultiTurnSFTDataset([str(tmp_path / "sft" / "train.parquet")], tok, config)
    item = dataset[0]
    ids, mask = item["input_ids"].tolist(), item["loss_mask"].tolist()
    trained = tok.decode([i for i, m in zip(ids, mask, strict=True) if m])
    row = pd.read_parquet(tmp_path / "sft" / "train.parquet").iloc[0]
    expected = row["messages"][2]["content"]
    # The loss covers exactly the assistant answer (+ its end-of-turn), never the system/user turns.
    assert trained.startswith(expected) and SYSTEM_PROMPT not in trained
    assert trained[len(expected) :].strip() in {"<|im_end|>", "<|im_end|>\n"}
    # Motion tokens are single trained ids, not BPE pieces.
    motion_ids = set(tok.convert_tokens_to_ids(["<Motion>", "</Motion>"]))
    assert motion_ids <= {i for i, m in zip(ids, mask, strict=True) if m}
