"""Port of the Guo et al. (2022) text-motion evaluator, for paper-comparable numbers on HumanML3D.

Architecture (parameter names match the official ``finest.tar`` so its state dicts load unchanged; the sizes
are those of :class:`GuoConfig`, whose defaults are the official ones):
- ``movement_encoder``: two strided Conv1d (kernel 4, stride 2) over features without the 4 foot-contact dims
  -> 512-d "movements" at 1/4 of the frame rate;
- ``motion_encoder``: BiGRU (hidden 1024) over the movements, last states -> MLP -> 512-d;
- ``text_encoder``: GloVe 300-d + linear(15-way POS one-hot) -> BiGRU (hidden 512) -> MLP -> 512-d.
Motions are normalised with the evaluator's own statistics (official: ``t2m_mean.npy``/``t2m_std.npy``; a
trained judge: its data folder's ``Mean.npy``/``Std.npy``, copied into its checkpoint), cut to a
multiple of 4 frames (the official loader's "single" rounding; we take the clip start instead of a random
offset so embeddings are deterministic), zero-padded to 196 frames after normalisation as the official loader
does, and run with packed sequences.

Two ways to get one:
- the official ``finest.tar`` + GloVe files + ``t2m_mean/std.npy`` (:meth:`GuoEvaluator.from_files`); loading is
  safe: ``torch.load(weights_only=True)`` for the checkpoint, a no-globals unpickler for the word lists (see
  :mod:`motion_r1_verl.retrieval.glove`);
- a judge trained on our own data by :mod:`motion_r1_verl.retrieval.guo_train`, saved as a folder
  (:meth:`GuoEvaluator.from_pretrained`): ``config.json`` + ``model.safetensors`` + ``word_vectors.npy/.json``
  + ``Mean.npy``/``Std.npy``, read with safetensors and ``np.load(allow_pickle=False)`` only.

    ev = GuoEvaluator.from_files("t2m/text_mot_match/model/finest.tar", "glove", "t2m_evaluator", device="cpu")
    ev = GuoEvaluator.from_pretrained("runs/judge")                 # or a trained judge folder
    ev.encode_motion([features]), ev.encode_text([caption.tokens])
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.constants import CONTACT_SLICE, FEATURE_DIM, MAX_FRAMES
from motion_r1_verl.motion.core.normalization import Normalizer
from motion_r1_verl.retrieval.glove import POS_ENUMERATOR, WORD_DIM, WordVectors
from motion_r1_verl.retrieval.model import CONFIG_NAME, WEIGHTS_NAME, write_model_files
from motion_r1_verl.runtime.device import pick_device
from motion_r1_verl.runtime.files import atomic_dir
from motion_r1_verl.runtime.models import check_field_types, load_weights

MOVEMENT_INPUT = FEATURE_DIM - (CONTACT_SLICE.stop - CONTACT_SLICE.start)  # 259: contacts dropped
UNIT_LENGTH = 4  # frames per movement step (two stride-2 convolutions)
CHECKPOINT_PARTS = ("movement_encoder", "motion_encoder", "text_encoder")
MODEL_TYPE = "motion_r1_guo_evaluator"  # config.json's model_type for a trained judge folder


@dataclass
class GuoConfig:
    """Sizes of the three encoders; the defaults are the official HumanML3D evaluator's (opt.dim_* in its wrapper)."""

    word_dim: int = WORD_DIM  # word vector size (GloVe: 300)
    movement_hidden: int = 512  # channels of the first movement convolution
    movement_latent: int = 512  # channels of the second convolution = size of one "movement"
    motion_hidden: int = 1024  # motion BiGRU hidden size (per direction)
    text_hidden: int = 512  # text BiGRU hidden size (per direction)
    coemb_dim: int = 512  # size of the shared text-motion embedding

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"GuoConfig.{f.name} must be an integer >= 1, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GuoConfig:
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown GuoConfig fields {sorted(unknown)}")
        return cls(**data)


def _head(in_dim: int, hidden: int, out: int) -> nn.Sequential:
    # Indices 0/1/3 carry weights: names output_net.0/.1/.3 in the official checkpoint.
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.LayerNorm(hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, out))


