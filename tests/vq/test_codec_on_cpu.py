"""MotionCodec and the decode hook on a tiny trained checkpoint: batching, lengths, save/load, text."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motion_r1_verl.errors import UserError
from motion_r1_verl.vq import hook
from motion_r1_verl.vq.checkpoint import load_checkpoint, save_checkpoint
from motion_r1_verl.vq.codec import MotionCodec

from .conftest import smooth_features


@pytest.fixture(scope="module")
def codec(tiny_checkpoint) -> MotionCodec:
    return MotionCodec.from_pretrained(tiny_checkpoint, device="cpu", batch_size=4)


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [smooth_features(rng, n) for n in (40, 57, 96, 4, 81, 120, 63)]


def test_encode_shapes_and_trim_policy(codec, clips):
    codes = codec.encode(clips)
    assert [c.shape for c in codes] == [(n // 4,) for n in (40, 57, 96, 4, 81, 120, 63)]
    assert all(c.dtype == np.int64 and c.min() >= 0 and c.max() < codec.codebook_size for c in codes)
    assert codec.codebook_size == 32 and codec.frames_per_code == 4


def test_tail_policies(codec, clips):
    clip = clips[1]  # 57 frames = 14 codes + 1 frame
    trimmed = codec.encode([clip], tail="trim")[0]
    padded = codec.encode([clip], tail="pad")[0]
    assert trimmed.shape == (14,) and padded.shape == (15,)
    # "trim" is exactly encoding the first 56 frames
    assert np.array_equal(trimmed, codec.encode([clip[:56]])[0])
    with pytest.raises(UserError, match="not a positive multiple of 4"):
        codec.encode([clip], tail="error")
    with pytest.raises(UserError, match="fewer than one code"):
        codec.encode([clip[:3]])
    assert codec.encode([clip[:3]], tail="pad")[0].shape == (1,)


def test_batched_equals_one_at_a_time(codec, clips):
    batched = codec.encode(clips)
    single = [codec.encode([c])[0] for c in clips]
    for a, b in zip(batched, single, strict=True):
        assert np.array_equal(a, b)
    dec_batched = codec.decode(batched)
    dec_single = [codec.decode([c])[0] for c in batched]
    for a, b, c in zip(dec_batched, dec_single, batched, strict=True):
        assert a.shape == (4 * len(c), 263) and a.dtype == np.float32
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)


def test_padded_batch_with_lengths_equals_list(codec, clips):
    lengths = [c.shape[0] for c in clips]
    padded = np.full((len(clips), max(lengths), 263), 99.0, dtype=np.float32)
    for i, c in enumerate(clips):
        padded[i, : len(c)] = c
    from_padded = codec.encode(padded, lengths)
    from_tensor = codec.encode(torch.from_numpy(padded), lengths)
    for a, b, c in zip(from_padded, from_tensor, codec.encode(clips), strict=True):
        assert np.array_equal(a, c) and np.array_equal(b, c)
    with pytest.raises(UserError, match="needs `lengths`"):
        codec.encode(padded)


def test_decode_edge_cases(codec):
    out = codec.decode([np.zeros(0, dtype=np.int64), [1, 2, 3]])
    assert out[0].shape == (0, 263) and out[1].shape == (12, 263)
    with pytest.raises(UserError, match="ids must be in 0..31"):
        codec.decode([[0, 32]])
    assert codec.decode([]) == []


def test_codec_normalises_in_and_denormalises_out(codec, clips):
    clip = clips[2]
    codes = codec.encode([clip])[0]
    by_hand = codec.model.encode(codec.normalizer(torch.from_numpy(clip))[None])[0].numpy()
    assert np.array_equal(codes, by_hand)
    recon = codec.decode([codes])[0]
    normalised = codec.model.decode(torch.from_numpy(codes)[None])[0]
    np.testing.assert_allclose(recon, codec.normalizer.inverse(normalised).numpy(), atol=1e-5)


def test_save_load_equality(codec, clips, tmp_path):
    model, config, normalizer = load_checkpoint(codec.path)
    copy = save_checkpoint(tmp_path / "copy", model, config, normalizer)
    again = MotionCodec.from_pretrained(copy, device="cpu")
    for (k, v), (k2, v2) in zip(model.state_dict().items(), again.model.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2)
    assert again.config == codec.config
    np.testing.assert_array_equal(again.normalizer.std, codec.normalizer.std)
    for a, b in zip(again.encode(clips), codec.encode(clips), strict=True):
        assert np.array_equal(a, b)
    assert sorted(p.name for p in copy.iterdir()) == ["Mean.npy", "Std.npy", "config.json", "model.safetensors"]


def test_load_errors_name_the_problem(tmp_path):
    with pytest.raises(UserError, match="missing config.json"):
        MotionCodec.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        MotionCodec.from_pretrained(tmp_path)


def test_text_round_trip(codec):
    text = codec.tokens_to_text(np.array([3, 0, 31]))
    assert text == "<Motion><Motion_3><Motion_0><Motion_31></Motion>"
    result = codec.text_to_codes("<think>x</think>" + text)
    assert result.parse_ok and result.codes.tolist() == [3, 0, 31]
    bad = codec.text_to_codes("<Motion><Motion_32></Motion>")
    assert not bad.parse_ok and "out-of-range" in bad.parse_reason


def test_decode_hook(tiny_checkpoint, codec, clips):
    hook.clear_cache()
    codes = codec.encode([clips[0]])[0]
    texts = ["garbage", "<output>plan</output>" + codec.tokens_to_text(codes), "<Motion></Motion>"]
    results = hook.decode_texts(texts, tiny_checkpoint, device="cpu")
    assert [r.valid for r in results] == [False, True, False]
    assert results[0].features is None and results[0].joints is None and "no <Motion>" in results[0].reason
    ok = results[1]
    assert ok.codes.tolist() == codes.tolist()
    assert ok.features.shape == (40, 263) and ok.joints.shape == (40, 22, 3)
    np.testing.assert_allclose(ok.features, codec.decode([codes])[0], atol=1e-5)
    single = hook.decode_text(texts[1], tiny_checkpoint, device="cpu")
    np.testing.assert_allclose(single.joints, ok.joints, atol=1e-5)
    # one cached codec per (path, device)
    assert hook.get_codec(tiny_checkpoint, "cpu") is hook.get_codec(str(tiny_checkpoint) + "/", "cpu")
    hook.clear_cache()
