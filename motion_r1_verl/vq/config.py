"""Configuration of the motion VQ-VAE: architecture (``VQModelConfig``) and training (``VQTrainConfig``).

Why dataclasses: the resolved config is saved as ``config.json`` beside every checkpoint and the model
is rebuilt from it alone, so a checkpoint folder is loadable by path.

Two presets:

- ``t2m-gpt``: the tokenizer of T2M-GPT (Zhang et al. 2023) for full-scale GPU training: width 512,
  codebook 512 x 512, two stride-2 down blocks, dilated ResNets with dilations 9, 3, 1 in the encoder and
  the decoder (their ``Resnet1D(reverse_dilation=True)``), EMA decay 0.99 with dead-code reset,
  commitment beta 0.02, smooth-L1 + 0.5 x joint-position loss, AdamW lr 2e-4, 64-frame windows, batch
  256, 1000 warm-up steps, lr x 0.05 at step 200k of 300k; the root (dims 0:4) and foot-contact (259:263)
  std divided by ``feat_bias = 5`` as MoMask normalises its VQ inputs, so those dims weigh more in the
  loss than under the plain ``Std.npy``.
- ``small``: the same architecture, narrow (width 128, codebook 256 x 128), batch 16, 3000 steps at
  lr 1e-3 (x 0.1 at step 2400), plain ``Std.npy`` (``feat_bias = 1``): minutes on 2 CPU cores on the
  synthetic dataset.

Where ``t2m-gpt`` still differs from T2M-GPT's ``models/encdec.py``: the layers, kernel sizes, strides
and dilation order are theirs; ours also zeroes padded frames after every layer (a padding mask), so a
padded batch of whole clips encodes like each clip alone. Training windows are unpadded, so training is
unaffected.

Checkpoints written before ``reverse_encoder_dilation`` and ``feat_bias`` existed load with the values
they were trained with (ascending encoder dilations 1, 3, 9; ``feat_bias = 1``).

Run ``python -m motion_r1_verl.vq.config`` to print both presets.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from motion_r1_verl.errors import field_error
from motion_r1_verl.motion.core.constants import FEATURE_DIM

# The encoder halves time ``down_t`` times; with the default 2 one code covers 4 frames.
ACTIVATIONS = ("relu", "silu", "gelu")
POS_LOSS_SPACES = ("ric", "joints")


@dataclass
class VQModelConfig:
    """Architecture of the VQ-VAE (everything needed to rebuild the network)."""

    input_dim: int = FEATURE_DIM
    """Feature width per frame (263 for HumanML3D)."""
    width: int = 512
    """Channels of every hidden conv layer."""
    code_dim: int = 512
    """Dimension of each codebook vector (the encoder's output channels)."""
    codebook_size: int = 512
    """Number of codes K; tokens are ``<Motion_0>..<Motion_{K-1}>``."""
    down_t: int = 2
    """Number of stride-2 down blocks; one code covers ``2**down_t`` frames."""
    depth: int = 3
    """Residual blocks per dilated ResNet."""
    dilation_growth_rate: int = 3
    """Dilations are the powers ``rate**i`` (1, 3, 9 for depth 3)."""
    reverse_encoder_dilation: bool = True
    """Encoder blocks run the dilations largest first (9, 3, 1) as T2M-GPT's and MoMask's do; the
    decoder always does. False: 1, 3, 9 in the encoder (checkpoints written before this field)."""
    activation: str = "relu"
    """Non-linearity: one of ``ACTIVATIONS``."""
    ema_decay: float = 0.99
    """EMA decay of the codebook statistics (``mu`` in T2M-GPT)."""

    def __post_init__(self) -> None:
        for name in ("input_dim", "width", "code_dim", "codebook_size", "depth", "dilation_growth_rate"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"VQModelConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.down_t < 0 or self.down_t > 6:
            raise ValueError(f"VQModelConfig.down_t must be in 0..6 (time downsampling 2**down_t), got {self.down_t}")
        if self.codebook_size < 2:
            raise ValueError(f"VQModelConfig.codebook_size must be >= 2, got {self.codebook_size}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"VQModelConfig.activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"VQModelConfig.ema_decay must be in (0, 1), got {self.ema_decay}")

    @property
    def frames_per_code(self) -> int:
        """Frames represented by one code (4 for the default ``down_t=2``)."""
        return 2**self.down_t


@dataclass
class VQTrainConfig:
    """Optimisation, data windows, validation and checkpointing of VQ-VAE training."""

    steps: int = 300_000
    """Total optimiser steps."""
    batch_size: int = 256
    """Windows per step."""
    window: int = 64
    """Frames per training window (a multiple of ``frames_per_code``)."""
    lr: float = 2e-4
    """Peak AdamW learning rate."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    betas: tuple[float, float] = (0.9, 0.99)
    """AdamW betas."""
    warmup_steps: int = 1000
    """Linear warm-up from ~0 to ``lr``."""
    lr_milestones: tuple[int, ...] = (200_000,)
    """Steps at which the learning rate is multiplied by ``lr_gamma`` (step decay)."""
    lr_gamma: float = 0.05
    """Multiplier applied at each milestone."""
    commit_beta: float = 0.02
    """Weight of the commitment loss ``||z_e - sg(z_q)||^2``."""
    pos_weight: float = 0.5
    """Weight of the extra joint-position reconstruction loss."""
    pos_space: str = "ric"
    """Where the joint-position loss is computed: ``ric`` = the root-relative joint-position feature
    dims (T2M-GPT), ``joints`` = global joint positions from ``joints_from_features`` (metres)."""
    feat_bias: float = 5.0
    """The root (0:4) and foot-contact (259:263) std of the data's ``Std.npy`` is divided by this before
    training (MoMask's ``feat_bias``), so those dims weigh more in the loss; the divided std is what the
    checkpoint stores and every encode/decode uses. 1 = the plain ``Std.npy``."""
    val_every: int = 5000
    """Validate (reconstruction MPJPE, codebook usage) every N steps (and at the end)."""
    save_every: int = 5000
    """Write the checkpoint and training state every N steps (and at the end)."""
    val_max_clips: int = 256
    """Validate on at most this many validation clips (whole clips, not windows)."""
    seed: int = 1234
    """Seed of every random choice (windows, codebook resets)."""

    def __post_init__(self) -> None:
        self.betas = tuple(float(b) for b in self.betas)  # type: ignore[assignment]
        self.lr_milestones = tuple(int(m) for m in self.lr_milestones)
        for name in ("steps", "batch_size", "window", "val_every", "save_every", "val_max_clips"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"VQTrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"VQTrainConfig.lr must be > 0, got {self.lr}")
        if self.warmup_steps < 0:
            raise ValueError(f"VQTrainConfig.warmup_steps must be >= 0, got {self.warmup_steps}")
        if list(self.lr_milestones) != sorted(self.lr_milestones):
            raise ValueError(f"VQTrainConfig.lr_milestones must be increasing, got {self.lr_milestones}")
        if self.commit_beta < 0 or self.pos_weight < 0:
            raise ValueError("VQTrainConfig.commit_beta and pos_weight must be >= 0")
        if not self.feat_bias > 0 or self.feat_bias != self.feat_bias:
            raise ValueError(f"VQTrainConfig.feat_bias must be > 0, got {self.feat_bias}")
        if self.pos_space not in POS_LOSS_SPACES:
            raise ValueError(f"VQTrainConfig.pos_space must be one of {POS_LOSS_SPACES}, got {self.pos_space!r}")


@dataclass
class VQConfig:
    """Model + training config; what ``config.json`` in a checkpoint folder holds."""

    model: VQModelConfig = field(default_factory=VQModelConfig)
    train: VQTrainConfig = field(default_factory=VQTrainConfig)

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):
            self.model = VQModelConfig(**self.model)
        if isinstance(self.train, dict):
            self.train = VQTrainConfig(**self.train)
        fpc = self.model.frames_per_code
        if self.train.window % fpc:
            raise ValueError(
                f"VQTrainConfig.window ({self.train.window}) must be a multiple of the frames per code ({fpc} = "
                f"2**down_t); pick e.g. {max(fpc, self.train.window // fpc * fpc)}"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VQConfig:
        """Rebuild from ``to_dict()`` output; unknown keys are an error (a typo must not pass silently)."""
        model_keys = {f.name for f in dataclasses.fields(VQModelConfig)}
        train_keys = {f.name for f in dataclasses.fields(VQTrainConfig)}
        model = dict(data.get("model", {}))
        train = dict(data.get("train", {}))
        unknown = (set(model) - model_keys) | (set(train) - train_keys) | (set(data) - {"model", "train"})
        if unknown:
            raise ValueError(f"unknown VQ config keys: {sorted(unknown)}")
        # Configs saved before these fields existed were trained with the values they had then.
        model.setdefault("reverse_encoder_dilation", False)
        train.setdefault("feat_bias", 1.0)
        return cls(model=VQModelConfig(**model), train=VQTrainConfig(**train))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


Preset = Literal["small", "t2m-gpt"]
PRESETS: tuple[str, ...] = ("small", "t2m-gpt")


def preset(name: str) -> VQConfig:
    """The named preset (see the module docstring)."""
    if name == "t2m-gpt":
        return VQConfig()
    if name == "small":
        return VQConfig(
            model=VQModelConfig(width=128, code_dim=128, codebook_size=256),
            train=VQTrainConfig(
                steps=3000,
                # Measured on the synthetic set (H200, same code): batch 16 x 3000 steps -> 19 mm test MPJPE,
                # batch 32 x 1500 steps (same compute) -> 22 mm; 16 buys more updates per CPU second.
                batch_size=16,
                window=64,
                lr=1e-3,
                warmup_steps=100,
                lr_milestones=(2400,),
                lr_gamma=0.1,
                val_every=500,
                save_every=500,
                val_max_clips=64,
                feat_bias=1.0,
            ),
        )
    raise field_error("preset", f"{name!r}: unknown VQ preset; choose one of {', '.join(PRESETS)}")


if __name__ == "__main__":
    for _name in PRESETS:
        print(f"# {_name}\n{preset(_name).to_json()}")
