"""The decode hook of training (validation_motions): real tiny VQ-VAE, real files, a real TensorBoard event file.

The GRPO e2e test (tests/e2e/test_grpo_on_cpu.py) runs the same hook inside verl's ``_validate``; here
each behaviour is pinned on its own: the fixed prompt set, non-motion rows left out, malformed responses
reported with their reason, the metrics, the TensorBoard summaries read back, and config errors.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from motion_r1_verl.errors import UserError
from motion_r1_verl.protocol.template import format_response
from motion_r1_verl.verl_plugin.validation_motions import (
    MotionSample,
    ValidationMotionLogger,
    ValidationMotionsConfig,
    caption_of,
    motion_metrics,
    parse_motion_ground_truth,
    session_index,
)
from motion_r1_verl.vq.hook import decode_texts
from reward_fns.motion_r1 import GroundTruth

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reward_fns"))
from tiny_reward_models import train_tiny_vq, write_toy_dataset  # noqa: E402

CAPTIONS = [f"a person does move number {i}" for i in range(6)]


@pytest.fixture(scope="module")
def vq(tmp_path_factory):
    root = tmp_path_factory.mktemp("vq")
    return train_tiny_vq(write_toy_dataset(root / "data", n_train=12, n_val=3), root / "vq", steps=2)


def _samples(step: int, rng: np.random.Generator) -> list[MotionSample]:
    """Two samples per caption (sessions 0 and 1), one malformed, and a gsm8k row."""
    samples = []
    for i, caption in enumerate(CAPTIONS):
        truth = GroundTruth(f"clip{i}", tuple(int(c) for c in rng.integers(0, 32, 12)))
        for session in (0, 1):
            codes = rng.integers(0, 32, 10 + i)
            text = format_response("think", "plan", codes) if i != 2 else "<think>never closed"
            samples.append(MotionSample(f"uid{i}-{step}_{session}_0", caption, text, truth))
    samples.append(MotionSample("math_0_0", "What is 3 + 4?", "#### 7", None))
    rng.shuffle(samples)
    return samples


def test_each_validation_renders_the_same_prompts_and_logs_them_to_tensorboard(vq, tmp_path):
    config = ValidationMotionsConfig.from_kwargs(
        {
            "vq_ckpt": str(vq),
            "tokenizer": "unused-here",
            "out_dir": str(tmp_path / "motions"),
            "clips": 3,
            "loggers": ["console", "tensorboard"],
            "tensorboard_dir": str(tmp_path / "tb"),
        }
    )
    hook = ValidationMotionLogger(config)
    rng = np.random.default_rng(0)
    rendered = {}
    for step in (0, 2):
        assert hook.wants("val", step) and hook.wants("val", step)  # several batches of one validation
        assert not hook.wants("train", step)  # train_every=0
        metrics = hook.log("val", step, _samples(step, rng))
        # 6 motion captions x 2 samples; the gsm8k row is not a motion; one caption's samples are malformed.
        assert metrics["val-motion/responses"] == 12
        assert metrics["val-motion/decoded"] == pytest.approx(10 / 12)
        assert metrics["val-motion/seconds"] > 0 and metrics["val-motion/root_travel_m"] >= 0
        rows = [json.loads(line) for line in (tmp_path / "motions" / str(step) / "motions.jsonl").open()]
        rendered[step] = [row["caption"] for row in rows]
        assert [row["clip"] for row in rows] == [0, 1, 2]
        for row in rows:
            assert row["key"].split("_")[1] == "0"  # the first sample of its prompt group
            assert (tmp_path / "motions" / str(step) / row["video"]).stat().st_size > 1000
            if row["reason"] == "ok":
                features = np.load(tmp_path / "motions" / str(step) / row["npy"])
                assert features.shape == (4 * (10 + CAPTIONS.index(row["caption"])), 263)
                assert row["seconds"] == pytest.approx(len(features) / 20)
            else:
                assert "npy" not in row and "think" in row["reason"], row
    assert rendered[0] == rendered[2] and len(set(rendered[0])) == 3  # a fixed set: the same prompts each time
    assert "What is 3 + 4?" not in rendered[0]

    logged = [json.loads(line) for line in (tmp_path / "motions" / "metrics.jsonl").open()]
    assert [(row["step"], row["partition"]) for row in logged] == [(0, "val"), (2, "val")]

    events = EventAccumulator(str(tmp_path / "tb"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    assert {f"val-motion/clip_{k}" for k in range(3)} <= set(events.Tags()["images"])
    image = events.Images("val-motion/clip_0")
    assert [e.step for e in image] == [0, 2]
    assert image[0].encoded_image_string[:6] in (b"GIF87a", b"GIF89a") and image[0].width > 100
    decoded = events.Scalars("val-motion/decoded")
    assert [e.step for e in decoded] == [0, 2] and decoded[0].value == pytest.approx(10 / 12)


def test_training_rollouts_every_n_steps_and_every_nth_validation(vq, tmp_path):
    config = ValidationMotionsConfig.from_kwargs(
        {"vq_ckpt": str(vq), "tokenizer": "x", "out_dir": str(tmp_path), "every": 2, "train_every": 3, "clips": 1}
    )
    hook = ValidationMotionLogger(config)
    assert [hook.wants("val", step) for step in (0, 10, 20, 30)] == [True, False, True, False]
    assert [hook.wants("train", step) for step in (1, 2, 3, 6)] == [False, False, True, True]
    hook.log("train", 3, _samples(3, np.random.default_rng(1)))
    assert len((tmp_path / "train_3" / "motions.jsonl").read_text().splitlines()) == 1
    assert json.loads((tmp_path / "metrics.jsonl").read_text())["partition"] == "train"
    assert not ValidationMotionLogger(ValidationMotionsConfig()).wants("val", 0)  # off without vq_ckpt


def test_metrics_of_decoded_motions(vq):
    walk = format_response("t", "p", list(range(12)))
    results = decode_texts([walk, "no motion here"], vq, "cpu")
    metrics = motion_metrics(results)
    assert metrics["decoded"] == 0.5 and metrics["seconds"] == pytest.approx(48 / 20)
    joints = results[0].joints
    path = np.linalg.norm(np.diff(joints[:, 0, [0, 2]], axis=0), axis=-1).sum()
    assert metrics["root_travel_m"] == pytest.approx(path, rel=1e-5)
    assert motion_metrics([]) == {"decoded": 0.0}


def test_rows_as_verl_hands_them():
    messages = np.array([{"role": "system", "content": "sys"}, {"role": "user", "content": "a man waves"}])
    assert caption_of(messages) == "a man waves" and caption_of(None) == ""
    assert caption_of(messages, {"caption": "a man waves twice", "id": "1"}) == "a man waves twice"
    truth = {"ground_truth": json.dumps({"id": "000001", "codes": [1, 2, 3]})}
    assert parse_motion_ground_truth("motion_r1", truth, 32) == GroundTruth("000001", (1, 2, 3))
    assert parse_motion_ground_truth("openai/gsm8k", {"ground_truth": "7"}, 32) is None
    assert parse_motion_ground_truth("motion_r1", {"ground_truth": "not json"}, 32) is None
    assert session_index("0b1c-uid_3_0") == 3 and session_index("plain") == 0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"vq_ckpt": "runs/vq", "clip": 3}, "unknown key(s) ['clip']"),
        ({"vq_ckpt": "runs/vq", "tokenizer": "m", "video": "avi"}, "validation_motions.video: 'avi'"),
        ({"vq_ckpt": "runs/vq", "tokenizer": "m", "every": -1}, "validation_motions.every: -1"),
        ({"vq_ckpt": "runs/vq"}, "validation_motions.tokenizer: not set"),
    ],
)
def test_config_errors_name_the_key(values, message):
    with pytest.raises(UserError, match=None) as err:
        ValidationMotionsConfig.from_kwargs(values)
    assert message in str(err.value)


def test_clips_and_metrics_reach_a_wandb_run(vq, tmp_path, monkeypatch):
    """With ``wandb`` among the loggers and a run started (verl's Tracking does it), the clips are logged as
    W&B videos beside the metrics: an offline run here, its media files read back."""
    wandb = pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = wandb.init(project="motion_r1_test", dir=str(tmp_path), mode="offline")
    try:
        config = {"vq_ckpt": str(vq), "tokenizer": "x", "out_dir": str(tmp_path / "motions"), "clips": 2}
        hook = ValidationMotionLogger(ValidationMotionsConfig.from_kwargs({**config, "loggers": ["console", "wandb"]}))
        metrics = hook.log("val", 3, _samples(3, np.random.default_rng(2)))
        files_dir = Path(run.dir)
    finally:
        wandb.finish()
    videos = sorted(files_dir.glob("media/videos/val-motion/clip_*.mp4"))
    assert len(videos) == 2 and all(v.stat().st_size > 1000 for v in videos), sorted(files_dir.rglob("*"))
    # The run's record log (what `wandb sync` uploads) holds the history row: metrics and both videos at step 3.
    (log,) = files_dir.parent.glob("run-*.wandb")
    record = log.read_bytes()
    assert b"val-motion/decoded" in record and b"video-file" in record and b"val-motion/clip_1" in record
    assert json.dumps(metrics["val-motion/decoded"]).encode() in record
