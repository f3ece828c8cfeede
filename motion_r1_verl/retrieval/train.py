"""Train the TMR-style text-motion model on a HumanML3D-format folder.

How: frozen sentence embeddings of every caption are computed once (cached in the checkpoint as
``text_cache.npz``); each epoch shuffles the training clips, picks one caption per clip and a random temporal
crop, and minimises symmetric InfoNCE with near-duplicate captions removed from the negatives. Every
``val_every`` epochs (and at the end) it measures retrieval on the val split with the standard protocol
(batches of 32, Euclidean distance) and writes a checkpoint atomically (build a temp folder, then swap).

Resumable: the randomness of epoch ``e`` comes from ``(seed, e)`` only, so resuming from a checkpoint taken at
an epoch boundary replays exactly what an uninterrupted run would have done.

    motion-r1 retrieval train --data data/synth --out runs/retrieval
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from motion_r1_verl.errors import UserError
from motion_r1_verl.metrics import r_precision_and_mm_dist
from motion_r1_verl.motion.core.humanml3d import MotionClip, load_split
from motion_r1_verl.motion.core.normalization import Normalizer
from motion_r1_verl.retrieval.config import TextMotionConfig, TrainConfig
from motion_r1_verl.retrieval.loss import info_nce
from motion_r1_verl.retrieval.model import TEXT_CACHE_NAME, TextMotionModel, pad_features
from motion_r1_verl.retrieval.text_encoder import get_text_encoder
from motion_r1_verl.runtime.device import pick_device
from motion_r1_verl.runtime.files import atomic_dir

logger = logging.getLogger(__name__)

STATE_NAME = "trainer_state.json"
OPTIMIZER_NAME = "optimizer.pt"
MIN_CROP_FRAMES = 20  # a random crop never goes below one second of motion


@dataclass
class Split:
    """Clips of one split with, per clip, the indices of its captions in the text table."""

    clips: list[MotionClip]
    caption_ids: list[list[int]]


def load_normalizer(data_dir: Path, clips: list[MotionClip]) -> Normalizer:
    """The folder's Mean.npy/Std.npy (computed on train) when present, else fitted on the training clips."""
    if (data_dir / "Mean.npy").is_file() and (data_dir / "Std.npy").is_file():
        return Normalizer.load(data_dir)
    logger.warning("%s has no Mean.npy/Std.npy: normalising with statistics of the training clips", data_dir)
    return Normalizer.fit([c.features for c in clips])


def _index_captions(clips: list[MotionClip], table: dict[str, int]) -> list[list[int]]:
    ids = []
    for clip in clips:
        ids.append([table.setdefault(c.text, len(table)) for c in clip.captions])
    return ids


