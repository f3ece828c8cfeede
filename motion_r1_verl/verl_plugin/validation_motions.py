"""The decode hook inside training: validation generations decoded, rendered and logged while GRPO runs.

verl logs validation generations as text only (``trainer.log_val_generations``). With this hook, every
validation (and, optionally, every N training steps) decodes the policy's responses through the VQ-VAE
(:mod:`motion_r1_verl.vq.hook`), and

- renders a fixed set of prompts (the first ``clips`` captions of the first validation, in a stable
  hash order, so each clip is the same prompt at every step): the generated motion beside the decoded
  ground truth, as ``<out_dir>/<step>/clip_<k>.mp4`` (or gif) with the features as ``clip_<k>.npy`` and
  one ``motions.jsonl`` line per clip (caption, response, reason, seconds, files);
- measures every motion response of the validation set: ``val-motion/decoded`` (share with a decodable
  motion span), ``val-motion/seconds`` (mean length), ``val-motion/root_travel_m`` (mean horizontal path
  of the root) and ``val-motion/foot_skate_cm_per_frame`` (feet sliding while on the floor), appended to
  ``<out_dir>/metrics.jsonl``;
- logs both to the trackers of ``trainer.logger``: TensorBoard (the clips as animated images, the
  metrics as scalars, in verl's own ``TENSORBOARD_DIR``) and W&B (``wandb.Video`` and the metrics, in
  verl's run).

It lives in the replay buffer (:mod:`motion_r1_verl.verl_plugin.replay_buffer`): verl 0.9.1's
``_validate`` samples every validation batch through it, so the standard ``main_ppo`` launch is kept.
Configured by ``trainer.v1.sampler.sampler_kwargs.validation_motions`` (the GRPO profiles set it;
``grpo.sh`` fills in ``vq_ckpt`` and ``out_dir``)::

    +trainer.v1.sampler.sampler_kwargs.validation_motions.vq_ckpt=runs/vq
    +trainer.v1.sampler.sampler_kwargs.validation_motions.tokenizer=runs/sft-merged
    +trainer.v1.sampler.sampler_kwargs.validation_motions.out_dir=runs/grpo/validation/motions

Rendering runs in the trainer's process between steps (about 3 s per 5-second clip on a CPU core; the
metrics of 544 responses take under a second), so the number of clips is small by default. A failure here
is logged and never stops training.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.constants import FPS
from motion_r1_verl.motion.outputs.render import animation_frames, write_video
from motion_r1_verl.motion.sources.synth.skate import foot_skate_sums
from motion_r1_verl.runtime.files import save_npy_atomic, write_text_atomic
from motion_r1_verl.vq.hook import DecodeResult, decode_texts, get_codec
from reward_fns.motion_r1 import GroundTruth, parse_ground_truth
from reward_fns.router import MOTION_DATA_SOURCE

logger = logging.getLogger(__name__)

VIDEO_FORMATS = ("mp4", "gif", "none")
IN_MEMORY_ONLY = ("gif_frames", "video_path")  # a clip's entries for the trackers, not motions.jsonl
GIF_STRIDE = 2  # TensorBoard's animated images: every 2nd frame at half size keeps the event file small


@dataclass
class ValidationMotionsConfig:
    """``sampler_kwargs.validation_motions``: the hook is off until ``vq_ckpt`` is set."""

    vq_ckpt: str | None = None
    """The VQ-VAE checkpoint folder (``motion-r1 vq train --out``) that decodes the motion codes."""
    tokenizer: str | None = None
    """The policy's model folder: its tokenizer turns response ids into text (the profiles use the model path)."""
    out_dir: str | None = None
    """Where the clips and ``metrics.jsonl`` go (``grpo.sh``: ``OUT_DIR/validation/motions``)."""
    clips: int = 4
    """How many fixed prompts are rendered at each logged step (0: metrics only)."""
    every: int = 1
    """Render and log every N-th validation."""
    train_every: int = 0
    """Also render and log the training rollouts every N steps (0: off)."""
    video: str = "mp4"
    """``mp4``, ``gif`` or ``none`` (no local video files; the trackers still get theirs)."""
    npy: bool = True
    """Also save each rendered clip's generated features (HumanML3D, 263-dim) as ``.npy``."""
    loggers: list[str] = field(default_factory=lambda: ["console"])
    """``trainer.logger``: the trackers to log to (``tensorboard``, ``wandb``; others get the files only)."""
    tensorboard_dir: str | None = None
    """Default: verl's own (``$TENSORBOARD_DIR`` or ``tensorboard_log/<project>/<experiment>``)."""
    project_name: str = "motion_r1"
    experiment_name: str = "grpo"
    device: str = "cpu"
    """Where the VQ decoder runs (the trainer's process; CPU leaves the accelerators to verl)."""

    @classmethod
    def from_kwargs(cls, values: Mapping[str, Any] | None) -> ValidationMotionsConfig:
        values = dict(values or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UserError(
                f"trainer.v1.sampler.sampler_kwargs.validation_motions: unknown key(s) {unknown}; "
                f"expected some of {sorted(known)}"
            )
        config = cls(**{k: v for k, v in values.items() if v is not None or k in ("vq_ckpt", "tokenizer")})
        config.loggers = [str(name) for name in (config.loggers or [])]
        if config.video not in VIDEO_FORMATS:
            raise UserError(f"validation_motions.video: {config.video!r}, expected one of {list(VIDEO_FORMATS)}")
        for name in ("clips", "every", "train_every"):
            if int(getattr(config, name)) < 0:
                raise UserError(f"validation_motions.{name}: {getattr(config, name)}, expected >= 0")
        if config.vq_ckpt and not config.tokenizer:
            raise UserError("validation_motions.tokenizer: not set; expected the policy's model folder")
        return config

    @property
    def enabled(self) -> bool:
        return bool(self.vq_ckpt)


@dataclass
class MotionSample:
    """One response of a batch, with what the hook needs to judge it."""

    key: str
    caption: str
    text: str
    ground_truth: GroundTruth | None


def motion_metrics(results: Sequence[DecodeResult]) -> dict[str, float]:
    """The validation set's motion metrics (see the module docstring); lengths in seconds at 20 fps."""
    decoded = [r for r in results if r.valid and r.joints is not None]
    metrics = {"decoded": len(decoded) / len(results) if results else 0.0}
    if decoded:
        metrics["seconds"] = float(np.mean([len(r.joints) / FPS for r in decoded]))
        travel = [np.linalg.norm(np.diff(r.joints[:, 0, [0, 2]], axis=0), axis=-1).sum() for r in decoded]
        metrics["root_travel_m"] = float(np.mean(travel))
        sums = [foot_skate_sums(r.joints) for r in decoded]
        contacts = sum(count for _, count in sums)
        metrics["foot_skate_cm_per_frame"] = sum(total for total, _ in sums) / contacts if contacts else 0.0
    return metrics


def stable_order(captions: Sequence[str]) -> list[str]:
    """Distinct captions in an order that does not depend on the batch (sha1 of the text)."""
    return sorted(set(captions), key=lambda c: hashlib.sha1(c.encode("utf-8", "replace")).hexdigest())


def session_index(key: str) -> int:
    """verl's response keys are ``<uid>_<session>_<turn>``: the sample's index within its prompt group."""
    parts = key.rsplit("_", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0


class ValidationMotionLogger:
    """Decodes, renders and logs one partition's responses per logged step (see the module docstring)."""

    def __init__(self, config: ValidationMotionsConfig) -> None:
        self.config = config
        self.out_dir = Path(config.out_dir or "validation_motions")
        self._chosen: dict[str, list[str]] = {}  # partition -> the fixed captions that are rendered
        self._validations = 0
        self._last_val_step: int | None = None
        self._tokenizer = None
        self._tensorboard = None

    # ---------------------------------------------------------------- when
    def wants(self, partition: str, step: int) -> bool:
        """Whether this call of the replay buffer's ``sample`` is logged."""
        if not self.config.enabled:
            return False
        if partition == "val":
            if step != self._last_val_step:  # a validation may sample several batches at one step
                self._last_val_step = step
                self._validations += 1
            return (self._validations - 1) % max(1, self.config.every) == 0
        every = self.config.train_every
        return partition == "train" and every > 0 and step % every == 0

    # ---------------------------------------------------------------- what
    def decode_ids(self, responses: Sequence[Sequence[int]]) -> list[str]:
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.config.tokenizer)
        # As verl decodes responses (skip_special_tokens=True): the motion tokens are not special.
        return self._tokenizer.batch_decode([list(map(int, ids)) for ids in responses], skip_special_tokens=True)

    def log(self, partition: str, step: int, samples: Sequence[MotionSample]) -> dict[str, float]:
        """Decode ``samples``, write the step's clips and metrics, log them; return the metrics."""
        prefix = "val-motion" if partition == "val" else "train-motion"
        motion = [s for s in samples if s.ground_truth is not None]
        results = decode_texts([s.text for s in motion], self.config.vq_ckpt, self.config.device)
        metrics = {f"{prefix}/{k}": v for k, v in motion_metrics(results).items()}
        metrics[f"{prefix}/responses"] = float(len(motion))
        clips = self._render(partition, step, motion, results) if self.config.clips else []
        self._append_metrics(partition, step, metrics)
        self._log_trackers(prefix, step, metrics, clips)
        logger.info("step %d %s: %s, %d clip(s) in %s", step, prefix, metrics, len(clips), self.out_dir)
        return metrics

    def _fixed_set(self, partition: str, captions: Sequence[str]) -> list[str]:
        chosen = self._chosen.setdefault(partition, [])
        if partition == "train":  # training prompts change every step: the step's first captions
            return stable_order(captions)[: self.config.clips]
        for caption in stable_order(captions):
            if len(chosen) >= self.config.clips:
                break
            if caption not in chosen:
                chosen.append(caption)
        return chosen

    def _render(self, partition: str, step: int, samples, results) -> list[dict]:
        chosen = self._fixed_set(partition, [s.caption for s in samples])
        first: dict[str, int] = {}
        for i, sample in enumerate(samples):
            if sample.caption in chosen and session_index(sample.key) == 0:
                first.setdefault(sample.caption, i)
        step_dir = self.out_dir / (str(step) if partition == "val" else f"train_{step}")
        codec = get_codec(self.config.vq_ckpt, self.config.device)
        rows = []
        for k, caption in enumerate(chosen):
            if caption not in first:
                continue  # not in this batch (a validation may come in several)
            i = first[caption]
            sample, result = samples[i], results[i]
            row = {"clip": k, "caption": caption, "key": sample.key, "response": sample.text}
            row |= {"reason": result.reason, "ground_truth_id": sample.ground_truth.id}
            motions, labels = [], []
            if result.valid:
                motions.append(result.features)
                labels.append(f"generated ({len(result.features) / FPS:.1f} s)")
                row["seconds"] = len(result.features) / FPS
                if self.config.npy:
                    save_npy_atomic(step_dir / f"clip_{k}.npy", result.features.astype(np.float32))
                    row["npy"] = f"clip_{k}.npy"
            truth = codec.decode([np.asarray(sample.ground_truth.codes, dtype=np.int64)])[0]
            motions.append(truth)
            labels.append("ground truth (VQ)")
            if not result.valid:
                labels[-1] += f" | generated: {result.reason}"
            row |= self._write_clip(step_dir, k, motions, caption, labels)
            rows.append(row)
        if rows:
            lines = [json.dumps({k: v for k, v in r.items() if k not in IN_MEMORY_ONLY}) + "\n" for r in rows]
            write_text_atomic(step_dir / "motions.jsonl", "".join(lines))
        return rows

    def _write_clip(self, step_dir: Path, k: int, motions, caption: str, labels) -> dict:
        small: list[np.ndarray] = []

        def frames():
            for index, frame in enumerate(animation_frames(motions, caption=caption, labels=labels)):
                if index % GIF_STRIDE == 0:
                    small.append(np.ascontiguousarray(frame[::GIF_STRIDE, ::GIF_STRIDE]))
                yield frame

        files: dict[str, Any] = {}
        if self.config.video != "none":
            path = step_dir / f"clip_{k}.{self.config.video}"
            write_video(frames(), path)
            files["video"] = path.name
            files["video_path"] = str(path)
        else:
            for _ in frames():
                pass
        files["gif_frames"] = small
        return files

    # ---------------------------------------------------------------- where
    def _append_metrics(self, partition: str, step: int, metrics: dict[str, float]) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with (self.out_dir / "metrics.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"step": step, "partition": partition, **metrics}) + "\n")

    def _log_trackers(self, prefix: str, step: int, metrics: dict[str, float], clips: list[dict]) -> None:
        loggers = set(self.config.loggers)
        if "tensorboard" in loggers:
            writer = self._tensorboard_writer()
            for key, value in metrics.items():
                writer.add_scalar(key, value, step)
            for clip in clips:
                add_animated_image(writer, f"{prefix}/clip_{clip['clip']}", clip["gif_frames"], step)
            writer.flush()
        if "wandb" in loggers:
            import wandb

            if wandb.run is not None:  # verl's Tracking started it in this process
                data: dict[str, Any] = dict(metrics)
                for clip in clips:
                    if clip.get("video_path"):
                        data[f"{prefix}/clip_{clip['clip']}"] = wandb.Video(clip["video_path"], caption=clip["caption"])
                wandb.log(data, step=step)
        for clip in clips:  # the frames are for the trackers only
            clip.pop("gif_frames", None)

    def _tensorboard_writer(self):
        if self._tensorboard is None:
            from torch.utils.tensorboard import SummaryWriter

            default = f"tensorboard_log/{self.config.project_name}/{self.config.experiment_name}"
            log_dir = self.config.tensorboard_dir or os.environ.get("TENSORBOARD_DIR", default)
            self._tensorboard = SummaryWriter(log_dir=log_dir, filename_suffix=".motions")
        return self._tensorboard


def gif_bytes(frames: Sequence[np.ndarray], fps: float) -> bytes:
    """An animated GIF of (H, W, 3) uint8 frames."""
    import imageio.v3 as iio

    buffer = io.BytesIO()
    iio.imwrite(buffer, np.stack(frames), extension=".gif", duration=1000.0 / fps, loop=0)
    return buffer.getvalue()


def add_animated_image(writer, tag: str, frames: Sequence[np.ndarray], step: int) -> None:
    """A TensorBoard image summary holding an animated GIF: what ``SummaryWriter.add_video`` writes, without
    the moviepy dependency it needs for the encoding. TensorBoard's Images tab plays it."""
    if not frames:
        return
    from tensorboard.compat.proto.summary_pb2 import Summary

    height, width = frames[0].shape[:2]
    image = Summary.Image(
        height=height, width=width, colorspace=3, encoded_image_string=gif_bytes(frames, FPS / GIF_STRIDE)
    )
    writer._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)


def parse_motion_ground_truth(data_source: Any, reward_model: Any, codebook_size: int) -> GroundTruth | None:
    """A motion row's ground truth; None for other data sources (mixed runs) and unreadable ones."""
    if str(data_source) != MOTION_DATA_SOURCE or not isinstance(reward_model, Mapping):
        return None
    parsed = parse_ground_truth(reward_model.get("ground_truth"), codebook_size)
    return parsed if isinstance(parsed, GroundTruth) else None


def caption_of(raw_prompt: Any, extra_info: Any = None) -> str:
    """The caption a response answers: our rows' ``extra_info.caption``, else the last user message of
    verl's ``raw_prompt`` (a row of another dataset)."""
    if isinstance(extra_info, Mapping) and isinstance(extra_info.get("caption"), str):
        return extra_info["caption"]
    messages = raw_prompt.tolist() if isinstance(raw_prompt, np.ndarray) else raw_prompt
    for message in reversed(list(messages or [])):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return str(message.get("content", ""))
    return ""
