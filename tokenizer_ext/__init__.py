"""Extend any Hugging Face causal LM with Motion-R1's motion vocabulary.

``extend_vocab`` adds ``<Motion>``, ``</Motion>``, ``<Motion_0..K-1>`` and the reasoning tags as
NON-special tokens, resizes the input and output embeddings (padded to a multiple), initialises the
new rows and writes an HF folder plus ``motion_vocab.json``. ``checks`` verifies the result;
``make_tiny_llm`` builds a small random Qwen2-architecture model for CPU tests.

CLI: ``motion-r1 llm extend-vocab --base DIR --codebook-size 512 --out DIR``.
"""

from tokenizer_ext.checks import VocabCheckError, run_checks
from tokenizer_ext.extend import ExtendConfig, MotionVocab, extend_vocab

__all__ = ["ExtendConfig", "MotionVocab", "VocabCheckError", "extend_vocab", "run_checks"]
