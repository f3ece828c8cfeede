"""The shared steps of every multi-stage run: train SFT, train GRPO, generate a split, evaluate a split.

The quickstart (:mod:`motion_r1_verl.pipeline.quickstart`) and ``bench/ablation.py`` are both built from these,
so the ablation runs exactly what the quickstart runs. Each step runs commands
(:mod:`motion_r1_verl.pipeline.commands`): ``motion-r1 ...`` verbs and verl's standard recipes.

A run folder holds ``data/`` (the dataset), ``vq/`` (the codec), ``retrieval/`` (the reward's encoders),
``judge/`` (the independent judge), ``rl-data/``, ``tiny-llm-motion/`` and the models each stage trains.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from motion_r1_verl.pipeline.commands import motion_r1, run_recipe
from motion_r1_verl.runtime.files import save_npy_atomic, write_json_atomic

# The judges every generated split is scored by: the independent one (Guo et al.'s evaluator
# architecture trained on our data: bi-GRUs over word vectors learned from our captions, nothing shared
# with the reward) and the reward's own text-motion encoder (what GRPO optimises, so it can be fooled).
JUDGES: dict[str, tuple[str, str, str]] = {
    # name: (motion-r1 eval --evaluator, checkpoint folder in the run, what it is)
    "judge": ("guo", "judge", "the independent judge (Guo et al. architecture trained on this data)"),
    "reward": ("ours", "retrieval", "the reward's own encoder (what GRPO optimises)"),
}
SPLITS = ("test", "test_heldout")


def data_dir(run_dir: Path) -> Path:
    return run_dir / "data"


def parquet_rows(path: Path) -> int:
    """Row count of a parquet file (its footer only)."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def sft_steps_for(sft_data: Path, epochs: float, batch_size: int) -> int:
    """Optimizer steps of ``epochs`` passes over ``sft_data/train.parquet`` at ``batch_size`` rows a step."""
    return max(1, math.ceil(epochs * parquet_rows(sft_data / "train.parquet") / batch_size))


def train_sft(
    model_path: Path,
    sft_data: Path,
    ckpt_dir: Path,
    target_dir: Path,
    *,
    steps: int,
    batch_size: int,
    overrides: Sequence[str] = (),
) -> None:
    """verl SFT of ``model_path`` on ``sft_data`` (recipes/motion_r1/sft.sh), merged into ``target_dir``."""
    env = {"PROFILE": "cpu_tiny", "MODEL_PATH": str(model_path), "DATA_DIR": str(sft_data), "OUT_DIR": str(ckpt_dir)}
    batch = str(batch_size)
    run_recipe(
        "sft.sh",
        env,
        f"trainer.total_training_steps={steps}",
        f"data.train_batch_size={batch}",
        f"data.micro_batch_size_per_gpu={batch}",
        f"trainer.save_freq={steps}",
        "trainer.logger=[console,file]",
        *overrides,
    )
    run_recipe("merge.sh", {"CKPT_DIR": str(ckpt_dir), "MODEL_PATH": str(model_path), "TARGET_DIR": str(target_dir)})


def train_grpo(
    run_dir: Path,
    model_path: Path,
    ckpt_dir: Path,
    target_dir: Path,
    *,
    steps: int,
    prompts_per_step: int,
    group_size: int,
    updates_per_step: int,
    lr: float,
    temperature: float = 1.0,
    entropy_coeff: float = 0.0,
    overrides: Sequence[str] = (),
    rl_data: Path | None = None,
) -> None:
    """verl GRPO (recipes/motion_r1/grpo.sh) from ``model_path`` on the run's RL data and reward encoders,
    merged into ``target_dir``; ``overrides`` are extra hydra overrides (reward weights, seeds).

    Validation (the run's ``rl-data/val.parquet``) runs before training and at the profile's test_freq,
    always at the last step; its points land in ``ckpt_dir/metrics.jsonl``. ``temperature`` is the
    rollout's sampling temperature (verl scores log-probabilities at the same temperature); validation
    keeps the profile's own (T = 1.0), so runs with different rollout temperatures compare on one scale.
    ``entropy_coeff`` weighs the policy's token entropy in the actor loss (verl subtracts
    ``entropy_coeff * entropy``): negative values sharpen the policy, 0 leaves the loss to the reward.
    ``rl_data`` replaces the run's ``rl-data/`` (another train/val parquet pair).
    """
    env = {
        "PROFILE": "cpu_tiny",
        "MODEL_PATH": str(model_path),
        "DATA_DIR": str(rl_data or run_dir / "rl-data"),
        "OUT_DIR": str(ckpt_dir),
        "VQ_CKPT": str(run_dir / "vq"),
        "RETRIEVAL_CKPT": str(run_dir / "retrieval"),
        "MOTION_DATA": str(run_dir / "data"),
    }
    run_recipe(
        "grpo.sh",
        env,
        f"trainer.total_training_steps={steps}",
        f"trainer.save_freq={steps}",
        f"data.train_batch_size={prompts_per_step}",
        f"actor_rollout_ref.actor.ppo_mini_batch_size={prompts_per_step // updates_per_step}",
        f"actor_rollout_ref.rollout.n={group_size}",
        f"actor_rollout_ref.actor.optim.lr={lr}",
        f"actor_rollout_ref.rollout.temperature={temperature}",
        f"actor_rollout_ref.actor.entropy_coeff={entropy_coeff}",
        *overrides,
    )
    merge_env = {
        "CKPT_DIR": str(ckpt_dir / f"global_step_{steps}" / "actor"),
        "MODEL_PATH": str(run_dir / "tiny-llm-motion"),
        "TARGET_DIR": str(target_dir),
    }
    run_recipe("merge.sh", merge_env)


