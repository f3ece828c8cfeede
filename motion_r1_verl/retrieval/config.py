"""Configuration of the TMR-style text-motion model and of its training run.

Both dataclasses are saved in the checkpoint's ``config.json`` and the model is rebuilt from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from motion_r1_verl.errors import field_error
from motion_r1_verl.motion.core.constants import FEATURE_DIM, MAX_FRAMES
from motion_r1_verl.retrieval.text_encoder import DEFAULT_TEXT_MODEL


@dataclass
class TextMotionConfig:
    """Architecture of :class:`~motion_r1_verl.retrieval.model.TextMotionModel`."""

    feature_dim: int = FEATURE_DIM  # input motion features per frame (HumanML3D: 263)
    max_frames: int = MAX_FRAMES  # longest motion the positional encoding covers; encode_motion cuts longer clips
    patch_frames: int = 4  # consecutive frames per transformer token (4 = 5 tokens/s; cuts CPU cost ~4x)
    d_model: int = 256  # width of the motion transformer
    n_layers: int = 4  # transformer encoder layers
    n_heads: int = 4  # attention heads (must divide d_model)
    ff_dim: int = 1024  # feed-forward width inside each layer
    dropout: float = 0.1  # dropout inside the transformer and the text projection
    latent_dim: int = 256  # size of the shared text-motion embedding
    text_model: str = DEFAULT_TEXT_MODEL  # frozen sentence encoder: hub id resolved offline, or a local folder
    text_dim: int = 384  # output size of the frozen sentence encoder (all-MiniLM-L6-v2: 384)
    temperature: float = 0.1  # InfoNCE softmax temperature (TMR uses 0.1)
    # Captions with text-embedding cosine above this are not negatives: TMR's threshold_selfsim 0.80 is on the
    # (1 + cos) / 2 scale, i.e. cosine 0.6 (its 0.95 is the threshold of its retrieval metrics, not training).
    duplicate_threshold: float = 0.6

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        for name in (
            "feature_dim",
            "max_frames",
            "patch_frames",
            "d_model",
            "n_layers",
            "ff_dim",
            "latent_dim",
            "text_dim",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if not -1.0 <= self.duplicate_threshold <= 1.0:
            raise ValueError(f"duplicate_threshold is a cosine similarity in [-1, 1], got {self.duplicate_threshold}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextMotionConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown TextMotionConfig fields {sorted(unknown)}")
        return cls(**data)


@dataclass
class TrainConfig:
    """One retrieval training run."""

    epochs: int = 20  # passes over the training clips (3k synth set: val R@1 ~0.9 after 10 on a GPU run)
    batch_size: int = 64  # clips per step (InfoNCE negatives come from the batch)
    lr: float = 2e-4  # AdamW peak learning rate
    weight_decay: float = 0.01
    warmup_steps: int = 200  # linear warm-up (capped at 20% of all steps), then cosine decay to 10% of lr
    grad_clip: float = 1.0  # max gradient norm
    seed: int = 0  # model init, batch order and caption choice
    crop_min_ratio: float = 0.8  # random temporal crop keeps this fraction of a clip or more (1.0 = no crop)
    val_every: int = 5  # epochs between validation + checkpoint (the last epoch always does both)
    num_threads: int = 0  # torch CPU threads, 0 = leave torch's default

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError(f"need epochs >= 1 and batch_size >= 2 (InfoNCE needs negatives), got {self}")
        if self.lr <= 0 or self.weight_decay < 0 or self.grad_clip <= 0:
            raise ValueError(f"lr and grad_clip must be > 0 and weight_decay >= 0, got {self}")
        if not 0.0 < self.crop_min_ratio <= 1.0:
            raise ValueError(f"crop_min_ratio must be in (0, 1], got {self.crop_min_ratio}")
        if self.val_every < 1 or self.warmup_steps < 0:
            raise ValueError(f"val_every must be >= 1 and warmup_steps >= 0, got {self}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        return cls(**{k: v for k, v in data.items() if k in {f.name for f in fields(cls)}})


# Named sizes for ``motion-r1 retrieval train --preset``. "small" is the default (trains on 2 CPU cores in
# about half an hour on the 3k synthetic set); "compact" is the held-out evaluator: a different architecture
# size (and seed) so rewards are never judged only by the encoder they optimise; "base" is for a GPU.
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"d_model": 64, "n_layers": 1, "n_heads": 2, "ff_dim": 128, "latent_dim": 64},
    "compact": {"d_model": 128, "n_layers": 2, "n_heads": 4, "ff_dim": 256, "latent_dim": 128},
    "small": {"d_model": 192, "n_layers": 3, "n_heads": 4, "ff_dim": 512, "latent_dim": 192},
    "base": {},
}
DEFAULT_PRESET = "small"


def preset(name: str = DEFAULT_PRESET) -> TextMotionConfig:
    """The named model size (see PRESETS), as ``motion_r1_verl.vq.config.preset`` names the VQ-VAE's."""
    if name not in PRESETS:
        raise field_error("preset", f"{name!r} is not a text-motion preset; choose one of {', '.join(PRESETS)}")
    return TextMotionConfig(**PRESETS[name])
