"""The quickstart: the whole Motion-R1 pipeline on the embedded synthetic dataset, on CPU.

``motion-r1 quickstart --out runs/quickstart`` (what ``make quickstart`` runs) chains the stages below;
each one shows progress, writes its outputs under the run folder and is skipped on the next run
(``--force`` redoes, ``--only NAME`` runs one). Sizes are chosen so a 2-core machine finishes in
minutes; every stage is the same code a full-scale run uses, only the presets are small.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from motion_r1_verl.errors import UserError
from motion_r1_verl.pipeline import Stage


@dataclass(frozen=True)
class QuickstartConfig:
    """Sizes and seeds of the quickstart run."""

    n_clips: int = 3000  # synthetic clips (about a minute to generate on 2 cores)
    seed: int = 0  # one seed for the data; models derive theirs from it

    def __post_init__(self) -> None:
        if self.n_clips < 50:
            raise UserError(f"n_clips must be >= 50 so every split gets clips, got {self.n_clips}")


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

    return [
        Stage("data", "generate the synthetic compositional motion dataset", synth),
        Stage("render", "render one test clip to mp4", render),
    ]