def load_text_cache(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as data:
        return {str(t): v for t, v in zip(data["texts"], data["emb"], strict=True)}


def _write_text_cache(path: Path, texts: list[str], emb: np.ndarray) -> None:
    np.savez(path, texts=np.array(texts, dtype=str), emb=emb.astype(np.float32))


def retrieval_scores(model: TextMotionModel, split: Split, text_emb: np.ndarray, seed: int = 0) -> dict[str, float]:
    """R@1/2/3 and MM-Dist on ``split`` (first caption per clip), one replication of the batch-32 protocol."""
    motion = model.encode_motion([c.features for c in split.clips]).cpu().numpy()
    frozen = torch.from_numpy(text_emb[[ids[0] for ids in split.caption_ids]]).to(model.device)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        text = model.text_latent(frozen).cpu().numpy()
    model.train(was_training)
    batch = min(32, len(motion))
    r, mm = r_precision_and_mm_dist(text, motion, np.random.default_rng(seed), batch_size=batch)
    return {"R@1": float(r[0]), "R@2": float(r[1]), "R@3": float(r[2]), "MM-Dist": mm, "batch": batch}


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Multiplier of the peak lr: linear warm-up over ``warmup`` steps, then cosine decay to 0.1 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _crop(features: np.ndarray, rng: np.random.Generator, min_ratio: float) -> np.ndarray:
    t = len(features)
    lo = min(t, max(MIN_CROP_FRAMES, int(math.ceil(min_ratio * t))))
    length = int(rng.integers(lo, t + 1))
    start = int(rng.integers(0, t - length + 1))
    return features[start : start + length]


def _resume_state(out_dir: Path, resume: bool, model_config: TextMotionConfig, tc: TrainConfig):
    """(saved trainer state or None, the model config, the train config) of a fresh run or a resumed one."""
    state_path = out_dir / STATE_NAME
    if out_dir.exists() and any(out_dir.iterdir()) and not resume:
        raise UserError(
            f"{out_dir} already exists; pass resume=True to continue it or choose a new out_dir",
            mentions=("resume", "out_dir"),
        )
    state = json.loads(state_path.read_text()) if resume and state_path.is_file() else None
    if state is not None:
        model_config = TextMotionConfig.from_dict(state["model_config"])
        saved_tc = TrainConfig.from_dict(state["train_config"])
        if saved_tc.seed != tc.seed or saved_tc.batch_size != tc.batch_size:
            logger.warning("resuming with the checkpoint's seed/batch size %s", saved_tc)
        tc = TrainConfig.from_dict({**saved_tc.to_dict(), "epochs": tc.epochs})
    return state, model_config, tc


def _frozen_text_embeddings(out_dir: Path, texts: list[str], model_config: TextMotionConfig, dev, progress: bool):
    """Frozen text embeddings of ``texts``, once: reuse the checkpoint's cache, encode only what is missing."""
    cached = load_text_cache(out_dir / TEXT_CACHE_NAME)
    missing = [t for t in texts if t not in cached]
    if missing:
        encoder = get_text_encoder(model_config.text_model, dev)
        if encoder.dim != model_config.text_dim:
            raise UserError(f"text model gives {encoder.dim}-d embeddings but text_dim={model_config.text_dim}")
        logger.info("encoding %d captions with the frozen text encoder", len(missing))
        for i in tqdm(range(0, len(missing), 512), desc="text cache", disable=not progress, leave=False):
            chunk = missing[i : i + 512]
            cached.update(zip(chunk, encoder.encode(chunk), strict=True))
    return np.stack([cached[t] for t in texts]).astype(np.float32)


@dataclass
class TrainResult:
    """What a training call produced (the retrieval twin of ``motion_r1_verl.vq.train.TrainResult``)."""

    checkpoint: Path
    epoch: int
    """Epochs done in total (including those before a resume)."""
    stopped_early: bool
    """True when ``stop_after`` or ``time_limit_s`` ended the run before ``train_config.epochs``."""
    history: list[dict] = field(default_factory=list)
    """One row per validation: epoch, train loss, seconds, validation retrieval scores."""


@dataclass
class _Schedule:
    steps_per_epoch: int
    batch_size: int
    total_steps: int
    warmup: int

    @classmethod
    def of(cls, n_clips: int, tc: TrainConfig) -> _Schedule:
        steps_per_epoch = n_clips // tc.batch_size if n_clips >= tc.batch_size else 1
        total = steps_per_epoch * tc.epochs
        # Short runs still spend most steps at full lr.
        return cls(steps_per_epoch, min(tc.batch_size, n_clips), total, min(tc.warmup_steps, total // 5))


def _run_epoch(model, optimizer, train: Split, text_emb_t, tc: TrainConfig, schedule: _Schedule, epoch: int, bar):
    """One pass over ``train`` (its own seeded order, crops and captions); returns the summed loss."""
    dev = text_emb_t.device
    rng = np.random.default_rng([tc.seed, epoch])
    torch.manual_seed(tc.seed * 100_003 + epoch)
    order = rng.permutation(len(train.clips))
    running = 0.0
    for step_in_epoch in range(schedule.steps_per_epoch):
        step = epoch * schedule.steps_per_epoch + step_in_epoch
        idx = order[step_in_epoch * schedule.batch_size : (step_in_epoch + 1) * schedule.batch_size]
        feats = [_crop(train.clips[i].features, rng, tc.crop_min_ratio) for i in idx]
        cap = [train.caption_ids[i][int(rng.integers(len(train.caption_ids[i])))] for i in idx]
        x, lens = pad_features(feats, model.config.feature_dim)
        for group in optimizer.param_groups:
            group["lr"] = tc.lr * lr_factor(step, schedule.total_steps, schedule.warmup)
        frozen = text_emb_t[torch.as_tensor(cap, device=dev)]
        z_m = model.motion_latent(torch.from_numpy(x).to(dev), torch.from_numpy(lens).to(dev))
        z_t = model.text_latent(frozen)
        loss = info_nce(z_t, z_m, model.config.temperature, frozen, model.config.duplicate_threshold)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
        optimizer.step()
        running += loss.item()
        bar.update(1)
        bar.set_postfix(epoch=epoch + 1, loss=f"{running / (step_in_epoch + 1):.3f}")
    return running


def train_retrieval(
    data_dir: str | Path,
    out_dir: str | Path,
    model_config: TextMotionConfig | None = None,
    train_config: TrainConfig | None = None,
    resume: bool = False,
    device: str | torch.device | None = None,
    progress: bool = True,
    stop_after: int | None = None,
    time_limit_s: float | None = None,
) -> TrainResult:
    """Train (or resume); returns the epochs done and the validation history (the checkpoint's trainer state).

    ``stop_after`` ends this run (with a checkpoint) once that many epochs are done in total, for time-boxed
    runs: ``resume=True`` later continues with the same schedule as an uninterrupted run. ``time_limit_s``
    does the same at the first epoch boundary after that many seconds of training.
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    tc = train_config or TrainConfig()
    if tc.num_threads:
        torch.set_num_threads(tc.num_threads)
    dev = pick_device(device)
    state, model_config, tc = _resume_state(out_dir, resume, model_config or TextMotionConfig(), tc)

    train_clips, train_report = load_split(data_dir, "train")
    val_clips, val_report = load_split(data_dir, "val")
    if len(train_clips) < 2:
        raise UserError(f"{data_dir}: the train split has {len(train_clips)} usable clips, need >= 2")
    logger.info("train: %s; val: %s", train_report.summary(), val_report.summary())

    table: dict[str, int] = {}
    train = Split(train_clips, _index_captions(train_clips, table))
    val = Split(val_clips, _index_captions(val_clips, table))
    texts = list(table)
    text_emb = _frozen_text_embeddings(out_dir, texts, model_config, dev, progress)
    text_emb_t = torch.from_numpy(text_emb).to(dev)

    torch.manual_seed(tc.seed)
    if state is not None:
        model = TextMotionModel.from_pretrained(out_dir, dev).train()
    else:
        norm = load_normalizer(data_dir, train_clips)
        model = TextMotionModel(model_config, norm.mean, norm.std).to(dev).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    if state is not None and (out_dir / OPTIMIZER_NAME).is_file():
        optimizer.load_state_dict(torch.load(out_dir / OPTIMIZER_NAME, map_location=dev, weights_only=True))

    schedule = _Schedule.of(len(train.clips), tc)
    start_epoch = state["epoch"] if state else 0
    history: list[dict] = state["history"] if state else []
    if start_epoch >= tc.epochs:
        logger.info("%s already trained for %d epochs", out_dir, start_epoch)
        return TrainResult(out_dir, start_epoch, False, history)

    initial = start_epoch * schedule.steps_per_epoch
    bar = tqdm(total=schedule.total_steps, initial=initial, desc="retrieval", disable=not progress, unit="step")
    t0 = time.time()
    for epoch in range(start_epoch, tc.epochs):
        running = _run_epoch(model, optimizer, train, text_emb_t, tc, schedule, epoch, bar)
        done = epoch + 1
        stopping = (stop_after is not None and done >= stop_after) or (
            time_limit_s is not None and time.time() - t0 > time_limit_s
        )
        if done % tc.val_every == 0 or done == tc.epochs or stopping:
            record = {
                "epoch": done,
                "train_loss": running / schedule.steps_per_epoch,
                "seconds": round(time.time() - t0, 1),
            }
            if len(val.clips) >= 2:
                record.update({f"val_{k}": v for k, v in retrieval_scores(model, val, text_emb).items()})
            history.append(record)
            bar.write(json.dumps(record))
            state = {
                "epoch": done,
                "history": history,
                "model_config": model_config.to_dict(),
                "train_config": tc.to_dict(),
                "data": str(data_dir),
            }
            _save_checkpoint(model, optimizer, state, texts, text_emb, out_dir)
        if stopping:
            break
    bar.close()
    return TrainResult(out_dir, state["epoch"], state["epoch"] < tc.epochs, history)


def _save_checkpoint(
    model: TextMotionModel,
    optimizer: torch.optim.Optimizer,
    state: dict,
    texts: list[str],
    text_emb: np.ndarray,
    out_dir: Path,
) -> None:
    """Model + optimizer + trainer state + text cache into a temp folder, then swap it in as ``out_dir``."""
    with atomic_dir(out_dir, durable=True) as tmp:
        model.write_files(tmp, {"training": {k: state[k] for k in ("epoch", "train_config", "data")}})
        torch.save(optimizer.state_dict(), tmp / OPTIMIZER_NAME)
        _write_text_cache(tmp / TEXT_CACHE_NAME, texts, text_emb)
        (tmp / STATE_NAME).write_text(json.dumps(state, indent=2))
