"""The quickstart: the whole Motion-R1 pipeline on the embedded synthetic dataset, on CPU.

``motion-r1 quickstart --out runs/quickstart`` (what ``make quickstart`` runs) chains the stages below;
each one shows progress, writes its outputs under the run folder and is skipped on the next run
(``--force`` redoes, ``--only NAME`` runs one). Sizes are chosen so a 2-core machine finishes in
minutes; every stage is the same code a full-scale run uses, only the presets are small.
"""

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from motion_r1_verl.errors import UserError
from motion_r1_verl.pipeline import Stage, marker_path


@dataclass(frozen=True)
class QuickstartConfig:
    """Sizes and seeds of the quickstart run."""

    n_clips: int = 3000  # synthetic clips (about a minute to generate on 2 cores)
    seed: int = 0  # one seed for the data; models derive theirs from it
    vq_steps: int = 1000  # VQ-VAE (small preset) steps: about a third of its full schedule
    vq_minutes: float = 8.0  # wall-clock cap on VQ-VAE training (a slow machine stops early; resumable)
    retrieval_epochs: int = 10  # reward encoder; the held-out evaluator trains as long
    sft_steps: int = 300  # verl SFT optimizer steps of the tiny LLM
    sft_batch_size: int = 16
    grpo_steps: int = 20  # verl main_ppo GRPO steps from the SFT model
    grpo_prompts_per_step: int = 8  # prompts per step; each gets grpo_group_size responses
    grpo_group_size: int = 4
    report_videos: int = 3  # side-by-side ground truth / SFT / GRPO videos in the report

    def __post_init__(self) -> None:
        if self.n_clips < 400:
            # R-Precision draws batches of 32 test clips; the test split is about 9 % of the clips.
            raise UserError(f"--clips must be >= 400 so the test split holds 32 clips, got {self.n_clips}")
        for name in ("vq_steps", "retrieval_epochs", "sft_steps", "grpo_steps", "sft_batch_size"):
            if getattr(self, name) < 1:
                raise UserError(f"{name} must be >= 1, got {getattr(self, name)}")


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


def train_sft(
    model_path: Path, sft_data: Path, ckpt_dir: Path, target_dir: Path, *, steps: int, batch_size: int
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
    overrides: tuple[str, ...] = (),
) -> None:
    """verl GRPO (recipes/motion_r1/grpo.sh) from ``model_path`` on the run's RL data and reward encoders,
    merged into ``target_dir``; ``overrides`` are extra hydra overrides (reward weights, seeds)."""
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
        f"actor_rollout_ref.actor.ppo_mini_batch_size={prompts_per_step}",
        f"actor_rollout_ref.rollout.n={group_size}",
        *overrides,
    )
    merge_env = {
        "CKPT_DIR": str(ckpt_dir / f"global_step_{steps}" / "actor"),
        "MODEL_PATH": str(run_dir / "tiny-llm-motion"),
        "TARGET_DIR": str(target_dir),
    }
    run_recipe("merge.sh", merge_env)


def generate_split(model_dir: Path, data: Path, split: str, gen_dir: Path, seed: int) -> tuple[int, int]:
    """One motion per caption of ``split`` into ``gen_dir``; returns (well-formed, total).

    A caption whose response never held a well-formed motion span gets a motionless clip, so it counts
    against the model in every metric instead of dropping out of the evaluation.
    """
    from motion_r1_verl.generate import GenerateConfig, generate_motions, split_captions, write_results
    from motion_r1_verl.motion.humanml3d import save_npy_atomic
    from motion_r1_verl.quickstart_report import motionless_clip

    ids, captions = split_captions(data, split)
    results = generate_motions(model_dir, captions, n=1, ids=ids, config=GenerateConfig(seed=seed))
    write_results(results, gen_dir, video=None, bvh=False)
    failed = [r for r in results if not r.valid]
    if failed:
        stand_in = motionless_clip(data)
        for result in failed:
            save_npy_atomic(gen_dir / f"{result.name}.npy", stand_in)
    return len(results) - len(failed), len(results)


