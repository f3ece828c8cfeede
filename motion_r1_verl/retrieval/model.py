"""TMR-style text-motion model: a motion transformer and a projected frozen sentence encoder in one space.

Motion side: normalised (T, 263) features -> linear -> [CLS] + sinusoidal positions -> masked transformer
encoder -> the CLS output projected to ``latent_dim``. Text side: frozen all-MiniLM-L6-v2 sentence embedding
-> trainable MLP -> ``latent_dim``. Both outputs are L2-normalised, so cosine similarity and Euclidean
distance rank identically (the evaluation protocol uses Euclidean distance).

The model owns the feature normaliser it was trained with (buffers ``feature_mean``/``feature_std``): callers
pass RAW features. A checkpoint is a folder: ``config.json`` + ``model.safetensors`` (+ ``Mean.npy``/``Std.npy``
copies of the normaliser for people and other tools).

    model = TextMotionModel.from_pretrained("runs/retrieval")       # or load_cached(...) to share one copy
    z_m = model.encode_motion([feats_a, feats_b])                   # (2, d)
    z_t = model.encode_text(["a person walks", "a person jumps"])   # (2, d)
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.normalization import Normalizer
from motion_r1_verl.retrieval.config import TextMotionConfig
from motion_r1_verl.retrieval.text_encoder import FrozenTextEncoder, get_text_encoder
from motion_r1_verl.runtime.device import pick_device
from motion_r1_verl.runtime.files import atomic_dir
from motion_r1_verl.runtime.models import cached_model, check_field_types, load_weights

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
MODEL_TYPE = "motion_r1_text_motion"  # config.json's model_type
TEXT_CACHE_NAME = "text_cache.npz"  # frozen caption embeddings a training run saved (optional)
STD_FLOOR = 1e-4  # features that never vary on train (std 0) are divided by this, not by 0
ENCODE_BATCH = 256


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """(length, dim) fixed sine/cosine position table."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(pos * div)
    table[:, 1::2] = torch.cos(pos * div[: dim // 2])
    return table


class MotionEncoder(nn.Module):
    """Masked transformer over normalised features (B, T, F) + lengths (B,) -> (B, latent_dim).

    Frames are grouped in patches of ``patch_frames`` (concatenated, then one linear layer), so a 196-frame
    clip is 49 tokens; a patch is valid when it holds at least one real frame, and frames past a clip's length
    are zeroed first so padding never leaks into its last patch.
    """

    def __init__(self, cfg: TextMotionConfig):
        super().__init__()
        self.patch = cfg.patch_frames
        self.input = nn.Linear(cfg.feature_dim * cfg.patch_frames, cfg.d_model)
        self.cls = nn.Parameter(torch.zeros(1, 1, cfg.d_model))
        nn.init.normal_(self.cls, std=0.02)
        self.max_frames = cfg.max_frames
        n_tokens = -(-cfg.max_frames // cfg.patch_frames) + 1  # +1 for the CLS token
        self.register_buffer("positions", sinusoidal_positions(n_tokens, cfg.d_model), persistent=False)
        layer = nn.TransformerEncoderLayer(
            cfg.d_model, cfg.n_heads, cfg.ff_dim, cfg.dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.d_model)
        self.out = nn.Linear(cfg.d_model, cfg.latent_dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        b, t, f = x.shape
        if t > self.max_frames:
            raise ValueError(f"motion of {t} frames is longer than max_frames={self.max_frames}")
        x = x * (torch.arange(t, device=x.device)[None, :] < lengths[:, None]).unsqueeze(-1).to(x.dtype)
        extra = (-t) % self.patch
        if extra:
            x = F.pad(x, (0, 0, 0, extra))
        n = (t + extra) // self.patch
        h = self.input(x.reshape(b, n, self.patch * f))  # (B, N, d): N patches of `patch` frames
        h = torch.cat([self.cls.expand(b, -1, -1), h], dim=1) + self.positions[: n + 1]  # (B, 1+N, d)
        n_valid = torch.div(lengths + self.patch - 1, self.patch, rounding_mode="floor")
        token = torch.arange(n, device=x.device)[None, :]
        pad = torch.cat([torch.zeros(b, 1, dtype=torch.bool, device=x.device), token >= n_valid[:, None]], dim=1)
        h = self.encoder(h, src_key_padding_mask=pad)  # (B, 1+N, d)
        return self.out(self.norm(h[:, 0]))


class TextProjection(nn.Module):
    """Trainable head on the frozen sentence embedding: (B, text_dim) -> (B, latent_dim)."""

    def __init__(self, cfg: TextMotionConfig):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(cfg.text_dim, cfg.d_model),
            nn.GELU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.d_model, cfg.latent_dim),
        )

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        return self.net(emb)


def pad_features(features: Sequence[np.ndarray], feature_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """List of (T_i, F) arrays -> zero-padded (B, max T, F) float32 and lengths (B,) int64."""
    lengths = np.array([len(f) for f in features], dtype=np.int64)
    if len(features) == 0:
        return np.zeros((0, 1, feature_dim), np.float32), lengths
    for i, f in enumerate(features):
        if f.ndim != 2 or f.shape[1] != feature_dim or len(f) == 0:
            raise ValueError(f"motion {i}: expected (T>0, {feature_dim}) features, got {f.shape}")
    out = np.zeros((len(features), int(lengths.max()), feature_dim), np.float32)
    for i, f in enumerate(features):
        out[i, : len(f)] = f
    return out, lengths


def write_model_files(model: nn.Module, folder: Path, model_type: str, extra_config: dict | None = None) -> None:
    """The checkpoint files both text-motion architectures share: config.json (``model_type``, the model's
    config), model.safetensors and the feature normaliser (``feature_mean``/``feature_std`` buffers)."""
    config = {"model_type": model_type, "model": model.config.to_dict(), **(extra_config or {})}
    (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2))
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_NAME), metadata={"format": "pt"})
    Normalizer(model.feature_mean.cpu().numpy(), model.feature_std.cpu().numpy()).save(folder)


