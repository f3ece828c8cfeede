"""compute_score with real (tiny) VQ and text-motion checkpoints: components, reasons, config, sync/async."""

import asyncio
import json

import numpy as np
import pytest

from motion_r1_verl.errors import UserError
from motion_r1_verl.protocol import format_response
from reward_fns import motion_r1
from reward_fns.motion_r1 import (
    REASONS,
    RewardConfig,
    combine,
    compute_score,
    compute_score_async,
    format_reward,
    motion_reward,
    parse_ground_truth,
    reason_counts,
    semantic_reward,
)
from reward_fns.scorer import get_local_scorer

GT = {"id": "000001", "codes": list(range(3, 15))}
CAPTION = {"caption": "a person does a walk"}
KEYS = {"score", "format", "motion", "semantic", "parse_ok", "motion_len", "reason"}


def response(codes, with_output=True):
    return format_response("the person walks", "1. walk", codes, with_output=with_output)


def test_a_good_response_gets_every_component(reward_kwargs):
    out = compute_score("motion_r1", response(GT["codes"]), GT, CAPTION, **reward_kwargs)
    assert set(out) == KEYS
    assert out["format"] == 1.0 and out["parse_ok"] is True and out["motion_len"] == 12 and out["reason"] == "ok"
    assert out["motion"] == pytest.approx(1.0, abs=1e-5)  # the ground-truth codes themselves
    assert 0.0 < out["semantic"] < 1.0
    assert out["score"] == pytest.approx(out["format"] + out["motion"] + out["semantic"])


def test_components_match_the_standalone_functions_and_weights_apply(reward_kwargs):
    codes = [7, 7, 1, 2, 30, 31, 0, 5, 5, 9, 11]
    text = response(codes)
    kw = {**reward_kwargs, "w_format": 0.5, "w_motion": 2.0, "w_semantic": 0.25}
    out = compute_score("motion_r1", text, GT, CAPTION, **kw)
    cfg = RewardConfig.from_kwargs(kw)
    scorer = get_local_scorer(cfg.vq_ckpt, cfg.retrieval_ckpt, "cpu", cfg.max_batch, cfg.wait_ms)
    gt = parse_ground_truth(GT, scorer.codebook_size)
    assert out["format"] == format_reward(text, scorer.codebook_size)
    assert out["motion"] == pytest.approx(motion_reward(codes, gt, scorer), abs=1e-6)
    assert out["semantic"] == pytest.approx(semantic_reward(codes, CAPTION["caption"], scorer), abs=1e-6)
    assert out["score"] == pytest.approx(combine(out["format"], out["motion"], out["semantic"], cfg))
    assert out["motion"] < 1.0 - 1e-5  # other codes than the ground truth: not the same motion


def test_bad_format_earns_no_similarity_behind_the_gate(reward_kwargs):
    """The ground-truth motion itself behind a broken template: 0 by default, paid without the gate."""
    text = "sure! " + response(GT["codes"])
    out = compute_score("motion_r1", text, GT, CAPTION, **reward_kwargs)
    assert out["format"] == 0.0 and out["parse_ok"] and out["reason"] == "missing <think> at the start"
    assert out["motion"] == 0.0 and out["semantic"] == 0.0 and out["score"] == 0.0
    ungated = compute_score("motion_r1", text, GT, CAPTION, **reward_kwargs, format_gate=False)
    assert ungated["motion"] > 0.99 and ungated["score"] == pytest.approx(ungated["motion"] + ungated["semantic"])


def test_paper_variant_without_output_block(reward_kwargs):
    text = response(GT["codes"], with_output=False)
    assert compute_score("motion_r1", text, GT, CAPTION, **reward_kwargs)["format"] == 0.0
    assert compute_score("motion_r1", text, GT, CAPTION, **reward_kwargs, with_output=False)["format"] == 1.0


@pytest.mark.parametrize(
    ("solution", "ground_truth", "reason"),
    [
        (None, GT, "not a string"),
        (12345, GT, "not a string"),
        ("", GT, "missing <think> at the start"),
        ("<think>a</think><output>b</output><Motion><Motion_999></Motion>", GT, "motion id out of range"),
        ("<Motion>" * 5000, GT, "missing <think> at the start"),
        (response(GT["codes"]), {"id": "x"}, "bad ground truth"),  # no codes
        (response(GT["codes"]), {"id": "x", "codes": []}, "bad ground truth"),
        (response(GT["codes"]), {"id": "x", "codes": [1, 10_000]}, "bad ground truth"),  # outside the codebook
        (response(GT["codes"]), {"id": "x", "codes": ["a"]}, "bad ground truth"),
        (response(GT["codes"]), "not json", "bad ground truth"),
        (response(GT["codes"]), None, "bad ground truth"),
        (response(GT["codes"]), "[" * 100_000 + "]" * 100_000, "bad ground truth"),  # nested past the recursion limit
    ],
)
def test_invalid_input_scores_zero_with_a_counted_reason(reward_kwargs, solution, ground_truth, reason):
    before = reason_counts().get(reason, 0)
    out = compute_score("motion_r1", solution, ground_truth, CAPTION, **reward_kwargs)
    assert out["score"] == 0.0 and out["format"] == 0.0 and out["motion"] == 0.0 and out["semantic"] == 0.0
    assert out["reason"] == reason and reason in REASONS
    assert set(out) == KEYS
    assert reason_counts()[reason] == before + 1


