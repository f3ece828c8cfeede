"""The quickstart: the whole Motion-R1 pipeline on the embedded synthetic dataset, on CPU.

``motion-r1 quickstart --out runs/quickstart`` (what ``make quickstart`` runs) chains the stages below;
each one shows progress, writes its outputs under the run folder and is skipped on the next run
(``--force`` redoes, ``--only NAME`` runs one). Sizes are chosen so a 2-core machine finishes in
minutes; every stage is the same code a full-scale run uses, only the presets are small.

The shared steps (train SFT, train GRPO, generate a split, evaluate a split with a judge) are module
functions, so ``bench/ablation.py`` runs exactly what the quickstart runs.
"""

import json
import math
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from motion_r1_verl.errors import UserError
from motion_r1_verl.pipeline import Stage, marker_path

# The judges every generated split is scored by: the independent one (Guo et al.'s evaluator
# architecture trained on our data: bi-GRUs over word vectors learned from our captions, nothing shared
# with the reward) and the reward's own text-motion encoder (what GRPO optimises, so it can be fooled).
JUDGES: dict[str, tuple[str, str, str]] = {
    # name: (motion-r1 eval --evaluator, checkpoint folder in the run, what it is)
    "judge": ("guo", "judge", "the independent judge (Guo et al. architecture trained on this data)"),
    "reward": ("ours", "retrieval", "the reward's own encoder (what GRPO optimises)"),
}
SPLITS = ("test", "test_heldout")


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
    report_videos: int = 3  # side-by-side ground truth / SFT / GRPO videos in the report

    def __post_init__(self) -> None:
        if self.n_clips < 400:
            # R-Precision draws batches of 32 test clips; the test split is about 9 % of the clips.
            raise UserError(f"--clips must be >= 400 so the test split holds 32 clips, got {self.n_clips}")
        for name in ("vq_steps", "retrieval_epochs", "judge_epochs", "grpo_steps", "sft_batch_size"):
            if getattr(self, name) < 1:
                raise UserError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.sft_epochs <= 0:
            raise UserError(f"--sft-epochs must be > 0, got {self.sft_epochs}")
        if self.cot_mode not in ("rules", "oracle"):
            raise UserError(f"--cot must be rules or oracle, got {self.cot_mode!r}")
        if self.grpo_updates_per_step < 1 or self.grpo_prompts_per_step % self.grpo_updates_per_step:
            raise UserError(
                f"GRPO prompts per step ({self.grpo_prompts_per_step}) must be a multiple of the optimiser steps "
                f"per step ({self.grpo_updates_per_step})"
            )


class StageFailed(RuntimeError):
    """A stage's command exited non-zero (its own output above says why)."""


def motion_r1(*args: str | Path) -> None:
    """Run ``motion-r1 ARGS`` in a child process, echoing the command so users can run it alone.

    Stages run as commands rather than library calls so each one is exactly what a user would type,
    and a stage's threads and memory are gone when it ends.
    """
    argv = [str(a) for a in args]
    print(f"    $ motion-r1 {shlex.join(argv)}", flush=True)
    completed = subprocess.run([sys.executable, "-m", "motion_r1_verl.cli.main", *argv], check=False)
    if completed.returncode != 0:
        raise StageFailed(f"'motion-r1 {shlex.join(argv)}' exited with code {completed.returncode}")


RECIPE_DIR = Path(__file__).resolve().parents[1] / "recipes" / "motion_r1"