class MovementConvEncoder(nn.Module):
    """(B, T, 259) -> (B, T/4, out)."""

    def __init__(self, input_size: int = MOVEMENT_INPUT, hidden: int = 512, out: int = 512):
        super().__init__()
        # Dropout layers keep the official indices (main.0 / main.3); they are inactive in eval mode.
        self.main = nn.Sequential(
            nn.Conv1d(input_size, hidden, 4, 2, 1),
            nn.Dropout(0.2),
            nn.LeakyReLU(0.2),
            nn.Conv1d(hidden, out, 4, 2, 1),
            nn.Dropout(0.2),
            nn.LeakyReLU(0.2),
        )
        self.out_net = nn.Linear(out, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.main(x.permute(0, 2, 1)).permute(0, 2, 1)  # (B, F, T) conv -> back to (B, T/4, C)
        return self.out_net(h)


class _BiGRUCo(nn.Module):
    """Linear -> BiGRU from a learned initial state -> concat of both last states -> MLP head."""

    def __init__(self, input_size: int, hidden: int, out: int):
        super().__init__()
        self.input_emb = nn.Linear(input_size, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.output_net = _head(2 * hidden, hidden, out)
        self.hidden = nn.Parameter(torch.zeros(2, 1, hidden))

    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h0 = self.hidden.repeat(1, x.shape[0], 1)
        packed = pack_padded_sequence(self.input_emb(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed, h0)  # last: (2, B, hidden), forward and backward directions
        return self.output_net(torch.cat([last[0], last[1]], dim=-1))


class MotionEncoderBiGRUCo(_BiGRUCo):
    """Movements (B, T/4, input_size) + lengths in movement steps -> (B, out)."""

    def __init__(self, input_size: int = 512, hidden: int = 1024, out: int = 512):
        super().__init__(input_size, hidden, out)

    def forward(self, movements: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.encode(movements, lengths)


class TextEncoderBiGRUCo(_BiGRUCo):
    """Word vectors (B, L, word_size) + POS one-hots (B, L, 15) + lengths -> (B, out)."""

    def __init__(
        self, word_size: int = WORD_DIM, pos_size: int = len(POS_ENUMERATOR), hidden: int = 512, out: int = 512
    ):
        super().__init__(word_size, hidden, out)
        self.pos_emb = nn.Linear(pos_size, word_size)

    def forward(self, words: torch.Tensor, pos: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.encode(words + self.pos_emb(pos), lengths)


def load_guo_checkpoint(path: str | Path) -> dict[str, dict[str, torch.Tensor]]:
    """The three state dicts of an official ``finest.tar`` (other entries such as optimizer states are ignored)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"evaluator checkpoint {path} not found (the official text_mot_match/model/finest.tar)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
        raise UserError(f"{path}: cannot be loaded as a weights-only torch checkpoint ({err})") from err
    if not isinstance(ckpt, dict) or any(part not in ckpt for part in CHECKPOINT_PARTS):
        found = sorted(ckpt) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise UserError(f"{path}: expected entries {CHECKPOINT_PARTS}, found {found}")
    return {part: ckpt[part] for part in CHECKPOINT_PARTS}


class GuoEvaluator(nn.Module):
    """The three encoders plus the word vectors and the motion normalisation they were trained with."""

    def __init__(self, words: WordVectors, normalizer: Normalizer, config: GuoConfig | None = None):
        super().__init__()
        cfg = config or GuoConfig()
        if normalizer.dim != FEATURE_DIM:
            raise UserError(f"evaluator normalisation has {normalizer.dim} dims, expected {FEATURE_DIM}")
        if words.dim != cfg.word_dim:
            raise UserError(f"word vectors are {words.dim}-d, the evaluator expects word_dim={cfg.word_dim}")
        self.config = cfg
        self.movement_encoder = MovementConvEncoder(MOVEMENT_INPUT, cfg.movement_hidden, cfg.movement_latent)
        self.motion_encoder = MotionEncoderBiGRUCo(cfg.movement_latent, cfg.motion_hidden, cfg.coemb_dim)
        self.text_encoder = TextEncoderBiGRUCo(cfg.word_dim, len(POS_ENUMERATOR), cfg.text_hidden, cfg.coemb_dim)
        self.words = words
        self.register_buffer("feature_mean", torch.from_numpy(normalizer.mean.copy()))
        self.register_buffer("feature_std", torch.from_numpy(normalizer.std.copy()))

    @classmethod
    def from_files(
        cls,
        checkpoint: str | Path,
        glove_dir: str | Path,
        norm_dir: str | Path,
        device: str | torch.device | None = None,
    ) -> GuoEvaluator:
        """``finest.tar`` + the GloVe folder + the folder with ``t2m_mean.npy``/``t2m_std.npy``."""
        model = cls(WordVectors.load(glove_dir), Normalizer.evaluator(norm_dir))
        for part, state in load_guo_checkpoint(checkpoint).items():
            try:
                getattr(model, part).load_state_dict(state)
            except RuntimeError as err:
                raise UserError(f"{checkpoint}: '{part}' does not fit the evaluator architecture ({err})") from err
        return model.to(pick_device(device)).eval()

    @property
    def device(self) -> torch.device:
        return self.feature_mean.device

    # ----------------------------------------------------------------- batches and differentiable pieces
    def motion_batch(self, features: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """RAW (T_i, 263) clips -> normalised, zero-padded (B, max(196, T), 263) and lengths in movement steps (B,).

        Each clip is cut to a multiple of 4 frames from its start. Clips shorter than 4 frames cannot be embedded.
        """
        lengths = np.array([len(f) // UNIT_LENGTH * UNIT_LENGTH for f in features], dtype=np.int64)
        if (lengths < UNIT_LENGTH).any():
            raise ValueError(f"the Guo evaluator needs clips of >= {UNIT_LENGTH} frames")
        # Always pad to 196 frames like the official loader: the second convolution's last step reads one
        # step of the first convolution's output on padding (its bias), so the padded length matters.
        t_max = max(MAX_FRAMES, int(lengths.max(initial=0)))
        x = torch.zeros(len(features), t_max, FEATURE_DIM, device=self.device)
        for row, clip in enumerate(features):
            raw = torch.as_tensor(np.asarray(clip[: lengths[row]], np.float32), device=self.device)
            x[row, : lengths[row]] = (raw - self.feature_mean) / self.feature_std
        return x, torch.as_tensor(lengths // UNIT_LENGTH)

    def caption_batch(self, captions: Sequence[Sequence[str]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``word/POS`` token sequences -> word vectors (B, 22, word_dim), POS one-hots (B, 22, 15), lengths (B,)."""
        rows = [self.words.caption(tuple(c)) for c in captions]
        words = torch.as_tensor(np.stack([r[0] for r in rows]), device=self.device)
        pos = torch.as_tensor(np.stack([r[1] for r in rows]), device=self.device)
        return words, pos, torch.as_tensor([r[2] for r in rows])

    def motion_embedding(self, x: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        """Normalised padded features (B, T, 263) + lengths in movement steps (B,) -> (B, coemb_dim)."""
        movements = self.movement_encoder(x[..., : CONTACT_SLICE.start])  # (B, T/4, movement_latent)
        return self.motion_encoder(movements, steps)

    def text_embedding(self, words: torch.Tensor, pos: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Output of :meth:`caption_batch` -> (B, coemb_dim)."""
        return self.text_encoder(words, pos, lengths)

    # ----------------------------------------------------------------- inference API (eval mode, no grad)
    @torch.no_grad()
    def encode_motion(self, features: Sequence[np.ndarray], batch_size: int = 256) -> torch.Tensor:
        """RAW (T_i, 263) clips -> (B, coemb_dim). Clips shorter than 4 frames cannot be embedded."""
        was_training = self.training
        self.eval()
        out = torch.zeros(len(features), self.config.coemb_dim, device=self.device)
        try:
            for start in range(0, len(features), batch_size):
                x, steps = self.motion_batch(features[start : start + batch_size])
                out[start : start + len(steps)] = self.motion_embedding(x, steps)
        finally:
            self.train(was_training)
        return out

    @torch.no_grad()
    def encode_text(self, captions: Sequence[Sequence[str]], batch_size: int = 256) -> torch.Tensor:
        """Captions as ``word/POS`` token sequences -> (B, coemb_dim)."""
        was_training = self.training
        self.eval()
        out = torch.zeros(len(captions), self.config.coemb_dim, device=self.device)
        try:
            for start in range(0, len(captions), batch_size):
                batch = self.caption_batch(captions[start : start + batch_size])
                out[start : start + len(batch[2])] = self.text_embedding(*batch)
        finally:
            self.train(was_training)
        return out

    # ----------------------------------------------------------------- trained-judge folders
    def save_pretrained(self, path: str | Path, extra_config: dict | None = None) -> None:
        """Write the folder ``path`` atomically: build it beside, then swap it in."""
        with atomic_dir(path, durable=True) as tmp:
            self.write_files(tmp, extra_config)

    def write_files(self, folder: Path, extra_config: dict | None = None) -> None:
        """config.json, model.safetensors, the normaliser and the word vectors into an existing folder."""
        write_model_files(self, folder, MODEL_TYPE, extra_config)
        self.words.save(folder)

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str | torch.device | None = None) -> GuoEvaluator:
        """Rebuild a trained judge from its folder; ``device`` defaults to CUDA when available, else CPU."""
        path = Path(path)
        if not path.is_dir():
            raise UserError(f"Guo evaluator folder {path} not found")
        if not (path / CONFIG_NAME).is_file() or not (path / WEIGHTS_NAME).is_file():
            raise UserError(f"{path} is not a trained Guo evaluator folder (needs {CONFIG_NAME} and {WEIGHTS_NAME})")
        try:
            config = json.loads((path / CONFIG_NAME).read_text())
            if config.get("model_type") != MODEL_TYPE:
                raise ValueError(f"model_type is {config.get('model_type')!r}, expected {MODEL_TYPE!r}")
            cfg = check_field_types(GuoConfig.from_dict(config["model"]), str(path / CONFIG_NAME))
        except UserError:
            raise
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, KeyError, TypeError, ValueError) as err:
            raise UserError(f"{path / CONFIG_NAME}: not a Guo evaluator config ({err})") from None
        model = cls(WordVectors.load_saved(path), Normalizer.load(path), cfg)
        load_weights(model, path / WEIGHTS_NAME, CONFIG_NAME)
        return model.to(pick_device(device)).eval()
