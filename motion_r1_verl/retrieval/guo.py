"""Port of the Guo et al. (2022) text-motion evaluator, for paper-comparable numbers on HumanML3D.

Architecture (parameter names match the official ``finest.tar`` so its state dicts load unchanged):
- ``movement_encoder``: two strided Conv1d (kernel 4, stride 2) over features without the 4 foot-contact dims
  -> 512-d "movements" at 1/4 of the frame rate;
- ``motion_encoder``: BiGRU (hidden 1024) over the movements, last states -> MLP -> 512-d;
- ``text_encoder``: GloVe 300-d + linear(15-way POS one-hot) -> BiGRU (hidden 512) -> MLP -> 512-d.
Motions are normalised with the evaluator's own statistics (``t2m_mean.npy``/``t2m_std.npy``), cut to a
multiple of 4 frames (the official loader's "single" rounding; we take the clip start instead of a random
offset so embeddings are deterministic), zero-padded to 196 frames after normalisation as the official loader
does, and run with packed sequences.

Loading is safe: ``torch.load(weights_only=True)`` for the checkpoint, a no-globals unpickler for the word
lists (see :mod:`motion_r1_verl.retrieval.glove`).

    ev = GuoEvaluator.from_files("t2m/text_mot_match/model/finest.tar", "glove", "t2m_evaluator", device="cpu")
    ev.encode_motion([features]), ev.encode_text([caption.tokens])
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.constants import CONTACT_SLICE, FEATURE_DIM, MAX_FRAMES
from motion_r1_verl.motion.normalization import Normalizer
from motion_r1_verl.retrieval.glove import POS_ENUMERATOR, WORD_DIM, WordVectors
from motion_r1_verl.retrieval.model import default_device

# Sizes of the official HumanML3D evaluator (opt.dim_* in its wrapper).
MOVEMENT_INPUT = FEATURE_DIM - (CONTACT_SLICE.stop - CONTACT_SLICE.start)  # 259: contacts dropped
MOVEMENT_HIDDEN = 512
MOVEMENT_LATENT = 512
MOTION_HIDDEN = 1024
TEXT_HIDDEN = 512
COEMB_DIM = 512
UNIT_LENGTH = 4  # frames per movement step (two stride-2 convolutions)
CHECKPOINT_PARTS = ("movement_encoder", "motion_encoder", "text_encoder")


def _head(in_dim: int, hidden: int, out: int) -> nn.Sequential:
    # Indices 0/1/3 carry weights: names output_net.0/.1/.3 in the official checkpoint.
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.LayerNorm(hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, out))


class MovementConvEncoder(nn.Module):
    """(B, T, 259) -> (B, T/4, 512)."""

    def __init__(self, input_size: int = MOVEMENT_INPUT, hidden: int = MOVEMENT_HIDDEN, out: int = MOVEMENT_LATENT):
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
    """Movements (B, T/4, 512) + lengths in movement steps -> (B, 512)."""

    def __init__(self, input_size: int = MOVEMENT_LATENT, hidden: int = MOTION_HIDDEN, out: int = COEMB_DIM):
        super().__init__(input_size, hidden, out)

    def forward(self, movements: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.encode(movements, lengths)


class TextEncoderBiGRUCo(_BiGRUCo):
    """Word vectors (B, L, 300) + POS one-hots (B, L, 15) + lengths -> (B, 512)."""

    def __init__(self, word_size: int = WORD_DIM, pos_size: int = len(POS_ENUMERATOR), hidden: int = TEXT_HIDDEN):
        super().__init__(word_size, hidden, COEMB_DIM)
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
    """The three official encoders plus the word vectors and the evaluator's motion normalisation."""

    def __init__(self, words: WordVectors, normalizer: Normalizer):
        super().__init__()
        if normalizer.dim != FEATURE_DIM:
            raise UserError(f"evaluator normalisation has {normalizer.dim} dims, expected {FEATURE_DIM}")
        self.movement_encoder = MovementConvEncoder()
        self.motion_encoder = MotionEncoderBiGRUCo()
        self.text_encoder = TextEncoderBiGRUCo()
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
        return model.to(torch.device(device) if device is not None else default_device()).eval()

    @property
    def device(self) -> torch.device:
        return self.feature_mean.device

    @torch.no_grad()
    def encode_motion(self, features: Sequence[np.ndarray], batch_size: int = 256) -> torch.Tensor:
        """RAW (T_i, 263) clips -> (B, 512). Clips shorter than 4 frames cannot be embedded."""
        lengths = np.array([len(f) // UNIT_LENGTH * UNIT_LENGTH for f in features], dtype=np.int64)
        if (lengths < UNIT_LENGTH).any():
            raise ValueError(f"the Guo evaluator needs clips of >= {UNIT_LENGTH} frames")
        out = torch.zeros(len(features), COEMB_DIM, device=self.device)
        for start in range(0, len(features), batch_size):
            idx = np.arange(start, min(start + batch_size, len(features)))
            # Always pad to 196 frames like the official loader: the second convolution's last step reads one
            # step of the first convolution's output on padding (its bias), so the padded length matters.
            t_max = max(MAX_FRAMES, int(lengths[idx].max()))
            x = torch.zeros(len(idx), t_max, FEATURE_DIM, device=self.device)
            for row, i in enumerate(idx):
                clip = torch.as_tensor(np.asarray(features[i][: lengths[i]], np.float32), device=self.device)
                x[row, : lengths[i]] = (clip - self.feature_mean) / self.feature_std
            movements = self.movement_encoder(x[..., : CONTACT_SLICE.start])
            steps = torch.as_tensor(lengths[idx] // UNIT_LENGTH)
            out[start : start + len(idx)] = self.motion_encoder(movements, steps)
        return out

    @torch.no_grad()
    def encode_text(self, captions: Sequence[Sequence[str]], batch_size: int = 256) -> torch.Tensor:
        """Captions as ``word/POS`` token sequences -> (B, 512)."""
        out = torch.zeros(len(captions), COEMB_DIM, device=self.device)
        for start in range(0, len(captions), batch_size):
            rows = [self.words.caption(tuple(c)) for c in captions[start : start + batch_size]]
            words = torch.as_tensor(np.stack([r[0] for r in rows]), device=self.device)
            pos = torch.as_tensor(np.stack([r[1] for r in rows]), device=self.device)
            lens = torch.as_tensor([r[2] for r in rows])
            out[start : start + len(rows)] = self.text_encoder(words, pos, lens)
        return out