def generate_split(
    model_dir: Path, data: Path, split: str, gen_dir: Path, seed: int, samples: int = 1, reasoning: str = "think+output"
) -> tuple[int, int]:
    """``samples`` motions per caption of ``split`` into ``gen_dir`` (``motion-r1 generate --data``); returns
    (well-formed, total). ``reasoning`` is the layout the model was fine-tuned on (its system prompt).

    With several samples per caption the evaluation's replications draw different ones, so its mean
    averages over the model's sampling as well as over the R-Precision batches. A sample that never held
    a well-formed motion span is written as a motionless clip (``--fill-failed``), so it counts against
    the model in every metric instead of dropping out of the evaluation.
    """
    motion_r1("generate", "--model", model_dir, "--data", data, "--split", split, "--n", str(samples), "--seed",
              str(seed), "--out", gen_dir, "--video", "none", "--no-bvh", "--quiet", "--fill-failed",
              "--reasoning", reasoning)  # fmt: skip
    summary = json.loads((gen_dir / "summary.json").read_text(encoding="utf-8"))
    return int(summary["valid_samples"]), int(summary["samples"])


def eval_args(run_dir: Path, judge: str) -> list[str | Path]:
    """The ``motion-r1 eval`` flags that select ``judge`` (a key of JUDGES) of ``run_dir``."""
    evaluator, folder, _ = JUDGES[judge]
    return ["--evaluator", evaluator, "--ckpt", run_dir / folder]


def evaluate_split(
    run_dir: Path, split: str, gen_dir: Path | None, label: str, out_json: Path, seed: int = 0, judge: str = "judge"
) -> None:
    """``motion-r1 eval`` of ``gen_dir`` (None: the real motions) on ``split`` with ``judge``, into ``out_json``."""
    out_json.parent.mkdir(parents=True, exist_ok=True)
    what = ["--reference"] if gen_dir is None else ["--motions", gen_dir]
    motion_r1(
        "eval", "--data", data_dir(run_dir), "--split", split, *what, *eval_args(run_dir, judge),
        "--label", label, "--json", out_json, "--seed", str(seed),
    )  # fmt: skip


def eval_json(run_dir: Path, judge: str, split: str, model: str) -> Path:
    """Where the quickstart keeps ``model``'s (``real``, ``sft``, ``grpo``) metrics by ``judge`` on ``split``."""
    return run_dir / "eval" / judge / split / f"{model}.json"


def codebook_size(run_dir: Path) -> int:
    from motion_r1_verl.vq.codec import MotionCodec

    return MotionCodec.from_pretrained(run_dir / "vq", device="cpu").codebook_size


def write_decoded_codes(codes_jsonl: Path, vq_ckpt: Path, data_dir: Path, split: str, out_dir: Path) -> int:
    """The ceiling of any LM on ``split``: each clip's ground-truth codes, decoded by the VQ-VAE, as a GEN_DIR.

    Writes ``out_dir/<id>.npy`` and a ``summary.json`` (every sample well-formed); returns the clip count.
    """
    # One codec call, in this process: there is no sampling and nothing to echo.
    from motion_r1_verl.datasets.triplets import read_jsonl
    from motion_r1_verl.motion.core.humanml3d import load_split
    from motion_r1_verl.vq.codec import MotionCodec

    clips, _ = load_split(data_dir, split)
    codes = {str(row["id"]): row["codes"] for row in read_jsonl(codes_jsonl)}
    missing = [c.id for c in clips if c.id not in codes]
    if missing:
        raise ValueError(f"{codes_jsonl}: no codes for {len(missing)} {split} clips, e.g. {missing[:3]}")
    codec = MotionCodec.from_pretrained(vq_ckpt, device="cpu")
    decoded = codec.decode([np.asarray(codes[c.id], dtype=np.int64) for c in clips])
    for clip, features in zip(clips, decoded, strict=True):
        save_npy_atomic(out_dir / f"{clip.id}.npy", np.asarray(features, dtype=np.float32))
    summary = {"samples": len(clips), "valid_samples": len(clips), "source": "decoded ground-truth codes"}
    write_json_atomic(out_dir / "summary.json", summary)
    return len(clips)