def test_ground_truth_as_json_string_and_numpy_codes(reward_kwargs):
    text = response(GT["codes"])
    a = compute_score("motion_r1", text, json.dumps(GT), CAPTION, **reward_kwargs)
    b = compute_score("motion_r1", text, {"id": "000001", "codes": np.asarray(GT["codes"])}, CAPTION, **reward_kwargs)
    assert a == b and a["reason"] == "ok"


def test_missing_caption_is_a_counted_reason(reward_kwargs):
    out = compute_score("motion_r1", response(GT["codes"]), GT, {"index": 3}, **reward_kwargs)
    assert out["reason"] == "no caption" and out["semantic"] == 0.0 and out["motion"] > 0.99


def test_one_undecodable_caption_does_not_fail_the_batch_it_shares(reward_kwargs):
    """A caption with a lone surrogate (text read with errors="surrogateescape") would make the text
    tokenizer raise inside a batch shared with every other response of the step."""
    text = response(GT["codes"])
    captions = [CAPTION, {"caption": "a person walks \udcff forward"}, CAPTION]

    async def run():
        return await asyncio.gather(*(compute_score_async("motion_r1", text, GT, c, **reward_kwargs) for c in captions))

    got = asyncio.run(run())
    assert [r["reason"] for r in got] == ["ok", "ok", "ok"]
    assert all(0.0 < r["semantic"] <= 1.0 for r in got)


def test_async_entry_point_agrees_and_batches(reward_kwargs):
    rng = np.random.default_rng(0)
    texts = [response(rng.integers(0, 32, 12).tolist()) for _ in range(16)]
    sync = [compute_score("motion_r1", t, GT, CAPTION, **reward_kwargs) for t in texts]

    async def run():
        return await asyncio.gather(*(compute_score_async("motion_r1", t, GT, CAPTION, **reward_kwargs) for t in texts))

    cfg = RewardConfig.from_kwargs(reward_kwargs)
    scorer = get_local_scorer(cfg.vq_ckpt, cfg.retrieval_ckpt, "cpu", cfg.max_batch, cfg.wait_ms)
    batches_before = scorer.stats.batches
    got = asyncio.run(run())
    for a, b in zip(sync, got):
        assert a["score"] == pytest.approx(b["score"], abs=1e-5)
    assert scorer.stats.batches - batches_before < 16  # concurrent calls shared batches


def test_format_only_reward_needs_no_checkpoints():
    out = compute_score("motion_r1", response(GT["codes"]), GT, CAPTION, w_motion=0, w_semantic=0)
    assert out["score"] == 1.0 and out["motion"] == 0.0


def test_zero_weights_still_report_the_similarities_they_do_not_pay(reward_kwargs):
    """A format-only arm with checkpoints: the similarities are measured (comparable to the paid arms), unpaid."""
    text = response([7, 7, 1, 2, 30, 31, 0, 5, 5, 9, 11])
    paid = compute_score("motion_r1", text, GT, CAPTION, **reward_kwargs)
    unpaid = compute_score("motion_r1", text, GT, CAPTION, **reward_kwargs, w_motion=0, w_semantic=0)
    assert unpaid["score"] == 1.0 == unpaid["format"]
    assert 0.0 < unpaid["motion"] < 1.0 and 0.0 < unpaid["semantic"] < 1.0
    assert unpaid["motion"] == pytest.approx(paid["motion"], abs=1e-6)
    assert unpaid["semantic"] == pytest.approx(paid["semantic"], abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"vq_ckpt": "a", "retrieval_ckpt": "b", "w_motoin": 1.0}, "unknown reward_kwargs"),  # typo
        ({"vq_ckpt": "a"}, "retrieval_ckpt"),
        ({"vq_ckpt": "a", "retrieval_ckpt": "b", "w_format": -1}, "w_format"),
        ({"vq_ckpt": "a", "retrieval_ckpt": "b", "min_codes": 20, "max_codes": 10}, "min_codes"),
        ({"vq_ckpt": "a", "retrieval_ckpt": "b", "scorer": "gpu"}, "scorer"),
    ],
)
def test_configuration_mistakes_raise(kwargs, match):
    with pytest.raises(UserError, match=match):
        compute_score("motion_r1", "x", GT, CAPTION, **kwargs)


