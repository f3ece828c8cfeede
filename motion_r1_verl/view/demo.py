"""A local web demo of a trained model: type a caption, get the reasoning, the plan and the motion in 3D.

``motion-r1 demo --model runs/grpo-merged`` serves a Gradio page on http://127.0.0.1:7860. Each answer:

- the ``<think>`` reasoning and the ``<output>`` plan of the sampled response;
- the motion decoded by the model's VQ-VAE as an animated 3D skeleton (:mod:`.skeleton`; play, scrub,
  rotate) with its root path on the floor;
- downloads: the features (``.npy``, the eval's layout), the joints (``.npy``), a BVH and an mp4, written by
  :func:`motion_r1_verl.generate.write_results` under ``out_dir/<answer number>/``.

A response with no well-formed motion span is sampled again (``GenerateConfig.retries``); when every attempt
fails the page shows why (the parser's reason) and the model's text, and the next press samples with the
next seed. Nothing a model writes raises out of :meth:`MotionDemo.answer`.

The model is loaded once (:func:`motion_r1_verl.generate.load_sampler`); answers are served one at a time
(Gradio's queue), since one model instance is not shared between threads.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from motion_r1_verl.errors import UserError, field_error
from motion_r1_verl.generate import GenerateConfig, generate_motions, load_sampler, resolve_codec, write_results
from motion_r1_verl.generate.sampler import Sampler
from motion_r1_verl.view.skeleton import motion_figure

logger = logging.getLogger(__name__)

EXAMPLE_CAPTIONS = (
    "a person walks forward then waves",
    "someone jumps twice and turns around",
    "a person squats down and stands back up",
)
# Shown in the downloads list in this order (write_sample's keys).
DOWNLOADS = ("features", "joints", "bvh", "video")
# features and joints are both <name>.npy (in OUT and OUT/joints): the joints download gets its own name.
JOINTS_DOWNLOAD = "{name}_joints.npy"


@dataclass(frozen=True)
class DemoConfig:
    """How the demo samples and where it writes.

    Fields:
        generate: sampling settings; the page's temperature and seed boxes start from these.
        out_dir: where each answer's files go (default: a new folder in the system's temp folder).
        frame_stride: keep every k-th frame in the 3D animation (the files keep all of them).
    """

    generate: GenerateConfig = field(default_factory=GenerateConfig)
    out_dir: Path | None = None
    frame_stride: int = 2

    def __post_init__(self) -> None:
        if self.frame_stride < 1:
            raise field_error("frame_stride", f"must be >= 1, got {self.frame_stride}")


@dataclass
class DemoAnswer:
    """What the page shows for one caption."""

    status: str
    """One line of markdown: how long the motion is, or why there is none."""
    reasoning: str
    plan: str
    figure: Any | None
    """The Plotly figure of the motion; None when there is no motion."""
    files: list[str]
    """Absolute paths of the downloads, in ``DOWNLOADS`` order."""
    valid: bool


def _linked(source: Path, target: Path) -> Path:
    """``target`` as a second name of ``source`` (a hard link; a copy where the file system has none)."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return target


