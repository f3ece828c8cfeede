"""Fixtures: a tiny random Qwen2 LM (built once per session) and the real Qwen2.5 tokenizer."""

import sys
from pathlib import Path

# This folder is named like the package it tests. Run as `.venv/bin/pytest` (no repo root on sys.path),
# `import tokenizer_ext` would resolve to this folder as a namespace package; a regular package on
# sys.path always wins over a namespace one, so putting the repo root there restores the real package.
_REPO_ROOT = str(Path(__file__).resolve().parents[2])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)
if getattr(sys.modules.get("tokenizer_ext"), "__file__", "") is None:
    del sys.modules["tokenizer_ext"]

import pytest  # noqa: E402
import torch  # noqa: E402
from transformers import Qwen2Config, Qwen2ForCausalLM  # noqa: E402

from tokenizer_ext.qwen25 import QWEN25_EMBEDDING_ROWS, build_qwen25_tokenizer  # noqa: E402
from tokenizer_ext.tiny_llm import make_tiny_llm  # noqa: E402

CAPTIONS = [
    "a person walks forward three steps and turns left",
    "someone waves the right hand twice",
    "a man jumps up and down",
]


@pytest.fixture(scope="session")
def tiny_llm(tmp_path_factory) -> Path:
    return make_tiny_llm(tmp_path_factory.mktemp("tiny") / "tiny-llm", CAPTIONS)


@pytest.fixture(scope="session")
def qwen_base(shared_data, tmp_path_factory) -> Path:
    """An HF folder: Qwen2.5-Instruct's tokenizer rebuilt from the real vocab.json + merges.txt, and a
    1-layer random Qwen2 (hidden 16, ~10 MB) with Qwen2.5's 151,936 tied embedding rows."""
    folder = tmp_path_factory.mktemp("qwen") / "qwen-shaped"
    build_qwen25_tokenizer(shared_data / "qwen2.5_tokenizer").save_pretrained(folder)
    config = Qwen2Config(
        vocab_size=QWEN25_EMBEDDING_ROWS,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(folder)
    return folder
