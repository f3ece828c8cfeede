"""``extend_vocab`` on the tiny Qwen2 model: ids, embedding shapes, tying, initialisation, files."""

import json

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from motion_r1_verl.errors import UserError
from motion_r1_verl.protocol import REASONING_TAGS, motion_token
from tokenizer_ext import ExtendConfig, MotionVocab, extend_vocab, run_checks
from tokenizer_ext.extend import padded_rows

K = 40


def _load(folder):
    return AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)


def test_mean_init_tied(tiny_llm, tmp_path):
    base_model, base_tok = _load(tiny_llm)
    info = extend_vocab(ExtendConfig(base=str(tiny_llm), codebook_size=K, out=tmp_path / "ext", pad_to_multiple_of=64))
    model, tok = _load(tmp_path / "ext")

    # Motion tokens come right after the base vocabulary, contiguous, then the reasoning tags.
    assert tok.convert_tokens_to_ids("<Motion>") == len(base_tok)
    assert info.first_code_id == len(base_tok) + 2
    assert len(tok) == len(base_tok) + K + 2 + len(REASONING_TAGS)
    rows = model.get_input_embeddings().weight.shape[0]
    assert rows == info.embedding_rows and rows % 64 == 0 and rows >= len(tok)
    assert model.get_output_embeddings().weight.shape[0] == rows
    assert model.config.vocab_size == rows

    # Still tied after a save/load round trip (the tiny model ties like Qwen2.5 <= 3B).
    assert info.tied_embeddings
    assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()

    # Old rows untouched; new rows near the mean of the old ones, and distinct from each other.
    old = base_model.get_input_embeddings().weight[: len(base_tok)]
    emb = model.get_input_embeddings().weight.detach()
    torch.testing.assert_close(emb[: len(base_tok)], old)
    new = emb[len(base_tok) : len(tok)]
    mean = old.mean(0)
    assert (new - mean).norm(dim=1).max() < 0.5 * (old - mean).norm(dim=1).mean()
    assert torch.cdist(new, new).fill_diagonal_(1.0).min() > 0

    saved = json.loads((tmp_path / "ext" / "motion_vocab.json").read_text())
    assert saved["codebook_size"] == K and saved["base_model"] == str(tiny_llm)
    assert saved["tokens"]["<Motion_7>"] == tok.convert_tokens_to_ids("<Motion_7>")
    assert saved["tokens"]["</think>"] == tok.convert_tokens_to_ids("</think>") and len(saved["tokens"]) == K + 6
    assert MotionVocab.load(tmp_path / "ext").code_to_id(K - 1) == tok.convert_tokens_to_ids(motion_token(K - 1))
    assert run_checks(tok, K, rows)[-1] == "embedding_covers"


def test_untie_embeddings(tiny_llm, tmp_path):
    base_model, base_tok = _load(tiny_llm)
    info = extend_vocab(
        ExtendConfig(base=str(tiny_llm), codebook_size=K, out=tmp_path / "ext", untie_embeddings=True, seed=1)
    )
    model, tok = _load(tmp_path / "ext")
    assert not info.tied_embeddings and model.config.tie_word_embeddings is False
    inp, out = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    assert inp.data_ptr() != out.data_ptr()
    # The output layer starts as a copy of the shared matrix, then gets its own new rows.
    old = base_model.get_input_embeddings().weight[: len(base_tok)]
    torch.testing.assert_close(out[: len(base_tok)], old)
    assert not torch.equal(inp[len(base_tok) : len(tok)], out[len(base_tok) : len(tok)])
    # Untied means training one does not move the other.
    with torch.no_grad():
        out[0] += 1.0
    torch.testing.assert_close(inp[0], old[0])


def test_codebook_init_keeps_code_geometry(tiny_llm, tmp_path):
    rng = np.random.default_rng(0)
    codebook = rng.normal(size=(K, 16)).astype(np.float32)
    np.save(tmp_path / "codebook.npy", codebook)
    info = extend_vocab(
        ExtendConfig(
            base=str(tiny_llm),
            codebook_size=K,
            out=tmp_path / "ext",
            init="codebook",
            codec=str(tmp_path / "codebook.npy"),
        )
    )
    model, _ = _load(tmp_path / "ext")
    rows = model.get_input_embeddings().weight.detach()[info.first_code_id : info.first_code_id + K]
    d_code = torch.pdist(torch.from_numpy(codebook))
    d_emb = torch.pdist(rows)
    # A random projection keeps pairwise distances up to a scale: strongly correlated.
    corr = torch.corrcoef(torch.stack([d_code, d_emb]))[0, 1]
    assert corr > 0.8
    # Recorded absolute, so the model folder works from any working directory.
    recorded = json.loads((tmp_path / "ext" / "motion_vocab.json").read_text())["codec_checkpoint"]
    assert recorded == str((tmp_path / "codebook.npy").resolve())


def test_padded_rows():
    assert padded_rows(151665 + 518, 151936, 128) == 152192  # Qwen2.5 + K=512 motion tokens + tags
    assert padded_rows(100, 64, 64) == 128
    assert padded_rows(100, 500, 64) == 500  # never shrinks


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"codebook_size": 0}, "^codebook_size"),
        ({"init": "zeros"}, "^init must be one of"),
        ({"init": "codebook"}, "^codec is required"),
        ({"pad_to_multiple_of": 0}, "^pad_to_multiple_of"),
    ],
)
def test_config_rejects_bad_values(tmp_path, kwargs, message):
    base = {"base": "x", "codebook_size": 8, "out": tmp_path / "o"} | kwargs
    with pytest.raises(UserError, match=message):
        ExtendConfig(**base)


def test_existing_output_needs_overwrite(tiny_llm, tmp_path):
    (tmp_path / "ext").mkdir()
    with pytest.raises(UserError, match="already exists"):
        ExtendConfig(base=str(tiny_llm), codebook_size=K, out=tmp_path / "ext")


def test_partially_extended_base_rejected(tiny_llm, tmp_path):
    extend_vocab(ExtendConfig(base=str(tiny_llm), codebook_size=8, out=tmp_path / "ext8"))
    with pytest.raises(UserError, match="already has 10 of the 18 motion tokens"):
        extend_vocab(ExtendConfig(base=str(tmp_path / "ext8"), codebook_size=16, out=tmp_path / "ext16"))


def test_load_codebook_from_a_vq_checkpoint_folder(tmp_path):
    from safetensors.torch import save_file

    from tokenizer_ext.extend import load_codebook

    codebook = torch.randn(K, 8)
    # Shaped like motion_r1_verl.vq's quantizer buffers: the EMA sums have the same shape.
    save_file({"quantizer.code_sum": torch.zeros(K, 8), "quantizer.codebook": codebook}, tmp_path / "model.safetensors")
    torch.testing.assert_close(load_codebook(tmp_path, K), codebook)
    with pytest.raises(UserError, match="with 7 rows"):
        load_codebook(tmp_path, 7)
    with pytest.raises(UserError, match="not found"):
        load_codebook(tmp_path / "missing", K)
