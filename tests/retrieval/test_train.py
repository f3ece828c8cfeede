"""A short training run learns (R@1 above an untrained model's) and resumes exactly."""

import json

import numpy as np
import pytest
import torch

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.humanml3d import load_split
from motion_r1_verl.retrieval import PRESETS, TextMotionConfig, TextMotionModel, TrainConfig
from motion_r1_verl.retrieval.train import Split, retrieval_scores, train_retrieval

TINY = TextMotionConfig(**PRESETS["tiny"])


def fast(epochs, **kw):
    return TrainConfig(epochs=epochs, batch_size=32, lr=1e-3, warmup_steps=5, val_every=2, **kw)


def test_training_improves_r_at_1_over_an_untrained_model(toy_dataset, tmp_path):
    result = train_retrieval(toy_dataset, tmp_path / "ck", TINY, fast(6), device="cpu", progress=False)
    assert [h["epoch"] for h in result.history] == [2, 4, 6] and not result.stopped_early
    trained = TextMotionModel.from_pretrained(tmp_path / "ck", device="cpu")

    clips, _ = load_split(toy_dataset, "test")
    texts = [c.captions[0].text for c in clips]

    def r1(model):
        frozen = model.text_encoder.encode(texts)
        return retrieval_scores(model, Split(clips, [[i] for i in range(len(clips))]), frozen)["R@1"]

    torch.manual_seed(0)
    untrained = TextMotionModel(TINY, trained.feature_mean.numpy(), trained.feature_std.numpy()).eval()
    # 8 actions, 4 clips each per batch of 32 share a caption: 0.25 is the ceiling, 1/32 is chance
    assert r1(untrained) < 0.12
    assert r1(trained) > 0.2


def test_resume_continues_exactly_like_an_uninterrupted_run(toy_dataset, tmp_path):
    train_retrieval(toy_dataset, tmp_path / "straight", TINY, fast(4), device="cpu", progress=False)
    resumed = tmp_path / "resumed"
    first = train_retrieval(toy_dataset, resumed, TINY, fast(4), device="cpu", progress=False, stop_after=1)
    assert first.epoch == 1 and first.stopped_early
    with pytest.raises(UserError, match="pass resume=True"):
        train_retrieval(toy_dataset, tmp_path / "resumed", TINY, fast(4), device="cpu", progress=False)
    state = train_retrieval(toy_dataset, tmp_path / "resumed", TINY, fast(4), resume=True, device="cpu", progress=False)
    assert state.epoch == 4 and not state.stopped_early and state.checkpoint == tmp_path / "resumed"
    a = TextMotionModel.from_pretrained(tmp_path / "straight", device="cpu").state_dict()
    b = TextMotionModel.from_pretrained(tmp_path / "resumed", device="cpu").state_dict()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-5, rtol=1e-5)
    saved = json.loads((tmp_path / "resumed" / "trainer_state.json").read_text())
    assert [h["epoch"] for h in saved["history"]] == [1, 2, 4]
    # the checkpoint carries its frozen caption embeddings for reuse
    with np.load(tmp_path / "resumed" / "text_cache.npz") as cache:
        assert cache["emb"].shape[1] == 384