def test_missing_checkpoint_raises_not_zero(tmp_path):
    with pytest.raises(UserError):
        compute_score("motion_r1", response(GT["codes"]), GT, CAPTION, vq_ckpt=str(tmp_path), retrieval_ckpt="x")


def test_hydra_style_string_values_are_typed(reward_kwargs):
    cfg = RewardConfig.from_kwargs({**reward_kwargs, "with_output": "false", "w_motion": "0.5", "max_codes": "30"})
    assert cfg.with_output is False and cfg.w_motion == 0.5 and cfg.max_codes == 30
    # verl's own extra kwargs (reward model router) are accepted and ignored
    RewardConfig.from_kwargs({**reward_kwargs, "reward_router_address": None, "reward_model_tokenizer": None})


def test_sentinel_is_written_once_per_process(reward_kwargs, tmp_path):
    path = tmp_path / "sentinel.txt"
    for _ in range(3):
        compute_score("motion_r1", "x", GT, CAPTION, **reward_kwargs, sentinel=str(path))
    assert path.read_text().count("motion_r1 reward ran") == 1
    motion_r1._SENTINELS.discard(str(path))


def test_default_span_limits_come_from_the_codec():
    """0 = the clip lengths (40..196 frames) in codes of the loaded codec; explicit limits are kept."""
    fmt_only = {"w_motion": 0.0, "w_semantic": 0.0}
    cfg = RewardConfig(**fmt_only)
    assert cfg.code_limits(4) == (10, 49) and cfg.code_limits(2) == (20, 98)
    assert RewardConfig(**fmt_only, min_codes=3, max_codes=7).code_limits(2) == (3, 7)


def test_motion_similarity_compares_with_the_real_clip_by_default(reward_models, real_target_kwargs):
    """The paper's motion reward: generated motion vs the ground-truth motion itself, not its codes."""
    from motion_r1_verl.motion.core.humanml3d import load_clip
    from motion_r1_verl.retrieval.model import TextMotionModel
    from motion_r1_verl.vq.codec import MotionCodec

    data, vq, retrieval = reward_models
    codec = MotionCodec.from_pretrained(vq, device="cpu")
    real = load_clip(data, "000001").features
    codes = codec.encode([real])[0].tolist()
    gt = {"id": "000001", "codes": codes}
    out = compute_score("motion_r1", response(codes), gt, CAPTION, **real_target_kwargs)
    decoded = compute_score("motion_r1", response(codes), gt, CAPTION, **real_target_kwargs, motion_target="decoded")
    assert decoded["motion"] == pytest.approx(1.0, abs=1e-5)
    # The tokenizer loses detail: its best answer is close to, not equal to, the real clip.
    model = TextMotionModel.from_pretrained(retrieval, device="cpu")
    z_gen, z_real = model.encode_motion([codec.decode([np.asarray(codes)])[0], real])
    expected = (1 + float((z_gen * z_real).sum())) / 2
    assert out["motion"] == pytest.approx(expected, abs=1e-5)
    assert out["motion"] < 1.0 - 1e-4
    assert out["semantic"] == pytest.approx(decoded["semantic"], abs=1e-6)  # the caption side is unchanged


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"data_dir": ""}, "data_dir is required with motion_target=real"),
        ({"data_dir": "/nonexistent/folder"}, "is not a folder"),
        ({"motion_target": "codes"}, "motion_target must be one of"),
    ],
)
def test_real_target_configuration_mistakes_stop_the_run(real_target_kwargs, kwargs, match):
    with pytest.raises(UserError, match=match):
        compute_score("motion_r1", response(GT["codes"]), GT, CAPTION, **{**real_target_kwargs, **kwargs})


def test_real_target_with_an_id_the_folder_lacks_raises_naming_the_file(real_target_kwargs):
    gt = {"id": "999999", "codes": GT["codes"]}
    with pytest.raises(UserError, match=r"999999\.npy"):
        compute_score("motion_r1", response(GT["codes"]), gt, CAPTION, **real_target_kwargs)


def test_real_target_refuses_an_id_that_is_a_path(real_target_kwargs):
    out = compute_score(
        "motion_r1", response(GT["codes"]), {"id": "../x", "codes": [1, 2]}, CAPTION, **real_target_kwargs
    )
    assert out["reason"] == "bad ground truth" and out["score"] == 0.0
