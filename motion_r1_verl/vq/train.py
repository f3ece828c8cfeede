"""Train the motion VQ-VAE on a HumanML3D-format folder; resumable, atomic checkpoints.

Loss per step (T2M-GPT): ``smooth_l1(recon, x) + commit_beta * commit + pos_weight * pos`` where
``pos`` is a smooth-L1 on the joint-position part of the features (``pos_space="ric"``) or an L1 on
global joint positions recovered by ``joints_from_features`` (``pos_space="joints"``, in decimetres so
its scale matches the normalised-feature terms). AdamW, linear warm-up, then step decay; the learning
rate is a pure function of the step (nothing to restore but the step).

Exact resume: the checkpoint holds every parameter and quantiser buffer; ``trainer_state.pt`` holds
the optimiser state, the step, the torch RNG (codebook resets draw from it) and the window sampler's
generator. Continuing from a checkpoint gives the same losses as never stopping (tested).

Run: ``motion-r1 vq train --data DIR --out runs/vq --preset small`` (see ``motion_r1_verl/cli/vq.py``).
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from motion_r1_verl.errors import UserError, field_error
from motion_r1_verl.motion.core.constants import CONTACT_SLICE, FEATURE_DIM, RIC_SLICE, ROOT_SLICE
from motion_r1_verl.motion.core.features import joints_from_features
from motion_r1_verl.motion.core.normalization import Normalizer
from motion_r1_verl.runtime.device import pick_device
from motion_r1_verl.vq.checkpoint import load_checkpoint, load_trainer_state, save_checkpoint
from motion_r1_verl.vq.config import VQConfig
from motion_r1_verl.vq.data import WindowSampler, load_features
from motion_r1_verl.vq.evaluate import ReconMetrics, mpjpe, reconstruction_metrics
from motion_r1_verl.vq.model import MotionVQVAE

logger = logging.getLogger(__name__)

# Metres -> decimetres for the ``joints`` position loss: a 1 cm error then costs 0.1, the size of a
# typical normalised-feature error, so pos_weight keeps its meaning across the two spaces.
JOINT_LOSS_SCALE = 10.0
# Progress-bar statistics are averaged over this many steps (MPJPE on the batch is computed as often).
LOG_EVERY = 10


def lr_at(step: int, config: VQConfig) -> float:
    """Learning rate for optimiser step ``step`` (0-based): linear warm-up, then step decay."""
    train = config.train
    lr = train.lr * min(1.0, (step + 1) / train.warmup_steps) if train.warmup_steps else train.lr
    return lr * train.lr_gamma ** sum(step >= m for m in train.lr_milestones)


@dataclass
class TrainResult:
    """What a training call produced."""

    checkpoint: Path
    step: int
    """Optimiser steps done in total (including those before a resume)."""
    stopped_early: bool
    """True when ``stop_after`` or ``time_limit_s`` ended the run before ``config.train.steps``."""
    last_val: ReconMetrics | None
    history: list[dict[str, float]] = field(default_factory=list)
    """One row per logged step: step, loss terms, lr (and validation figures at validation steps)."""
    losses: list[float] = field(default_factory=list)
    """The total loss of every step run by THIS call (not of steps before a resume)."""


class VQTrainer:
    """One VQ-VAE training run: model, optimiser, data and the step counter."""

    def __init__(
        self,
        config: VQConfig,
        normalizer: Normalizer,
        train_clips: list[np.ndarray],
        val_clips: list[np.ndarray],
        device: torch.device,
        model: MotionVQVAE | None = None,
    ) -> None:
        self.config = config
        self.normalizer = normalizer
        self.device = device
        torch.manual_seed(config.train.seed)
        self.model = (model if model is not None else MotionVQVAE(config.model)).to(device).train()
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(),
            lr=config.train.lr,
            betas=config.train.betas,
            weight_decay=config.train.weight_decay,
        )
        normalized = [normalizer(np.asarray(c, dtype=np.float32)) for c in train_clips]
        self.sampler = WindowSampler.from_clips(normalized, config.train.window, config.train.seed)
        self.val_clips = val_clips[: config.train.val_max_clips]
        self.step = 0
        self.history: list[dict[str, float]] = []

    # -- state ----------------------------------------------------------------------------------------
    def trainer_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "sampler_rng": self.sampler.generator.get_state(),
            "history": self.history,
        }
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return state

    def load_trainer_state(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        self.sampler.generator.set_state(state["sampler_rng"])
        if self.device.type == "cuda" and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)
        self.history = list(state.get("history", []))

    # -- one step -------------------------------------------------------------------------------------
    def _position_loss(self, recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.config.train.pos_space == "ric":
            return F.smooth_l1_loss(recon[..., RIC_SLICE], x[..., RIC_SLICE])
        if self.config.train.pos_space == "joints":
            pred = joints_from_features(self.normalizer.inverse(recon))
            target = joints_from_features(self.normalizer.inverse(x))
            return F.l1_loss(pred, target) * JOINT_LOSS_SCALE
        raise ValueError(f"unknown pos_space {self.config.train.pos_space!r}")

    def train_step(self, with_mpjpe: bool = False) -> dict[str, float]:
        """One optimiser step on a fresh batch of windows; returns the loss terms."""
        train = self.config.train
        lr = lr_at(self.step, self.config)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x = self.sampler.sample(train.batch_size).to(self.device)
        out = self.model(x)
        recon_loss = F.smooth_l1_loss(out.recon, x)
        pos_loss = self._position_loss(out.recon, x)
        loss = recon_loss + train.commit_beta * out.commit_loss + train.pos_weight * pos_loss
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        row = {
            "step": float(self.step),
            "loss": loss.item(),
            "recon": recon_loss.item(),
            "commit": out.commit_loss.item(),
            "pos": pos_loss.item(),
            "perplexity": out.perplexity.item(),
            "lr": lr,
        }
        if with_mpjpe:
            with torch.no_grad():
                pred = joints_from_features(self.normalizer.inverse(out.recon.detach().float()))
                target = joints_from_features(self.normalizer.inverse(x.float()))
                row["mpjpe_mm"] = 1000.0 * float(mpjpe(pred, target).mean())
        return row

    def alive_codes(self) -> float:
        """Fraction of codes whose EMA usage count is >= 1 (the rest are reset every step)."""
        return float((self.model.quantizer.code_count >= 1.0).float().mean())

    def validate(self) -> ReconMetrics | None:
        if not self.val_clips:
            return None
        return reconstruction_metrics(self.model, self.normalizer, self.val_clips)

    def save(self, out_dir: Path, val: ReconMetrics | None) -> None:
        metadata = {"step": str(self.step)}
        if val is not None:
            metadata.update({k: f"{v:.6g}" for k, v in val.as_dict().items()})
        save_checkpoint(out_dir, self.model, self.config, self.normalizer, self.trainer_state(), metadata)


def _read_normalizer(data_dir: Path, train_clips: list[np.ndarray], feat_bias: float) -> Normalizer:
    """The data's Mean/Std (fitted on the training split when absent), root and foot-contact std divided
    by ``feat_bias`` (see :attr:`VQTrainConfig.feat_bias`)."""
    if (data_dir / "Mean.npy").is_file() and (data_dir / "Std.npy").is_file():
        normalizer = Normalizer.load(data_dir)
    else:
        logger.warning("%s has no Mean.npy/Std.npy: fitting them on the training split", data_dir)
        normalizer = Normalizer.fit(train_clips)
    if feat_bias == 1.0 or normalizer.dim != FEATURE_DIM:
        return normalizer
    std = normalizer.std.copy()
    std[ROOT_SLICE] /= feat_bias
    std[CONTACT_SLICE] /= feat_bias
    return Normalizer(normalizer.mean, std)


def _make_trainer(data_dir: Path, out_dir: Path, config, resume: bool, steps, dev) -> VQTrainer:
    """The trainer of a fresh run, or of the checkpoint in ``out_dir`` with its state (``resume``)."""
    if resume:
        model, ckpt_config, normalizer = load_checkpoint(out_dir, device="cpu")
        if config is not None and config.model != ckpt_config.model:
            raise field_error("resume", f": {out_dir} was trained with a different model config")
        config = ckpt_config
        state = load_trainer_state(out_dir)
    else:
        if (out_dir / "config.json").exists():
            raise UserError(
                f"{out_dir} already holds a checkpoint: pass resume=True to continue it, or another out_dir",
                mentions=("resume", "out_dir"),
            )
        config = config if config is not None else VQConfig()
        model, state, normalizer = None, None, None
    if steps is not None:
        config.train.steps = int(steps)
        config.train.__post_init__()

    _, train_clips = load_features(data_dir, "train", min_frames=config.train.window)
    val_clips: list[np.ndarray] = []
    if (data_dir / "val.txt").is_file():
        _, val_clips = load_features(data_dir, "val", min_frames=config.model.frames_per_code)
    else:
        logger.warning("%s has no val.txt: training without validation", data_dir)
    if normalizer is None:
        normalizer = _read_normalizer(data_dir, train_clips, config.train.feat_bias)

    trainer = VQTrainer(config, normalizer, train_clips, val_clips, dev, model=model)
    if state is not None:
        trainer.load_trainer_state(state)
        # load_checkpoint built the model in eval mode on CPU; the trainer moved it and set train().
    return trainer


def _log_running(trainer: VQTrainer, running: list[dict[str, float]], row: dict[str, float], bar) -> None:
    """One history row: the mean of the steps since the last one, lr, MPJPE and the live-code share."""
    mean = {k: sum(r[k] for r in running) / len(running) for k in ("loss", "recon", "commit", "perplexity")}
    row_log = {**mean, "step": float(trainer.step), "lr": row["lr"], "mpjpe_mm": row.get("mpjpe_mm", math.nan)}
    row_log["alive"] = trainer.alive_codes()
    trainer.history.append(row_log)
    running.clear()
    bar.set_postfix(
        loss=f"{mean['loss']:.4f}",
        mpjpe=f"{row_log['mpjpe_mm']:.1f}mm",
        ppl=f"{mean['perplexity']:.0f}",
        alive=f"{row_log['alive']:.0%}",
    )


def _validate(trainer: VQTrainer, bar) -> ReconMetrics | None:
    last_val = trainer.validate()
    if last_val is not None:
        trainer.history.append({"step": float(trainer.step), **{f"val_{k}": v for k, v in last_val.as_dict().items()}})
        bar.write(
            f"step {trainer.step}: val MPJPE {last_val.mpjpe_mm:.1f} mm"
            f" (global {last_val.mpjpe_global_mm:.1f}), usage {last_val.usage:.0%},"
            f" perplexity {last_val.perplexity:.0f}"
        )
    return last_val


def train_vq(
    data_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    config: VQConfig | None = None,
    *,
    resume: bool = False,
    steps: int | None = None,
    stop_after: int | None = None,
    time_limit_s: float | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train (or with ``resume=True`` continue) a VQ-VAE on ``data_dir``; checkpoint folder ``out_dir``.

    Args:
        config: the run's config (fresh runs); on resume the checkpoint's own config is used and
            passing a different one is an error.
        steps: overrides ``config.train.steps`` (the total, including steps done before a resume).
        stop_after: stop (and save) once this many steps are done in total, without changing the schedule (an
            interruption; ``resume=True`` continues exactly).
        time_limit_s: stop (and save) once this many seconds have passed; ``resume=True`` continues.
        device: default CUDA when available, else CPU.
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    trainer = _make_trainer(data_dir, out_dir, config, resume, steps, pick_device(device))
    config = trainer.config
    total = config.train.steps
    end = total if stop_after is None else min(total, stop_after)
    start_time = time.monotonic()
    last_val: ReconMetrics | None = None
    running: list[dict[str, float]] = []
    losses: list[float] = []
    bar = tqdm(total=total, initial=trainer.step, desc="vq train", disable=not progress, dynamic_ncols=True)
    stopped_early = False
    while trainer.step < end:
        row = trainer.train_step(with_mpjpe=(trainer.step + 1) % LOG_EVERY == 0)
        running.append(row)
        losses.append(row["loss"])
        bar.update(1)
        if trainer.step % LOG_EVERY == 0:
            _log_running(trainer, running, row, bar)
        out_of_time = time_limit_s is not None and time.monotonic() - start_time > time_limit_s
        finished = trainer.step >= end or out_of_time
        if trainer.step % config.train.val_every == 0 or finished:
            last_val = _validate(trainer, bar)
        if trainer.step % config.train.save_every == 0 or finished:
            trainer.save(out_dir, last_val)
        if out_of_time:
            stopped_early = trainer.step < total
            break
    bar.close()
    if trainer.step < total and not stopped_early:
        stopped_early = True
    if trainer.step == 0 or not (out_dir / "config.json").exists():
        trainer.save(out_dir, last_val)
    return TrainResult(
        checkpoint=out_dir,
        step=trainer.step,
        stopped_early=stopped_early,
        last_val=last_val,
        history=trainer.history,
        losses=losses,
    )
