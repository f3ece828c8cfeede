"""TextMotionModel: shapes, masking, batching, save/load, the per-process cache, the loss's duplicate filter."""

import json

import numpy as np
import pytest
import torch

from motion_r1_verl.errors import UserError
from motion_r1_verl.retrieval import PRESETS, TextMotionConfig, TextMotionModel, load_cached
from motion_r1_verl.retrieval.loss import info_nce, negative_mask
from motion_r1_verl.retrieval.text_encoder import DEFAULT_TEXT_MODEL, resolve_text_model


def tiny_model(seed=0, **kw):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    mean, std = rng.normal(size=263).astype(np.float32), rng.uniform(0.5, 2, size=263).astype(np.float32)
    return TextMotionModel(TextMotionConfig(**{**PRESETS["tiny"], **kw}), mean, std).eval()


def clips(rng, lengths):
    return [rng.normal(size=(n, 263)).astype(np.float32) for n in lengths]


def test_encode_motion_shape_and_unit_norm():
    model = tiny_model()
    z = model.encode_motion(clips(np.random.default_rng(0), [40, 77, 196]))
    assert z.shape == (3, 64)
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(3))


def test_padding_does_not_change_an_embedding():
    model = tiny_model()
    rng = np.random.default_rng(1)
    short, long = clips(rng, [45, 150])
    alone = model.encode_motion([short])
    together = model.encode_motion([short, long])[:1]
    torch.testing.assert_close(alone, together, atol=1e-5, rtol=1e-5)
    # padded input with garbage beyond the length: same embedding
    padded = np.full((2, 150, 263), 1e3, np.float32)
    padded[0, :45], padded[1] = short, long
    torch.testing.assert_close(model.encode_motion(padded, lengths=[45, 150])[:1], alone, atol=1e-5, rtol=1e-5)
    # but frames inside the length do matter
    changed = short.copy()
    changed[10] += 5.0
    assert not torch.allclose(model.encode_motion([changed]), alone, atol=1e-4)


def test_batched_encoding_matches_one_by_one_in_input_order():
    model = tiny_model()
    cs = clips(np.random.default_rng(2), [120, 40, 90, 60, 41])
    batched = model.encode_motion(cs, batch_size=2)  # several length-sorted batches
    single = torch.cat([model.encode_motion([c]) for c in cs])
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-5)


def test_bad_motion_inputs_raise():
    model = tiny_model()
    with pytest.raises(ValueError, match="263"):
        model.encode_motion([np.zeros((50, 12), np.float32)])
    with pytest.raises(ValueError, match="lengths"):
        model.encode_motion(np.zeros((2, 50, 263), np.float32))


def test_motions_longer_than_max_frames_are_embedded_on_their_first_frames():
    model = tiny_model()
    long = np.random.default_rng(3).normal(size=(230, 263)).astype(np.float32)
    cut, whole = model.encode_motion([long[: model.config.max_frames], long])
    torch.testing.assert_close(cut, whole)


def test_encode_text_uses_the_offline_minilm_and_caches():
    model = tiny_model()
    assert resolve_text_model(DEFAULT_TEXT_MODEL).is_dir()
    z = model.encode_text(["a person walks forward", "a person jumps", "a person walks forward"])
    assert z.shape == (3, 64)
    torch.testing.assert_close(z[0], z[2])
    assert not torch.allclose(z[0], z[1])
    assert "a person jumps" in model.text_encoder._cache
    assert model.encode_text([]).shape == (0, 64)


def test_unknown_text_model_is_a_user_error():
    with pytest.raises(UserError, match="offline"):
        resolve_text_model("someone/not-a-local-model")


def test_save_load_round_trip_and_load_cached(tmp_path):
    model = tiny_model(seed=3)
    cs = clips(np.random.default_rng(3), [50, 80])
    model.save_pretrained(tmp_path / "ck")
    cfg = json.loads((tmp_path / "ck" / "config.json").read_text())
    assert cfg["model"]["d_model"] == 64
    assert (tmp_path / "ck" / "model.safetensors").is_file() and (tmp_path / "ck" / "Mean.npy").is_file()
    loaded = TextMotionModel.from_pretrained(tmp_path / "ck", device="cpu")
    torch.testing.assert_close(loaded.encode_motion(cs), model.encode_motion(cs))
    torch.testing.assert_close(loaded.feature_std, model.feature_std)
    a = load_cached(tmp_path / "ck", device="cpu")
    assert load_cached(str(tmp_path / "ck"), device="cpu") is a
    # overwriting the checkpoint replaces it atomically and the cache notices the new weights
    tiny_model(seed=4).save_pretrained(tmp_path / "ck")
    assert load_cached(tmp_path / "ck", device="cpu") is not a
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]  # no temp folders left behind


def test_from_pretrained_on_a_non_checkpoint_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not a text-motion checkpoint"):
        TextMotionModel.from_pretrained(tmp_path)


def test_config_checks():
    with pytest.raises(ValueError, match="divisible"):
        TextMotionConfig(d_model=65, n_heads=2)
    with pytest.raises(ValueError, match="temperature"):
        TextMotionConfig(temperature=0)


def test_duplicate_captions_are_not_negatives():
    sim = torch.tensor([[1.0, 0.99, 0.1], [0.99, 1.0, 0.2], [0.1, 0.2, 1.0]])
    keep = negative_mask(sim, 0.95)
    assert keep.tolist() == [[True, False, True], [False, True, True], [True, True, True]]
    # two clips with the same caption: without the filter the loss pushes them apart, with it that term is gone
    z = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), dim=-1)
    frozen = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    filtered = info_nce(z, z, 0.1, frozen, 0.95)
    unfiltered = info_nce(z, z, 0.1, frozen, 1.0)
    assert filtered < 1e-3 < unfiltered


def test_default_duplicate_filter_is_tmrs():
    # TMR filters negatives at threshold_selfsim 0.80 on the (1 + cos) / 2 scale of its text embeddings.
    assert TextMotionConfig().duplicate_threshold == pytest.approx(2 * 0.80 - 1)
    sim = torch.tensor([[1.0, 0.65, 0.55], [0.65, 1.0, 0.2], [0.55, 0.2, 1.0]])
    keep = negative_mask(sim, TextMotionConfig().duplicate_threshold)
    assert keep.tolist() == [[True, False, True], [False, True, True], [True, True, True]]