class MotionDemo:
    """The model, its codec and the answers: :meth:`answer` is the page's callback, :meth:`blocks` the page."""

    def __init__(
        self,
        model_dir: str | os.PathLike,
        codec: str | os.PathLike | None = None,
        config: DemoConfig | None = None,
        sampler: Sampler | None = None,
    ) -> None:
        self.config = config or DemoConfig()
        self.model_dir = Path(model_dir)
        # Both raise a UserError naming the folder when it is not a merged model with its motion vocabulary.
        self.codec = resolve_codec(self.model_dir, codec)
        gen = self.config.generate
        self.sampler = sampler or load_sampler(self.model_dir, gen.backend, gen.device, gen.seed)
        self.out_dir = Path(self.config.out_dir or tempfile.mkdtemp(prefix="motion-r1-demo-"))
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._numbers = itertools.count()

    def answer(self, caption: str, temperature: float | None = None, seed: int | None = None) -> DemoAnswer:
        """Sample, decode and write one motion for ``caption``; never raises for what the model writes."""
        caption = " ".join(str(caption or "").split())
        if not caption:
            return DemoAnswer("Type a caption first.", "", "", None, [], False)
        try:
            gen = replace(
                self.config.generate,
                temperature=self.config.generate.temperature if temperature is None else float(temperature),
                seed=self.config.generate.seed if seed is None else int(seed),
            )
        except (UserError, TypeError, ValueError) as err:
            return DemoAnswer(f"**Bad setting:** {err}", "", "", None, [], False)
        number = next(self._numbers)
        [result] = generate_motions(
            self.model_dir,
            [caption],
            ids=[f"{number:05d}"],
            codec=self.codec,
            config=gen,
            sampler=self.sampler,
            progress=False,
        )
        tries = f"{result.attempts} attempt{'s' if result.attempts > 1 else ''}"
        if not result.valid:
            status = (
                f"**No motion** after {tries} (seed {gen.seed}): {result.reason}. "
                "Press *Generate* again to sample with the next seed."
            )
            # The raw text shows what the model wrote when its reasoning blocks did not parse either.
            return DemoAnswer(status, result.think or result.text, result.plan or "", None, [], False)
        folder = self.out_dir / result.name
        [row] = write_results([result], folder, progress=False)
        paths = {key: folder / row["files"][key] for key in DOWNLOADS if key in row["files"]}
        paths["joints"] = _linked(paths["joints"], folder / JOINTS_DOWNLOAD.format(name=result.name))
        files = [str(path.resolve()) for path in paths.values()]
        status = f"{result.seconds:.1f} s of motion from {len(result.codes)} codes ({tries}, seed {gen.seed})"
        if row["warnings"]:
            status += "; " + "; ".join(row["warnings"])
        figure = motion_figure([("generated", result.joints)], self.config.frame_stride, caption)
        return DemoAnswer(status, result.think or "", result.plan or "", figure, files, True)

    def blocks(self):
        """The Gradio page (not yet launched)."""
        import gradio as gr

        gen = self.config.generate

        def on_generate(caption: str, temperature: float, seed: float):
            try:
                answer = self.answer(caption, temperature, int(seed))
            except UserError as err:  # e.g. a codec that no longer matches: say so on the page
                answer = DemoAnswer(f"**Error:** {err}", "", "", None, [], False)
            # The next press samples anew: the seed box moves on.
            return answer.status, answer.reasoning, answer.plan, answer.figure, answer.files, int(seed) + 1

        with gr.Blocks(title="Motion-R1 demo", analytics_enabled=False) as page:
            gr.Markdown(f"## Motion-R1: text → reasoning → motion\nModel `{self.model_dir}`, codec `{self.codec}`")
            caption = gr.Textbox(label="caption", placeholder=EXAMPLE_CAPTIONS[0], elem_id="caption")
            with gr.Row():
                temperature = gr.Slider(0.0, 1.5, value=gen.temperature, step=0.05, label="temperature")
                seed = gr.Number(value=gen.seed, precision=0, label="seed", elem_id="seed")
                button = gr.Button("Generate", variant="primary", elem_id="generate")
            gr.Examples([[c] for c in EXAMPLE_CAPTIONS], inputs=[caption])
            status = gr.Markdown(elem_id="status")
            with gr.Row():
                reasoning = gr.Textbox(label="reasoning (<think>)", lines=6, interactive=False, elem_id="reasoning")
                plan = gr.Textbox(label="plan (<output>)", lines=6, interactive=False, elem_id="plan")
            motion = gr.Plot(label="motion", elem_id="motion")
            files = gr.File(label="downloads (features .npy, joints .npy, BVH, mp4)", file_count="multiple")
            outputs = [status, reasoning, plan, motion, files, seed]
            button.click(on_generate, [caption, temperature, seed], outputs)
            caption.submit(on_generate, [caption, temperature, seed], outputs)
        return page

    def launch(self, host: str = "127.0.0.1", port: int = 7860, block: bool = True):
        """Serve the page on ``host:port`` (local only by default; no share link, no analytics)."""
        import gradio as gr

        os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
        # System fonts: the default theme fetches Google fonts, which an offline machine cannot reach.
        theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"])
        page = self.blocks()
        page.queue(default_concurrency_limit=1)
        page.launch(
            server_name=host,
            server_port=port,
            share=False,
            inbrowser=False,
            prevent_thread_lock=not block,
            allowed_paths=[str(self.out_dir)],
            theme=theme,
            quiet=True,
        )
        return page
