"""The checks against the REAL Qwen2.5 vocabulary (../shared/data/qwen2.5_tokenizer).

Qwen2.5-Instruct: 151,643 BPE entries + 22 added tokens (151643-151664), 151,936 embedding rows.
With K = 512 the motion tokens must start at 151665 and the resized embedding must cover them.
"""

from transformers import AutoModelForCausalLM, AutoTokenizer

from motion_r1_verl.protocol import codes_to_text
from tokenizer_ext import ExtendConfig, extend_vocab, run_checks
from tokenizer_ext.tokens import add_motion_tokens

K = 512
FIRST_NEW_ID = 151665


def test_qwen_tokenizer_is_the_real_one(qwen_base):
    tok = AutoTokenizer.from_pretrained(qwen_base)
    assert len(tok) == FIRST_NEW_ID
    assert tok.convert_ids_to_tokens([151643, 151644, 151645, 151664]) == [
        "<|endoftext|>",
        "<|im_start|>",
        "<|im_end|>",
        "<|file_sep|>",
    ]
    # Known Qwen2 ids: "Hello" 9707, " world" 1879.
    assert tok.encode("Hello world", add_special_tokens=False) == [9707, 1879]


def test_checks_pass_on_extended_qwen_vocab(qwen_base):
    tok = AutoTokenizer.from_pretrained(qwen_base)
    add_motion_tokens(tok, K)
    assert tok.convert_tokens_to_ids(["<Motion>", "</Motion>", "<Motion_0>", "<Motion_511>"]) == [
        FIRST_NEW_ID,
        FIRST_NEW_ID + 1,
        FIRST_NEW_ID + 2,
        FIRST_NEW_ID + 2 + 511,
    ]
    assert len(tok) == FIRST_NEW_ID + K + 2 + 4  # codes, <Motion>, </Motion>, 4 reasoning tags
    run_checks(tok, K, embedding_rows=152192)
    # Motion text glued to ordinary words does not merge into BPE pieces.
    ids = tok.encode("walk" + codes_to_text([7, 8]) + "done", add_special_tokens=False)
    assert ids[1:5] == [FIRST_NEW_ID, FIRST_NEW_ID + 2 + 7, FIRST_NEW_ID + 2 + 8, FIRST_NEW_ID + 1]


def test_extend_vocab_on_a_qwen_shaped_model(qwen_base, tmp_path):
    info = extend_vocab(ExtendConfig(base=str(qwen_base), codebook_size=K, out=tmp_path / "ext"))
    assert info.motion_start_id == FIRST_NEW_ID and info.first_code_id == FIRST_NEW_ID + 2
    # 151665 + 518 = 152183 tokens > 151936 rows: grows to the next multiple of 128.
    assert info.embedding_rows == 152192 and info.tied_embeddings
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "ext")
    tok = AutoTokenizer.from_pretrained(tmp_path / "ext")
    assert model.get_input_embeddings().weight.shape[0] == 152192
    assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    assert run_checks(tok, K, 152192)[-1] == "embedding_covers"
