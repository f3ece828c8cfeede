"""The quickstart: the whole Motion-R1 pipeline on the embedded synthetic dataset, on CPU.

``motion-r1 quickstart --out runs/quickstart`` (what ``make quickstart`` runs) chains the stages of
:data:`STAGES`; each one shows progress, writes its outputs under the run folder and is skipped on the
next run (``--force`` redoes, ``--only NAME`` runs one). Sizes are chosen so a 2-core machine finishes in
minutes; every stage is the same code a full-scale run uses, only the presets are small.

One execution style: every stage runs the commands a user would type (``motion-r1 ...`` verbs and verl's
recipe scripts, echoed; :mod:`motion_r1_verl.pipeline.commands`) through the shared steps of
:mod:`motion_r1_verl.pipeline.steps`; only the last stage, the report, reads the run's files in this process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from motion_r1_verl.errors import UserError, field_error
from motion_r1_verl.pipeline.commands import motion_r1
from motion_r1_verl.pipeline.stages import Stage, marker_path
from motion_r1_verl.pipeline.steps import (
    JUDGES,
    SPLITS,
    codebook_size,
    data_dir,
    eval_json,
    evaluate_split,
    generate_split,
    sft_steps_for,
    train_grpo,
    train_sft,
)


@dataclass(frozen=True)
class QuickstartConfig:
    """Sizes, budgets and seeds of the quickstart run."""

    n_clips: int = 3000  # synthetic clips (about a minute to generate on 2 cores)
    seed: int = 0  # one seed for the data; models derive theirs from it
    vq_steps: int = 1000  # VQ-VAE (small preset) steps: about a third of its full schedule
    vq_minutes: float = 8.0  # wall-clock cap on VQ-VAE training (a slow machine stops early; resumable)
    retrieval_epochs: int = 10  # the reward's text-motion encoder
    judge_epochs: int = 15  # the independent judge (Guo et al. architecture, cpu preset)
    cot_mode: str = "rules"  # CoT from the caption alone; "oracle" also states the synthetic ground truth
    sft_epochs: float = 3.0  # verl SFT passes over the training rows (warm-up, then cosine decay)
    sft_batch_size: int = 16  # more, smaller steps: fewer format slips at T = 1.0 for the same epochs
    grpo_steps: int = 20  # verl main_ppo GRPO steps from the SFT model
    grpo_prompts_per_step: int = 16  # prompts per step; each gets grpo_group_size responses
    grpo_group_size: int = 8
    grpo_updates_per_step: int = 4  # optimiser steps per rollout batch (PPO mini-batches)
    grpo_lr: float = 1e-4
    grpo_temperature: float = 1.0  # rollout sampling temperature (validation always samples at T = 1.0)
    grpo_entropy_coeff: float = 0.0  # entropy weight in the actor loss; < 0 sharpens (0: the reward alone moves it)
    report_videos: int = 3  # side-by-side ground truth / SFT / GRPO videos in the report

    def __post_init__(self) -> None:
        if self.n_clips < 400:
            # R-Precision draws batches of 32 test clips; the test split is about 9 % of the clips.
            raise field_error("n_clips", f"must be >= 400 so the test split holds 32 clips, got {self.n_clips}")
        for name in ("vq_steps", "retrieval_epochs", "judge_epochs", "grpo_steps", "sft_batch_size"):
            if getattr(self, name) < 1:
                raise UserError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.grpo_temperature <= 2:
            raise field_error("grpo_temperature", f"must be in (0, 2], got {self.grpo_temperature}")
        if self.sft_epochs <= 0:
            raise field_error("sft_epochs", f"must be > 0, got {self.sft_epochs}")
        if self.cot_mode not in ("rules", "oracle"):
            raise field_error("cot_mode", f"must be rules or oracle, got {self.cot_mode!r}")
        if self.grpo_updates_per_step < 1 or self.grpo_prompts_per_step % self.grpo_updates_per_step:
            raise UserError(
                f"GRPO prompts per step ({self.grpo_prompts_per_step}) must be a multiple of the optimiser steps "
                f"per step ({self.grpo_updates_per_step})"
            )


def _first_test_clip(run_dir: Path) -> tuple[str, str]:
    """Id and first caption of the first test clip."""
    from motion_r1_verl.motion.core.humanml3d import read_caption_file, read_split_ids

    clip_id = read_split_ids(data_dir(run_dir), "test")[0]
    captions, _bad = read_caption_file(data_dir(run_dir) / "texts" / f"{clip_id}.txt")
    return clip_id, captions[0].text


def _held_out(run_dir: Path) -> list[str | Path]:
    """The dataset's own val clips (never trained on), one caption each: GRPO's fixed validation prompts."""
    return ["--val-split", "val", "--data", data_dir(run_dir), "--val-captions-per-clip", "1"]


# Every stage: (config, run folder) -> a one-line summary. Stages run commands only (see the docstring).


def make_data(config: QuickstartConfig, run_dir: Path) -> str:
    sheet = run_dir / "contact_sheet.png"
    motion_r1("data", "synth", "--out", data_dir(run_dir), "--n", str(config.n_clips), "--seed", str(config.seed),
              "--contact-sheet", sheet, "--quiet")  # fmt: skip
    return f"{config.n_clips} synthetic clips in {data_dir(run_dir)}; contact sheet {sheet}"


def render_test_clip(config: QuickstartConfig, run_dir: Path) -> str:
    clip_id, caption = _first_test_clip(run_dir)
    out = run_dir / "renders" / f"{clip_id}.mp4"
    motion_r1("render", data_dir(run_dir) / "new_joints" / f"{clip_id}.npy", "--out", out, "--caption", caption)
    return f"rendered test clip {clip_id} ('{caption}') to {out}"


def train_vq(config: QuickstartConfig, run_dir: Path) -> str:
    out = run_dir / "vq"
    budget = ["--steps", str(config.vq_steps), "--time-limit", str(config.vq_minutes)]
    # An interrupted stage leaves a checkpoint: continue it rather than start over.
    resume = ["--resume"] if (out / "config.json").exists() else []
    motion_r1("vq", "train", "--data", data_dir(run_dir), "--out", out, *budget, *resume)
    motion_r1("vq", "eval", "--ckpt", out, "--data", data_dir(run_dir), "--split", "test")
    return f"VQ-VAE checkpoint in {out}"


def encode_codes(config: QuickstartConfig, run_dir: Path) -> str:
    out = run_dir / "codes.jsonl"
    motion_r1("vq", "encode", "--data", data_dir(run_dir), "--ckpt", run_dir / "vq", "--out", out)
    return f"motion codes of every clip in {out}"


def train_reward_encoders(config: QuickstartConfig, run_dir: Path) -> str:
    out = run_dir / "retrieval"
    motion_r1("retrieval", "train", "--data", data_dir(run_dir), "--out", out,
              "--epochs", str(config.retrieval_epochs), "--seed", str(config.seed))  # fmt: skip
    return f"text-motion reward encoders in {out}"


def train_judge(config: QuickstartConfig, run_dir: Path) -> str:
    # A judge the reward cannot fool: another architecture, its own word vectors, another seed.
    out = run_dir / "judge"
    motion_r1("retrieval", "train", "--arch", "guo", "--data", data_dir(run_dir), "--out", out,
              "--epochs", str(config.judge_epochs), "--seed", str(config.seed + 1), "--threads", "1")  # fmt: skip
    return f"independent judge in {out}"


def evaluate_real(config: QuickstartConfig, run_dir: Path) -> str:
    for judge_name in JUDGES:
        for split in SPLITS:
            out = eval_json(run_dir, judge_name, split, "real")
            evaluate_split(run_dir, split, None, "Real", out, judge=judge_name)
    return f"Real rows (both judges, {' and '.join(SPLITS)}) in {run_dir / 'eval'}"


def write_cot(config: QuickstartConfig, run_dir: Path) -> str:
    out = run_dir / "cot.jsonl"
    motion_r1("cot", "build", "--data", data_dir(run_dir), "--mode", config.cot_mode, "--split", "train,val",
              "--out", out, "--no-progress")  # fmt: skip
    return f"{config.cot_mode} chain-of-thought for every train and val caption in {out}"


def make_llm(config: QuickstartConfig, run_dir: Path) -> str:
    motion_r1("llm", "make-tiny", "--out", run_dir / "tiny-llm", "--data", data_dir(run_dir),
              "--cot", run_dir / "cot.jsonl", "--overwrite")  # fmt: skip
    motion_r1(
        "llm", "extend-vocab", "--base", run_dir / "tiny-llm", "--codebook-size", str(codebook_size(run_dir)),
        "--init", "codebook", "--codec", run_dir / "vq", "--pad-to-multiple-of", "64",
        "--out", run_dir / "tiny-llm-motion",
    )  # fmt: skip
    return f"tiny Qwen2 LM with motion vocabulary in {run_dir / 'tiny-llm-motion'}"


def build_sft_data(config: QuickstartConfig, run_dir: Path) -> str:
    out = run_dir / "sft-data"
    motion_r1("dataset", "sft", "--cot", run_dir / "cot.jsonl", "--codes", run_dir / "codes.jsonl", "--out", out,
              "--codebook-size", str(codebook_size(run_dir)), *_held_out(run_dir))  # fmt: skip
    return f"SFT parquet in {out}"


def cold_start_sft(config: QuickstartConfig, run_dir: Path) -> str:
    steps = sft_steps_for(run_dir / "sft-data", config.sft_epochs, config.sft_batch_size)
    train_sft(run_dir / "tiny-llm-motion", run_dir / "sft-data", run_dir / "sft-ckpt", run_dir / "sft-model",
              steps=steps, batch_size=config.sft_batch_size)  # fmt: skip
    return f"cold-start SFT model ({steps} steps, {config.sft_epochs:g} epochs) in {run_dir / 'sft-model'}"


def build_rl_data(config: QuickstartConfig, run_dir: Path) -> str:
    out = run_dir / "rl-data"
    motion_r1("dataset", "rl", "--cot", run_dir / "cot.jsonl", "--codes", run_dir / "codes.jsonl", "--out", out,
              "--codebook-size", str(codebook_size(run_dir)), *_held_out(run_dir))  # fmt: skip
    return f"RL parquet (train prompts + fixed validation prompts) in {out}"


def rl_binding(config: QuickstartConfig, run_dir: Path) -> str:
    from motion_r1_verl.pipeline.report import validation_gain

    train_grpo(
        run_dir, run_dir / "sft-model", run_dir / "grpo-ckpt", run_dir / "grpo-model",
        steps=config.grpo_steps, prompts_per_step=config.grpo_prompts_per_step, group_size=config.grpo_group_size,
        updates_per_step=config.grpo_updates_per_step, lr=config.grpo_lr, temperature=config.grpo_temperature,
        entropy_coeff=config.grpo_entropy_coeff,
    )  # fmt: skip
    gain = validation_gain(run_dir / "grpo-ckpt" / "metrics.jsonl")
    return f"GRPO model (merged HF folder) in {run_dir / 'grpo-model'}; {gain}"


def generate_test_splits(model: str, config: QuickstartConfig, run_dir: Path) -> str:
    lines = []
    for split in SPLITS:
        gen_dir = run_dir / "generated" / model / split
        ok, total = generate_split(run_dir / f"{model}-model", data_dir(run_dir), split, gen_dir, config.seed)
        lines.append(f"{ok}/{total} well-formed {split} generations")
    return f"{', '.join(lines)} in {run_dir / 'generated' / model}"


def evaluate_test_splits(model: str, config: QuickstartConfig, run_dir: Path) -> str:
    from motion_r1_verl.pipeline.report import MODELS

    for judge_name in JUDGES:
        for split in SPLITS:
            gen_dir = run_dir / "generated" / model / split
            evaluate_split(run_dir, split, gen_dir, MODELS[model], eval_json(run_dir, judge_name, split, model),
                           seed=config.seed, judge=judge_name)  # fmt: skip
    return f"{MODELS[model]} rows (both judges) in {run_dir / 'eval'}"


def write_report(config: QuickstartConfig, run_dir: Path) -> str:
    from motion_r1_verl.pipeline.report import write_report as write

    done = [marker_path(run_dir, name) for name, _, _ in STAGES]
    stage_lines = [f"{p.stem}: {p.read_text().strip()}" for p in done if p.exists()]
    out = write(run_dir, stage_lines, videos=config.report_videos)
    print(out.read_text())
    return f"report in {out}"


StageFn = Callable[[QuickstartConfig, Path], str]
# The quickstart, in order: (name, what it does, the stage function).
STAGES: tuple[tuple[str, str, StageFn], ...] = (
    ("data", "generate the synthetic compositional motion dataset", make_data),
    ("render", "render one test clip to mp4", render_test_clip),
    ("vq", "train the VQ-VAE motion tokenizer (small preset)", train_vq),
    ("codes", "encode every clip into motion codes", encode_codes),
    ("retrieval", "train the text-motion encoders the rewards use", train_reward_encoders),
    ("judge", "train the independent judge (Guo et al. architecture, own word vectors)", train_judge),
    ("eval-real", "evaluate the real test motions with both judges (the Real rows)", evaluate_real),
    ("cot", "write the chain of thought of every train and val caption", write_cot),
    ("llm", "make the tiny LLM and extend its vocabulary with motion tokens", make_llm),
    ("sft-data", "build the SFT parquet (caption -> <think><output><Motion>)", build_sft_data),
    ("sft", "cold-start SFT with verl's sft_trainer, then merge to an HF folder", cold_start_sft),
    ("rl-data", "build the RL parquet (prompt + ground-truth motion codes)", build_rl_data),
    ("grpo", "GRPO with verl's main_ppo and the Motion-R1 reward, then merge", rl_binding),
    ("generate-sft", "generate motions for the test captions with the SFT model", partial(generate_test_splits, "sft")),
    (
        "generate-grpo",
        "generate motions for the test captions with the GRPO model",
        partial(generate_test_splits, "grpo"),
    ),  # fmt: skip
    ("eval-sft", "evaluate the SFT generations", partial(evaluate_test_splits, "sft")),
    ("eval-grpo", "evaluate the GRPO generations", partial(evaluate_test_splits, "grpo")),
    ("report", "write report.md (metrics tables, validation curves, videos) and viewer.html", write_report),
)


def build_stages(config: QuickstartConfig) -> list[Stage]:
    """The :data:`STAGES` bound to ``config``, for :func:`motion_r1_verl.pipeline.stages.run_stages`."""
    return [Stage(name, description, partial(run, config)) for name, description, run in STAGES]
