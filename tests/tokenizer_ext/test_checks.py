"""Each vocabulary check catches the defect it exists for, and passes on a correct extension."""

import pytest
from tokenizers import AddedToken
from transformers import AutoTokenizer

from motion_r1_verl.protocol import motion_tokens
from tokenizer_ext.checks import (
    VocabCheckError,
    check_contiguous_motion_ids,
    check_embedding_covers,
    check_not_special,
    check_roundtrip,
    check_single_ids,
    run_checks,
)
from tokenizer_ext.tokens import add_motion_tokens

K = 16


@pytest.fixture
def tok(tiny_llm):
    return AutoTokenizer.from_pretrained(tiny_llm)


def test_correct_extension_passes(tok):
    add_motion_tokens(tok, K)
    assert run_checks(tok, K, len(tok)) == [
        "single_ids",
        "not_special",
        "roundtrip",
        "contiguous_motion_ids",
        "chat_template",
        "embedding_covers",
    ]


def test_unextended_tokenizer_fails_single_ids(tok):
    # Without the added tokens "<Motion_3>" is split into several BPE pieces.
    with pytest.raises(VocabCheckError, match="encodes to"):
        check_single_ids(tok, K)


def test_special_tokens_fail_not_special(tok):
    # Added as SPECIAL tokens, skip_special_tokens=True (verl's decode) would erase the motion.
    tok.add_tokens([AddedToken(t, special=True, normalized=False) for t in motion_tokens(K)], special_tokens=True)
    add_motion_tokens(tok, K)  # adds only the reasoning tags now
    with pytest.raises(VocabCheckError, match="skip_special_tokens"):
        check_not_special(tok, K)


def test_too_few_embedding_rows(tok):
    add_motion_tokens(tok, K)
    with pytest.raises(VocabCheckError, match="rows"):
        check_embedding_covers(tok, len(tok) - 1)


def test_non_contiguous_ids(tok):
    tok.add_tokens([AddedToken("<Motion_1>", normalized=False, special=False)])  # out of order
    tok.add_tokens([AddedToken(t, normalized=False, special=False) for t in motion_tokens(K) if t != "<Motion_1>"])
    with pytest.raises(VocabCheckError, match="contiguous"):
        check_contiguous_motion_ids(tok, K)


def test_roundtrip_detects_a_mismatch(tok):
    add_motion_tokens(tok, K)
    check_roundtrip(tok, [3, 1, 15])
    # A code beyond the vocabulary is not one token: the check must notice.
    with pytest.raises(VocabCheckError):
        check_roundtrip(tok, [3, K + 5])


def test_partial_motion_vocab_rejected(tok):
    from motion_r1_verl.errors import UserError

    tok.add_tokens([AddedToken("<Motion>", normalized=False, special=False)])
    with pytest.raises(UserError, match="already has 1"):
        add_motion_tokens(tok, K)
