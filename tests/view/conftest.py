"""A GRPO run folder laid out as grpo.sh leaves it, with a tiny trained VQ-VAE (module-scoped, ~2 s)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motion_r1_verl.motion.core.humanml3d import Caption, write_clip, write_split
from motion_r1_verl.protocol import format_response
from motion_r1_verl.vq.config import VQConfig, VQModelConfig, VQTrainConfig

CAPTIONS = ["a person walks forward", "someone jumps <script>alert(1)</script>", "a man waves"]


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    """A 3-step run: 3 prompt groups x 4 samples per step, every dump and a config naming the VQ-VAE."""
    from motion_r1_verl.vq.train import train_vq

    root = tmp_path_factory.mktemp("view")
    rng = np.random.default_rng(0)
    data = root / "data"
    for split, ids in {"train": ["a", "b", "c", "d"], "val": ["e"]}.items():
        for clip_id in ids:
            features = np.cumsum(rng.normal(scale=0.05, size=(64, 263)), axis=0).astype(np.float32)
            write_clip(data, clip_id, features, [Caption.from_text("a person moves")])
        write_split(data, split, ids)
    config = VQConfig(
        model=VQModelConfig(width=16, code_dim=8, codebook_size=16, depth=1),
        train=VQTrainConfig(
            steps=2,
            batch_size=4,
            window=32,
            warmup_steps=1,
            lr_milestones=(1,),
            val_every=10,
            save_every=10,
            val_max_clips=1,
            feat_bias=1.0,
        ),  # fmt: skip
    )
    train_vq(data, root / "vq", config, device="cpu", progress=False)

    out = root / "grpo"
    (out / "rollouts" / "rewards").mkdir(parents=True)
    (out / "hydra" / ".hydra").mkdir(parents=True)
    (out / "hydra" / ".hydra" / "config.yaml").write_text(
        f"reward:\n  custom_reward_function:\n    reward_kwargs:\n      vq_ckpt: {root / 'vq'}\n"
    )
    metrics = []
    for step in (1, 2, 3):
        rows, rewards = [], []
        for g, caption in enumerate(CAPTIONS):
            for k in range(4):
                uid = f"p{step}{g}_0_{k}"
                codes = [int(c) for c in rng.integers(0, 16, 12)]
                text = format_response(f"think {step}.{g}.{k}", "1. walk", codes) if k < 3 else "<think>cut off"
                score = 2.0 + 0.1 * k if k < 3 else 0.0
                prompt = f"system\nBreak it down.\nuser\n{caption}\nassistant\n"
                gts = json.dumps({"id": "a", "codes": [1, 2, 3, 4] * 3})
                rows.append({"input": prompt, "output": text, "gts": gts, "score": score, "step": step, "uid": uid})
                reason = "ok" if k < 3 else "unterminated <think>"
                rewards.append({"uid": uid, "step": step, "score": score, "format": float(k < 3), "motion": 0.5,
                                "semantic": 0.4, "parse_ok": k < 3, "motion_len": 12, "reason": reason})  # fmt: skip
        (out / "rollouts" / f"{step}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (out / "rollouts" / "rewards" / f"{step}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rewards))
        data = {"reward/format/mean": 0.75, "reward/motion/mean": 0.5 + 0.01 * step, "actor/entropy": 0.3}
        if step == 3:
            data["val-core/motion_r1/reward/mean@4"] = 2.5
        metrics.append({"step": step, "data": data})
    metrics.insert(0, {"step": 0, "data": {"val-core/motion_r1/reward/mean@4": 2.4}})
    (out / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metrics))
    return out