class TextMotionModel(nn.Module):
    """Shared text-motion embedding space (see module docstring)."""

    def __init__(self, cfg: TextMotionConfig, mean: np.ndarray | None = None, std: np.ndarray | None = None):
        super().__init__()
        self.config = cfg
        self.motion_encoder = MotionEncoder(cfg)
        self.text_projection = TextProjection(cfg)
        mean = np.zeros(cfg.feature_dim, np.float32) if mean is None else np.asarray(mean, np.float32)
        std = np.ones(cfg.feature_dim, np.float32) if std is None else np.asarray(std, np.float32)
        if mean.shape != (cfg.feature_dim,) or std.shape != (cfg.feature_dim,):
            raise ValueError(f"normaliser must be ({cfg.feature_dim},), got mean {mean.shape} std {std.shape}")
        self.register_buffer("feature_mean", torch.from_numpy(mean.copy()))
        self.register_buffer("feature_std", torch.from_numpy(np.maximum(std, STD_FLOOR)))
        self._text_encoder: FrozenTextEncoder | None = None
        self._text_cache_path: Path | None = None  # a checkpoint's saved frozen embeddings, preloaded on first use

    # ----------------------------------------------------------------- differentiable pieces (training)
    @property
    def device(self) -> torch.device:
        return self.feature_mean.device

    def motion_latent(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """RAW padded features (B, T, F) + lengths (B,) -> L2-normalised (B, latent)."""
        x = (features - self.feature_mean) / self.feature_std
        return F.normalize(self.motion_encoder(x, lengths), dim=-1)

    def text_latent(self, frozen_emb: torch.Tensor) -> torch.Tensor:
        """Frozen sentence embeddings (B, text_dim) -> L2-normalised (B, latent)."""
        return F.normalize(self.text_projection(frozen_emb), dim=-1)

    # ----------------------------------------------------------------- inference API
    @property
    def text_encoder(self) -> FrozenTextEncoder:
        """The frozen sentence encoder, loaded on first use and shared per process."""
        if self._text_encoder is None:
            self._text_encoder = get_text_encoder(self.config.text_model, self.device)
            if self._text_encoder.dim != self.config.text_dim:
                raise UserError(
                    f"text model {self.config.text_model} gives {self._text_encoder.dim}-d embeddings, "
                    f"the checkpoint expects text_dim={self.config.text_dim}"
                )
            if self._text_cache_path is not None and self._text_cache_path.is_file():
                with np.load(self._text_cache_path, allow_pickle=False) as data:
                    self._text_encoder.preload([str(t) for t in data["texts"]], data["emb"])
        return self._text_encoder

    @torch.no_grad()
    def encode_text(self, texts: Sequence[str], batch_size: int = ENCODE_BATCH) -> torch.Tensor:
        """Captions -> (B, latent) on the model's device (eval mode, no grad)."""
        was_training = self.training
        self.eval()
        try:
            frozen = torch.from_numpy(self.text_encoder.encode(list(texts))).to(self.device)
            outs = [self.text_latent(frozen[i : i + batch_size]) for i in range(0, len(frozen), batch_size)]
        finally:
            self.train(was_training)
        return torch.cat(outs) if outs else torch.zeros(0, self.config.latent_dim, device=self.device)

    @torch.no_grad()
    def encode_motion(
        self,
        features: Sequence[np.ndarray] | np.ndarray | torch.Tensor,
        lengths: Sequence[int] | np.ndarray | torch.Tensor | None = None,
        batch_size: int = ENCODE_BATCH,
    ) -> torch.Tensor:
        """RAW motion features -> (B, latent) on the model's device.

        ``features`` is a list of (T_i, F) arrays, or a padded (B, T, F) array/tensor with ``lengths`` (B,).
        A clip longer than ``max_frames`` is embedded on its first ``max_frames`` frames, as the HumanML3D
        protocol scores at most 196. Clips are processed in length-sorted batches (less padding) and
        returned in input order.
        """
        if isinstance(features, (np.ndarray, torch.Tensor)) and np.ndim(features) == 3:
            padded = features.detach().cpu().numpy() if isinstance(features, torch.Tensor) else features
            if lengths is None:
                raise ValueError("a padded (B, T, F) batch needs lengths; pass a list of arrays otherwise")
            lens = np.asarray(lengths.cpu() if isinstance(lengths, torch.Tensor) else lengths, dtype=np.int64)
            if lens.shape != (padded.shape[0],) or (lens < 1).any() or (lens > padded.shape[1]).any():
                raise ValueError(f"lengths {lens.tolist()} do not fit a padded batch of shape {padded.shape}")
            clips = [np.asarray(padded[i, : lens[i]], np.float32) for i in range(len(lens))]
        else:
            if lengths is not None:
                raise ValueError("lengths only go with a padded (B, T, F) batch")
            clips = [np.asarray(f, np.float32) for f in features]
        clips = [c[: self.config.max_frames] for c in clips]
        was_training = self.training
        self.eval()
        out = torch.zeros(len(clips), self.config.latent_dim, device=self.device)
        try:
            order = np.argsort([len(c) for c in clips], kind="stable")
            for i in range(0, len(order), batch_size):
                idx = order[i : i + batch_size]
                x, lens = pad_features([clips[j] for j in idx], self.config.feature_dim)
                z = self.motion_latent(torch.from_numpy(x).to(self.device), torch.from_numpy(lens).to(self.device))
                out[torch.from_numpy(idx).to(self.device)] = z
        finally:
            self.train(was_training)
        return out

    # ----------------------------------------------------------------- checkpoints
    def save_pretrained(self, path: str | Path, extra_config: dict | None = None) -> None:
        """Write ``path`` atomically: build the folder beside it, then swap it in."""
        with atomic_dir(path, durable=True) as tmp:
            self.write_files(tmp, extra_config)

    def write_files(self, folder: Path, extra_config: dict | None = None) -> None:
        """config.json, model.safetensors and the normaliser copies into an existing folder."""
        write_model_files(self, folder, MODEL_TYPE, extra_config)

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str | torch.device | None = None) -> TextMotionModel:
        """Rebuild from a checkpoint folder; ``device`` defaults to CUDA when available, else CPU."""
        path = Path(path)
        if not (path / CONFIG_NAME).is_file() or not (path / WEIGHTS_NAME).is_file():
            raise UserError(f"{path} is not a text-motion checkpoint (needs {CONFIG_NAME} and {WEIGHTS_NAME})")
        try:
            config = json.loads((path / CONFIG_NAME).read_text())
            if config.get("model_type", MODEL_TYPE) != MODEL_TYPE:
                raise ValueError(
                    f"model_type is {config['model_type']!r}, expected {MODEL_TYPE!r}; "
                    "a Guo-architecture judge is read by the guo evaluator (eval's evaluator: guo)"
                )
            cfg = check_field_types(TextMotionConfig.from_dict(config["model"]), str(path / CONFIG_NAME))
        except UserError:
            raise
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, KeyError, TypeError, ValueError) as err:
            raise UserError(f"{path / CONFIG_NAME}: not a valid text-motion config ({err})") from None
        model = cls(cfg)
        load_weights(model, path / WEIGHTS_NAME, CONFIG_NAME)
        model._text_cache_path = path / TEXT_CACHE_NAME
        return model.to(pick_device(device)).eval()


def load_cached(path: str | Path, device: str | torch.device | None = None) -> TextMotionModel:
    """One loaded model per (checkpoint folder, device) per process, in the shared model cache
    (:mod:`motion_r1_verl.runtime.models`); a checkpoint retrained in place is loaded again."""
    return cached_model("retrieval", path, device, TextMotionModel.from_pretrained)