def evaluate_split(run_dir: Path, split: str, gen_dir: Path, label: str, out_json: Path, seed: int = 0) -> None:
    """``motion-r1 eval`` of ``gen_dir`` on ``split`` with the run's held-out evaluator, into ``out_json``."""
    out_json.parent.mkdir(parents=True, exist_ok=True)
    motion_r1(
        "eval", "--data", data_dir(run_dir), "--split", split, "--motions", gen_dir,
        "--ckpt", run_dir / "evaluator", "--label", label, "--json", out_json, "--seed", str(seed),
    )  # fmt: skip


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
        epochs = str(config.retrieval_epochs)
        seed = str(config.seed)
        motion_r1(
            "retrieval",
            "train",
            "--data",
            data_dir(run_dir),
            "--out",
            run_dir / "retrieval",
            "--epochs",
            epochs,
            "--seed",
            seed,
        )
        return f"text-motion reward encoders in {run_dir / 'retrieval'}"

    def evaluator(run_dir: Path) -> str:
        # A second model (other seed and size) judges the results, so rewards are never judged
        # only by the encoder they optimise.
        epochs = str(config.retrieval_epochs)
        seed = str(config.seed + 1)
        out = run_dir / "evaluator"
        motion_r1(
            "retrieval",
            "train",
            "--data",
            data_dir(run_dir),
            "--out",
            out,
            "--preset",
            "compact",
            "--epochs",
            epochs,
            "--seed",
            seed,
        )
        return f"held-out evaluator in {out}"

    def eval_real(run_dir: Path) -> str:
        out = run_dir / "eval" / "real.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        motion_r1(
            "eval",
            "--data",
            data_dir(run_dir),
            "--split",
            "test",
            "--reference",
            "--ckpt",
            run_dir / "evaluator",
            "--label",
            "Real",
            "--json",
            out,
        )
        return f"Real row (held-out evaluator, test split) in {out}"

    def cot(run_dir: Path) -> str:
        out = run_dir / "cot.jsonl"
        motion_r1(
            "cot",
            "build",
            "--data",
            data_dir(run_dir),
            "--mode",
            "oracle",
            "--split",
            "train",
            "--out",
            out,
            "--no-progress",
        )
        return f"oracle chain-of-thought for every training caption in {out}"

    def llm(run_dir: Path) -> str:
        motion_r1("make-tiny-llm", "--out", run_dir / "tiny-llm", "--data", data_dir(run_dir), "--overwrite")
        motion_r1(
            "extend-vocab",
            "--base",
            run_dir / "tiny-llm",
            "--codebook-size",
            str(_codebook_size(run_dir)),
            "--init",
            "codebook",
            "--codec",
            run_dir / "vq",
            "--pad-to-multiple-of",
            "64",
            "--out",
            run_dir / "tiny-llm-motion",
        )
        return f"tiny Qwen2 LM with motion vocabulary in {run_dir / 'tiny-llm-motion'}"

    def sft_data(run_dir: Path) -> str:
        motion_r1(
            "build-sft",
            "--cot",
            run_dir / "cot.jsonl",
            "--codes",
            run_dir / "codes.jsonl",
            "--out",
            run_dir / "sft-data",
        )
        return f"SFT parquet in {run_dir / 'sft-data'}"

    def sft(run_dir: Path) -> str:
        train_sft(
            run_dir / "tiny-llm-motion",
            run_dir / "sft-data",
            run_dir / "sft-ckpt",
            run_dir / "sft-model",
            steps=config.sft_steps,
            batch_size=config.sft_batch_size,
        )
        return f"cold-start SFT model (merged HF folder) in {run_dir / 'sft-model'}"

    def rl_data(run_dir: Path) -> str:
        motion_r1(
            "build-rl", "--cot", run_dir / "cot.jsonl", "--codes", run_dir / "codes.jsonl", "--out", run_dir / "rl-data"
        )
        return f"RL parquet in {run_dir / 'rl-data'}"

    def grpo(run_dir: Path) -> str:
        train_grpo(
            run_dir,
            run_dir / "sft-model",
            run_dir / "grpo-ckpt",
            run_dir / "grpo-model",
            steps=config.grpo_steps,
            prompts_per_step=config.grpo_prompts_per_step,
            group_size=config.grpo_group_size,
        )
        return f"GRPO model (merged HF folder) in {run_dir / 'grpo-model'}"

    def generate_with(model: str) -> Callable[[Path], str]:
        def generate(run_dir: Path) -> str:
            gen_dir = run_dir / "generated" / model
            ok, total = generate_split(run_dir / f"{model}-model", data_dir(run_dir), "test", gen_dir, config.seed)
            return f"{ok}/{total} well-formed test generations in {gen_dir}"

        return generate

    def evaluate_with(model: str, label: str) -> Callable[[Path], str]:
        def evaluate(run_dir: Path) -> str:
            out = run_dir / "eval" / f"{model}.json"
            evaluate_split(run_dir, "test", run_dir / "generated" / model, label, out)
            return f"{label} row (held-out evaluator, test split) in {out}"

        return evaluate

    def report(run_dir: Path) -> str:
        import numpy as np

        from motion_r1_verl.motion.humanml3d import load_split
        from motion_r1_verl.motion.render import render_animation
        from motion_r1_verl.quickstart_report import ReportRow, motion_similarity, write_report

        models = {"sft": "SFT", "grpo": "SFT+GRPO"}
        rows = [ReportRow("Real", run_dir / "eval" / "real.json", None)]
        rows += [
            ReportRow(label, run_dir / "eval" / f"{m}.json", run_dir / "generated" / m) for m, label in models.items()
        ]
        similarities = {
            label: motion_similarity(run_dir / "evaluator", data_dir(run_dir), run_dir / "generated" / m)
            for m, label in models.items()
        }
        videos = []
        clips, _ = load_split(data_dir(run_dir), "test")
        for clip in clips[: config.report_videos]:
            motions = [clip.features] + [np.load(run_dir / "generated" / m / f"{clip.id}.npy") for m in models]
            out = run_dir / "videos" / f"{clip.id}.mp4"
            out.parent.mkdir(parents=True, exist_ok=True)
            caption = clip.captions[0].text
            render_animation(motions, out, caption=caption, labels=["ground truth", *models.values()])
            videos.append((caption, out))
        done = [marker_path(run_dir, s.name) for s in stages]
        stage_lines = [f"{p.stem}: {p.read_text().strip()}" for p in done if p.exists()]
        out = run_dir / "report.md"
        write_report(out, rows, similarities, videos, stage_lines)
        print(out.read_text())
        return f"report in {out}"

    stages = [
        Stage("data", "generate the synthetic compositional motion dataset", synth),
        Stage("render", "render one test clip to mp4", render),
        Stage("vq", "train the VQ-VAE motion tokenizer (small preset)", vq),
        Stage("codes", "encode every clip into motion codes", codes),
        Stage("retrieval", "train the text-motion encoders the rewards use", retrieval),
        Stage("evaluator", "train a held-out text-motion evaluator", evaluator),
        Stage("eval-real", "evaluate the real test motions (the Real row)", eval_real),
        Stage("cot", "render the oracle chain of thought (CoT) per caption", cot),
        Stage("llm", "make the tiny LLM and extend its vocabulary with motion tokens", llm),
        Stage("sft-data", "build the SFT parquet (caption -> <think><output><Motion>)", sft_data),
        Stage("sft", "cold-start SFT with verl's sft_trainer, then merge to an HF folder", sft),
        Stage("rl-data", "build the RL parquet (prompt + ground-truth motion codes)", rl_data),
        Stage("grpo", "GRPO with verl's main_ppo and the Motion-R1 reward, then merge", grpo),
        Stage("generate-sft", "generate motions for the test captions with the SFT model", generate_with("sft")),
        Stage("generate-grpo", "generate motions for the test captions with the GRPO model", generate_with("grpo")),
        Stage("eval-sft", "evaluate the SFT generations", evaluate_with("sft", "SFT")),
        Stage("eval-grpo", "evaluate the GRPO generations", evaluate_with("grpo", "SFT+GRPO")),
        Stage("report", "write report.md (metrics table, side-by-side videos)", report),
    ]
    return stages
