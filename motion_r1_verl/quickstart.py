"""The quickstart: the whole Motion-R1 pipeline on the embedded synthetic dataset, on CPU.

``motion-r1 quickstart --out runs/quickstart`` (what ``make quickstart`` runs) chains the stages below;
each one shows progress, writes its outputs under the run folder and is skipped on the next run
(``--force`` redoes, ``--only NAME`` runs one). Sizes are chosen so a 2-core machine finishes in
minutes; every stage is the same code a full-scale run uses, only the presets are small.
"""

import json
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from motion_r1_verl.errors import UserError
from motion_r1_verl.pipeline import Stage


@dataclass(frozen=True)
class QuickstartConfig:
    """Sizes and seeds of the quickstart run."""

    n_clips: int = 3000  # synthetic clips (about a minute to generate on 2 cores)
    seed: int = 0  # one seed for the data; models derive theirs from it
    vq_minutes: float = 4.0  # wall-clock budget of the VQ-VAE (small preset); resumable
    retrieval_epochs: int = 10  # reward encoder; the held-out evaluator trains as long

    def __post_init__(self) -> None:
        if self.n_clips < 50:
            raise UserError(f"n_clips must be >= 50 so every split gets clips, got {self.n_clips}")


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


def data_dir(run_dir: Path) -> Path:
    return run_dir / "data"


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
        minutes = str(config.vq_minutes)
        motion_r1("vq", "train", "--data", data_dir(run_dir), "--out", run_dir / "vq", "--max-minutes", minutes)
        motion_r1("vq", "eval", "--ckpt", run_dir / "vq", "--data", data_dir(run_dir), "--split", "test")
        return f"VQ-VAE checkpoint in {run_dir / 'vq'}"

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
        motion_r1("cot", "build", "--data", data_dir(run_dir), "--mode", "oracle", "--out", out, "--no-progress")
        return f"oracle chain-of-thought for every caption in {out}"

    return [
        Stage("data", "generate the synthetic compositional motion dataset", synth),
        Stage("render", "render one test clip to mp4", render),
        Stage("vq", "train the VQ-VAE motion tokenizer (small preset)", vq),
        Stage("codes", "encode every clip into motion codes", codes),
        Stage("retrieval", "train the text-motion encoders the rewards use", retrieval),
        Stage("evaluator", "train a held-out text-motion evaluator", evaluator),
        Stage("eval-real", "evaluate the real test motions (the Real row)", eval_real),
        Stage("cot", "render the oracle chain of thought (CoT) per caption", cot),
    ]
