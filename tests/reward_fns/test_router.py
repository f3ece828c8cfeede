"""Mixed verl data: our RL parquet concatenates with a gsm8k-style parquet in verl's RLHFDataset, and the
router scores each row with the right reward and the same keys."""

import asyncio
import json

import pandas as pd
import pytest
from omegaconf import OmegaConf
from transformers import AutoTokenizer

from motion_r1_verl.datasets.rl import DATA_SOURCE, RLBuildConfig, build_rl_dataset
from motion_r1_verl.datasets.triplets import Triplet
from motion_r1_verl.protocol import format_response
from reward_fns import motion_r1, router
from tokenizer_ext.tiny_llm import make_tiny_llm

GSM8K_ROWS = [
    {
        "data_source": "openai/gsm8k",
        "prompt": [
            {
                "role": "user",
                "content": f'What is {a} + {b}? Let\'s think step by step and output the final answer after "####".',
            }
        ],
        "ability": "math",
        "reward_model": {"style": "rule", "ground_truth": str(a + b)},
        "extra_info": {"split": "train", "index": i, "answer": f"#### {a + b}", "question": f"What is {a} + {b}?"},
    }
    for i, (a, b) in enumerate([(3, 4), (10, 32), (7, 8)])
]


def _mixed_files(tmp_path):
    triplets = [Triplet(f"{i:06d}", f"a person does a walk {i}", "He walks.", "1. walk", tuple(range(3, 15)))
                for i in range(4)]  # fmt: skip
    build_rl_dataset(triplets, tmp_path / "rl", RLBuildConfig(val_fraction=0))
    pd.DataFrame(GSM8K_ROWS).to_parquet(tmp_path / "gsm8k.parquet")
    return [str(tmp_path / "rl" / "train.parquet"), str(tmp_path / "gsm8k.parquet")]


def test_our_parquet_concatenates_with_verl_datasets(tmp_path):
    from verl.utils.dataset.rl_dataset import RLHFDataset

    files = _mixed_files(tmp_path)
    tok = AutoTokenizer.from_pretrained(make_tiny_llm(tmp_path / "tiny", ["a person does a walk"]))
    config = OmegaConf.create({"max_prompt_length": 1024, "cache_dir": str(tmp_path / "cache")})
    dataset = RLHFDataset(files, tok, config)
    sources = [dataset[i]["data_source"] for i in range(len(dataset))]
    assert sources.count(DATA_SOURCE) == 4 and sources.count("openai/gsm8k") == 3
    motion_gt = next(dataset[i] for i in range(len(dataset)) if sources[i] == DATA_SOURCE)["reward_model"]
    assert json.loads(motion_gt["ground_truth"])["codes"] == list(range(3, 15))


@pytest.mark.parametrize("asynchronous", [False, True])
def test_router_scores_each_data_source_with_its_reward(reward_kwargs, asynchronous):
    def score(*args, **kwargs):
        if asynchronous:
            return asyncio.run(router.compute_score_async(*args, **kwargs))
        return router.compute_score(*args, **kwargs)

    gt = json.dumps({"id": "000001", "codes": list(range(3, 15))})
    caption = {"caption": "a person does a walk"}
    text = format_response("the person walks", "1. walk", list(range(3, 15)))
    ours = score(DATA_SOURCE, text, gt, caption, **reward_kwargs)
    assert ours == motion_r1.compute_score(DATA_SOURCE, text, gt, caption, **reward_kwargs)
    assert ours["reason"] == "ok" and ours["score"] > 2.0

    right = score("openai/gsm8k", "3 plus 4 is 7.\n#### 7", "7", GSM8K_ROWS[0]["extra_info"], **reward_kwargs)
    wrong = score("openai/gsm8k", "3 plus 4 is 8.\n#### 8", "7", GSM8K_ROWS[0]["extra_info"], **reward_kwargs)
    assert right["score"] == 1.0 and wrong["score"] == 0.0
    assert right["reason"] == router.OTHER_REASON and right["motion"] == 0.0
    assert set(right) == set(wrong) == set(ours)  # verl gathers reward_extra_info key by key over a batch