def run_recipe(script: str, env: dict[str, str], *overrides: str) -> None:
    """Run ``recipes/motion_r1/<script>`` (the same scripts a user runs) with ``env`` added."""
    path = RECIPE_DIR / script
    if not path.is_file():
        raise StageFailed(f"{path} not found: run the quickstart from a checkout of motion-r1-verl")
    shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    print(f"    $ {shown} {path.relative_to(RECIPE_DIR.parents[1])} {shlex.join(overrides)}", flush=True)
    # The recipes call "$PYTHON"; point it at this interpreter so the venv's verl is used.
    full_env = os.environ | {"PYTHON": sys.executable} | env
    completed = subprocess.run(["bash", str(path), *overrides], env=full_env, check=False)
    if completed.returncode != 0:
        raise StageFailed(f"{script} exited with code {completed.returncode}")


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
    overrides: Sequence[str] = (),
) -> None:
    """verl GRPO (recipes/motion_r1/grpo.sh) from ``model_path`` on the run's RL data and reward encoders,
    merged into ``target_dir``; ``overrides`` are extra hydra overrides (reward weights, seeds).

    Validation (the run's ``rl-data/val.parquet``) runs before training and at the profile's test_freq,
    always at the last step; its points land in ``ckpt_dir/metrics.jsonl``.
    """
    env = {
        "PROFILE": "cpu_tiny",
        "MODEL_PATH": str(model_path),
        "DATA_DIR": str(run_dir / "rl-data"),
        "OUT_DIR": str(ckpt_dir),
        "VQ_CKPT": str(run_dir / "vq"),
        "RETRIEVAL_CKPT": str(run_dir / "retrieval"),
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
        *overrides,
    )
    merge_env = {
        "CKPT_DIR": str(ckpt_dir / f"global_step_{steps}" / "actor"),
        "MODEL_PATH": str(run_dir / "tiny-llm-motion"),
        "TARGET_DIR": str(target_dir),
    }
    run_recipe("merge.sh", merge_env)


def generate_split(
    model_dir: Path, data: Path, split: str, gen_dir: Path, seed: int, samples: int = 1
) -> tuple[int, int]:
    """``samples`` motions per caption of ``split`` into ``gen_dir``; returns (well-formed, total).

    With several samples per caption the evaluation's replications draw different ones, so its mean
    averages over the model's sampling as well as over the R-Precision batches.

    A caption whose response never held a well-formed motion span gets a motionless clip, so it counts
    against the model in every metric instead of dropping out of the evaluation.
    """
    from motion_r1_verl.generate import GenerateConfig, generate_motions, split_captions, write_results
    from motion_r1_verl.motion.humanml3d import save_npy_atomic
    from motion_r1_verl.quickstart_report import motionless_clip

    ids, captions = split_captions(data, split)
    results = generate_motions(model_dir, captions, n=samples, ids=ids, config=GenerateConfig(seed=seed))
    write_results(results, gen_dir, video=None, bvh=False)
    failed = [r for r in results if not r.valid]
    if failed:
        stand_in = motionless_clip(data)
        for result in failed:
            save_npy_atomic(gen_dir / f"{result.name}.npy", stand_in)
    return len(results) - len(failed), len(results)


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


def _codebook_size(run_dir: Path) -> int:
    from motion_r1_verl.vq.codec import MotionCodec

    return MotionCodec.from_pretrained(run_dir / "vq", device="cpu").codebook_size


def _first_test_clip(run_dir: Path) -> tuple[str, str]:
    """Id and first caption of the first test clip."""
    from motion_r1_verl.motion.humanml3d import read_caption_file, read_split_ids

    clip_id = read_split_ids(data_dir(run_dir), "test")[0]
    captions, _bad = read_caption_file(data_dir(run_dir) / "texts" / f"{clip_id}.txt")
    return clip_id, captions[0].text


