"""VQ-VAE model and quantiser: shapes, masked variable-length batches, buffers, config checks."""

from __future__ import annotations

import pytest
import torch

from motion_r1_verl.vq.config import VQConfig, VQModelConfig, VQTrainConfig, preset
from motion_r1_verl.vq.model import MotionVQVAE

SMALL = VQModelConfig(width=32, code_dim=16, codebook_size=24, depth=2)


def initialised_model(cfg: VQModelConfig = SMALL, seed: int = 0) -> MotionVQVAE:
    """A model whose codebook was initialised by one training-mode pass (codes otherwise all 0)."""
    torch.manual_seed(seed)
    model = MotionVQVAE(cfg)
    model.train()
    model(torch.randn(4, 32, cfg.input_dim))
    return model.eval()


@pytest.mark.parametrize("down_t", [0, 1, 2, 3])
def test_forward_shapes(down_t):
    cfg = VQModelConfig(width=16, code_dim=8, codebook_size=16, depth=1, down_t=down_t)
    model = MotionVQVAE(cfg)
    x = torch.randn(3, 48, 263)
    out = model(x)
    assert out.recon.shape == (3, 48, 263)
    assert out.codes.shape == (3, 48 // 2**down_t) and out.codes.dtype == torch.int64
    assert out.commit_loss.ndim == 0 and out.perplexity.ndim == 0
    assert model.decode(out.codes).shape == (3, 48, 263)


def test_t2m_gpt_preset_matches_paper_architecture():
    cfg = preset("t2m-gpt")
    assert (cfg.model.width, cfg.model.code_dim, cfg.model.codebook_size) == (512, 512, 512)
    assert (cfg.model.down_t, cfg.model.depth, cfg.model.dilation_growth_rate) == (2, 3, 3)
    assert cfg.model.ema_decay == 0.99 and cfg.train.commit_beta == 0.02 and cfg.train.pos_weight == 0.5
    assert cfg.train.lr == 2e-4 and cfg.train.window == 64
    assert cfg.train.feat_bias == 5.0  # MoMask's VQ normalisation
    model = MotionVQVAE(cfg.model)
    # T2M-GPT's Resnet1D runs its dilations largest first in the encoder and the decoder alike.
    for resnet in [*model.encoder.resnets, *model.decoder.resnets]:
        assert [b.conv1.dilation[0] for b in resnet.blocks] == [9, 3, 1]


def test_configs_saved_before_the_dilation_order_and_feat_bias_load_as_trained():
    legacy = preset("t2m-gpt").to_dict()
    del legacy["model"]["reverse_encoder_dilation"], legacy["train"]["feat_bias"]
    cfg = VQConfig.from_dict(legacy)
    assert cfg.model.reverse_encoder_dilation is False and cfg.train.feat_bias == 1.0
    model = MotionVQVAE(cfg.model)
    assert [b.conv1.dilation[0] for b in model.encoder.resnets[0].blocks] == [1, 3, 9]
    assert [b.conv1.dilation[0] for b in model.decoder.resnets[0].blocks] == [9, 3, 1]


def test_masked_batch_equals_one_clip_at_a_time():
    model = initialised_model()
    lengths = [64, 40, 12, 4]
    clips = [torch.randn(n, 263) for n in lengths]
    batch = torch.full((4, 64, 263), 7.0)  # garbage in the padding must not matter
    mask = torch.zeros(4, 64, dtype=torch.bool)
    for i, clip in enumerate(clips):
        batch[i, : clip.shape[0]] = clip
        mask[i, : clip.shape[0]] = True
    codes = model.encode(batch, mask)
    recon = model.decode(codes, mask[:, ::4])
    assert len(set(codes.flatten().tolist())) > 1, "an uninitialised codebook would make this test vacuous"
    for i, clip in enumerate(clips):
        alone = model.encode(clip[None])
        assert torch.equal(alone[0], codes[i, : lengths[i] // 4])
        torch.testing.assert_close(model.decode(alone)[0], recon[i, : lengths[i]], atol=1e-5, rtol=1e-5)


def test_length_not_multiple_of_codes_is_rejected():
    model = initialised_model()
    with pytest.raises(ValueError, match="multiple of 4"):
        model.encode(torch.randn(1, 30, 263))


def test_quantizer_state_lives_in_buffers():
    model = initialised_model()
    quantizer_keys = {k for k in model.state_dict() if k.startswith("quantizer.")}
    assert quantizer_keys == {f"quantizer.{n}" for n in ("initialized", "codebook", "code_sum", "code_count")}
    assert list(model.quantizer.parameters()) == []
    assert bool(model.quantizer.initialized)


def test_dead_code_is_reset_to_an_encoder_output():
    model = initialised_model()
    q = model.quantizer
    q.train()
    q.codebook[0] = 1e3  # far from everything: never chosen
    q.code_count[0] = 0.0
    z = torch.randn(2, 16, 8)
    q(z)
    assert q.codebook[0].abs().max() < 100, "a dead code must be replaced by a (noisy) batch vector"
    flat = z.permute(0, 2, 1).reshape(-1, 16)
    assert torch.cdist(q.codebook[:1], flat).min() < 0.1


def test_ema_moves_used_codes_towards_their_vectors():
    model = initialised_model()
    q = model.quantizer.train()
    z = torch.randn(1, 16, 64)
    codes = q.quantize(z)
    code = int(codes[0, 0])
    before = q.codebook[code].clone()
    members = z.permute(0, 2, 1).reshape(-1, 16)[codes.reshape(-1) == code]
    q(z)
    assert torch.linalg.norm(q.codebook[code] - members.mean(0)) < torch.linalg.norm(before - members.mean(0))


def test_eval_mode_does_not_touch_the_codebook():
    model = initialised_model()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    model(torch.randn(2, 32, 263))
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: VQModelConfig(activation="tanh"), "activation"),
        (lambda: VQModelConfig(codebook_size=1), "codebook_size"),
        (lambda: VQModelConfig(ema_decay=1.0), "ema_decay"),
        (lambda: VQTrainConfig(pos_space="angles"), "pos_space"),
        (lambda: VQTrainConfig(feat_bias=0.0), "feat_bias"),
        (lambda: VQTrainConfig(lr_milestones=(10, 5)), "increasing"),
        (lambda: VQConfig(train=VQTrainConfig(window=30)), "multiple of the frames per code"),
        (lambda: VQConfig.from_dict({"model": {"widht": 3}}), "unknown VQ config keys"),
        (lambda: preset("huge"), "unknown VQ preset"),
    ],
)
def test_config_rejects_bad_values(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_config_dict_round_trip():
    for name in ("small", "t2m-gpt"):
        cfg = preset(name)
        assert VQConfig.from_dict(cfg.to_dict()) == cfg
