"""``make_tiny_llm``: architecture, tokenizer trained on the given texts, ChatML template."""

import json

import pytest
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from motion_r1_verl.errors import UserError
from motion_r1_verl.protocol import SYSTEM_PROMPT
from tokenizer_ext.tiny_llm import TinyLLMConfig, collect_texts, train_tokenizer


def test_architecture_is_vllm_cpu_friendly(tiny_llm):
    config = AutoConfig.from_pretrained(tiny_llm)
    assert config.model_type == "qwen2"
    assert (config.hidden_size, config.num_attention_heads, config.num_key_value_heads) == (128, 2, 1)
    assert config.head_dim == 64  # vLLM-CPU rejects 16
    assert config.tie_word_embeddings
    model = AutoModelForCausalLM.from_pretrained(tiny_llm)
    assert sum(p.numel() for p in model.parameters()) < 1_000_000


def test_chatml_template_and_eos(tiny_llm):
    tok = AutoTokenizer.from_pretrained(tiny_llm)
    text = tok.apply_chat_template(
        [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert text == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    assert len(tok.encode("<|im_start|>", add_special_tokens=False)) == 1


def test_tokenizer_learns_the_given_texts():
    texts = ["the zyxwvut dances slowly"] * 50
    tok = train_tokenizer(texts, vocab_size=400)
    # A word seen 50 times becomes (nearly) one token; byte-level BPE still encodes anything.
    assert len(tok.encode(" zyxwvut", add_special_tokens=False)) <= 2
    assert tok.decode(tok.encode("ünïcode ✓", add_special_tokens=False)) == "ünïcode ✓"


def test_collect_texts_reads_captions_and_cot(tmp_path):
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "000001.txt").write_text("a man walks#a/DET man/NOUN#0.0#0.0\nsomeone strolls#x#0.0#0.0\n")
    (tmp_path / "cot.jsonl").write_text(json.dumps({"id": "000001", "caption": "c", "think": "T", "plan": "P"}) + "\n")
    # The system prompt is counted once per caption: it precedes every caption in every row.
    assert collect_texts(tmp_path) == ["a man walks", SYSTEM_PROMPT, "someone strolls", SYSTEM_PROMPT, "T", "P"]
    assert collect_texts(None) == []
    with pytest.raises(UserError):
        collect_texts(tmp_path / "missing")
    # An explicit --cot file (the quickstart writes cot.jsonl next to, not inside, the data folder).
    other = tmp_path / "elsewhere.jsonl"
    other.write_text(json.dumps({"think": "T2", "plan": "P2"}) + "\n\n")
    assert collect_texts(None, other) == ["T2", "P2"]
    assert collect_texts(tmp_path, other)[-2:] == ["T2", "P2"]
    with pytest.raises(UserError, match="^cot .* not found"):
        collect_texts(None, tmp_path / "nope.jsonl")
    other.write_text("{not json\n")
    with pytest.raises(UserError, match="elsewhere.jsonl:1"):
        collect_texts(None, other)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"hidden_size": 100}, "hidden_size"), ({"num_key_value_heads": 3}, "divide"), ({"vocab_size": 10}, "vocab")],
)
def test_config_checks(kwargs, message):
    with pytest.raises(UserError, match=message):
        TinyLLMConfig(**kwargs)