def build_stages(config: QuickstartConfig) -> list[Stage]:
    def synth(run_dir: Path) -> str:
        from motion_r1_verl.motion.synth.generate import generate_dataset

        report = generate_dataset(
            data_dir(run_dir), n=config.n_clips, seed=config.seed, contact_sheet=run_dir / "contact_sheet.png"
        )
        (run_dir / "synth_report.json").write_text(json.dumps(report.__dict__, indent=2))
        return f"{report.summary()}; contact sheet {run_dir / 'contact_sheet.png'}"

    def render(run_dir: Path) -> str:
        import numpy as np

        from motion_r1_verl.motion.render import render_animation

        clip_id, caption = _first_test_clip(run_dir)
        joints = np.load(data_dir(run_dir) / "new_joints" / f"{clip_id}.npy")
        out = run_dir / "renders" / f"{clip_id}.mp4"
        out.parent.mkdir(parents=True, exist_ok=True)
        render_animation([joints], out, caption=caption)
        return f"rendered test clip {clip_id} ('{caption}') to {out}"

    def vq(run_dir: Path) -> str:
        out = run_dir / "vq"
        budget = ["--steps", str(config.vq_steps), "--max-minutes", str(config.vq_minutes)]
        # An interrupted stage leaves a checkpoint: continue it rather than start over.
        resume = ["--resume"] if (out / "config.json").exists() else []
        motion_r1("vq", "train", "--data", data_dir(run_dir), "--out", out, *budget, *resume)
        motion_r1("vq", "eval", "--ckpt", out, "--data", data_dir(run_dir), "--split", "test")
        return f"VQ-VAE checkpoint in {out}"

    def codes(run_dir: Path) -> str:
        out = run_dir / "codes.jsonl"
        motion_r1("vq", "encode", "--data", data_dir(run_dir), "--ckpt", run_dir / "vq", "--out", out)
        return f"motion codes of every clip in {out}"

    def retrieval(run_dir: Path) -> str:
        out = run_dir / "retrieval"
        motion_r1("retrieval", "train", "--data", data_dir(run_dir), "--out", out,
                  "--epochs", str(config.retrieval_epochs), "--seed", str(config.seed))  # fmt: skip
        return f"text-motion reward encoders in {out}"

    def judge(run_dir: Path) -> str:
        # A judge the reward cannot fool: another architecture, its own word vectors, another seed.
        out = run_dir / "judge"
        motion_r1("retrieval", "train", "--arch", "guo", "--data", data_dir(run_dir), "--out", out,
                  "--epochs", str(config.judge_epochs), "--seed", str(config.seed + 1), "--threads", "1")  # fmt: skip
        return f"independent judge in {out}"

    def eval_real(run_dir: Path) -> str:
        for judge_name in JUDGES:
            for split in SPLITS:
                out = eval_json(run_dir, judge_name, split, "real")
                evaluate_split(run_dir, split, None, "Real", out, judge=judge_name)
        return f"Real rows (both judges, {' and '.join(SPLITS)}) in {run_dir / 'eval'}"

    def cot(run_dir: Path) -> str:
        out = run_dir / "cot.jsonl"
        motion_r1("cot", "build", "--data", data_dir(run_dir), "--mode", config.cot_mode, "--split", "train,val",
                  "--out", out, "--no-progress")  # fmt: skip
        return f"{config.cot_mode} chain-of-thought for every train and val caption in {out}"

    def llm(run_dir: Path) -> str:
        motion_r1("make-tiny-llm", "--out", run_dir / "tiny-llm", "--data", data_dir(run_dir),
                  "--cot", run_dir / "cot.jsonl", "--overwrite")  # fmt: skip
        motion_r1(
            "extend-vocab", "--base", run_dir / "tiny-llm", "--codebook-size", str(_codebook_size(run_dir)),
            "--init", "codebook", "--codec", run_dir / "vq", "--pad-to-multiple-of", "64",
            "--out", run_dir / "tiny-llm-motion",
        )  # fmt: skip
        return f"tiny Qwen2 LM with motion vocabulary in {run_dir / 'tiny-llm-motion'}"

    def held_out(run_dir: Path) -> list[str | Path]:
        # The dataset's own val clips (never trained on), one caption each: GRPO's fixed validation prompts.
        return ["--val-split", "val", "--data", data_dir(run_dir), "--val-captions-per-clip", "1"]

    def sft_data(run_dir: Path) -> str:
        out = run_dir / "sft-data"
        motion_r1("build-sft", "--cot", run_dir / "cot.jsonl", "--codes", run_dir / "codes.jsonl", "--out", out,
                  *held_out(run_dir))  # fmt: skip
        return f"SFT parquet in {out}"

    def sft(run_dir: Path) -> str:
        steps = sft_steps_for(run_dir / "sft-data", config.sft_epochs, config.sft_batch_size)
        train_sft(
            run_dir / "tiny-llm-motion",
            run_dir / "sft-data",
            run_dir / "sft-ckpt",
            run_dir / "sft-model",
            steps=steps,
            batch_size=config.sft_batch_size,
        )
        return f"cold-start SFT model ({steps} steps, {config.sft_epochs:g} epochs) in {run_dir / 'sft-model'}"

    def rl_data(run_dir: Path) -> str:
        out = run_dir / "rl-data"
        motion_r1("build-rl", "--cot", run_dir / "cot.jsonl", "--codes", run_dir / "codes.jsonl", "--out", out,
                  *held_out(run_dir))  # fmt: skip
        return f"RL parquet (train prompts + fixed validation prompts) in {out}"

    def grpo(run_dir: Path) -> str:
        train_grpo(
            run_dir,
            run_dir / "sft-model",
            run_dir / "grpo-ckpt",
            run_dir / "grpo-model",
            steps=config.grpo_steps,
            prompts_per_step=config.grpo_prompts_per_step,
            group_size=config.grpo_group_size,
            updates_per_step=config.grpo_updates_per_step,
            lr=config.grpo_lr,
        )
        from motion_r1_verl.quickstart_report import validation_gain

        gain = validation_gain(run_dir / "grpo-ckpt" / "metrics.jsonl")
        return f"GRPO model (merged HF folder) in {run_dir / 'grpo-model'}; {gain}"

    def generate_with(model: str) -> Callable[[Path], str]:
        def generate(run_dir: Path) -> str:
            lines = []
            for split in SPLITS:
                gen_dir = run_dir / "generated" / model / split
                ok, total = generate_split(run_dir / f"{model}-model", data_dir(run_dir), split, gen_dir, config.seed)
                lines.append(f"{ok}/{total} well-formed {split} generations")
            return f"{', '.join(lines)} in {run_dir / 'generated' / model}"

        return generate

    def evaluate_with(model: str, label: str) -> Callable[[Path], str]:
        def evaluate(run_dir: Path) -> str:
            for judge_name in JUDGES:
                for split in SPLITS:
                    gen_dir = run_dir / "generated" / model / split
                    evaluate_split(run_dir, split, gen_dir, label, eval_json(run_dir, judge_name, split, model),
                                   seed=config.seed, judge=judge_name)  # fmt: skip
            return f"{label} rows (both judges) in {run_dir / 'eval'}"

        return evaluate

    def report(run_dir: Path) -> str:
        from motion_r1_verl.quickstart_report import write_report

        done = [marker_path(run_dir, s.name) for s in stages]
        stage_lines = [f"{p.stem}: {p.read_text().strip()}" for p in done if p.exists()]
        out = write_report(run_dir, stage_lines, videos=config.report_videos)
        print(out.read_text())
        return f"report in {out}"

    stages = [
        Stage("data", "generate the synthetic compositional motion dataset", synth),
        Stage("render", "render one test clip to mp4", render),
        Stage("vq", "train the VQ-VAE motion tokenizer (small preset)", vq),
        Stage("codes", "encode every clip into motion codes", codes),
        Stage("retrieval", "train the text-motion encoders the rewards use", retrieval),
        Stage("judge", "train the independent judge (Guo et al. architecture, own word vectors)", judge),
        Stage("eval-real", "evaluate the real test motions with both judges (the Real rows)", eval_real),
        Stage("cot", f"write the chain of thought ({config.cot_mode}) of every train and val caption", cot),
        Stage("llm", "make the tiny LLM and extend its vocabulary with motion tokens", llm),
        Stage("sft-data", "build the SFT parquet (caption -> <think><output><Motion>)", sft_data),
        Stage("sft", "cold-start SFT with verl's sft_trainer, then merge to an HF folder", sft),
        Stage("rl-data", "build the RL parquet (prompt + ground-truth motion codes)", rl_data),
        Stage("grpo", "GRPO with verl's main_ppo and the Motion-R1 reward, then merge", grpo),
        Stage("generate-sft", "generate motions for the test captions with the SFT model", generate_with("sft")),
        Stage("generate-grpo", "generate motions for the test captions with the GRPO model", generate_with("grpo")),
        Stage("eval-sft", "evaluate the SFT generations", evaluate_with("sft", "SFT")),
        Stage("eval-grpo", "evaluate the GRPO generations", evaluate_with("grpo", "SFT+GRPO")),
        Stage("report", "write report.md (metrics tables, validation curves, side-by-side videos)", report),
    ]
    return stages
