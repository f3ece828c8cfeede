"""``MotionCodec``: raw motion features <-> motion codes <-> motion-token text, batched.

    codec = MotionCodec.from_pretrained("runs/vq")            # CUDA if available, else CPU
    codes = codec.encode([feats_a, feats_b])                  # list of (T_i/4,) int64
    feats = codec.decode(codes)                               # list of (4 * n_i, 263) float32, raw scale
    text = codec.tokens_to_text(codes[0])                     # "<Motion><Motion_12>...</Motion>"
    result = codec.text_to_codes(text)                        # protocol Response(parse_ok, codes, parse_reason, ...)

Inputs are RAW features (the codec normalises with the statistics stored in the checkpoint) and
outputs are raw features again.

Lengths: one code covers ``frames_per_code`` (4) frames. A clip whose length T is not a multiple of 4
is handled by the explicit ``tail`` policy: ``"trim"`` (default, as T2M-GPT) drops the last ``T % 4``
frames, ``"pad"`` repeats the last frame up to the next multiple of 4 (one more code, decodes to up to
3 frames more than T), ``"error"`` raises. Clips shorter than 4 frames with ``"trim"`` are an error.
Batches are padded internally WITH a mask (see ``model.py``): a clip's codes do not depend on which
other clips share its batch. Clips are sorted by length before batching so padding stays small.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.normalization import Normalizer
from motion_r1_verl.protocol import Response, codes_to_text, scan_response
from motion_r1_verl.runtime.device import pick_device
from motion_r1_verl.vq.checkpoint import load_checkpoint
from motion_r1_verl.vq.config import VQConfig
from motion_r1_verl.vq.data import pad_batch
from motion_r1_verl.vq.model import MotionVQVAE

TailPolicy = Literal["trim", "pad", "error"]
TAIL_POLICIES = ("trim", "pad", "error")
DEFAULT_BATCH_SIZE = 64


class MotionCodec:
    """A trained VQ-VAE with its normaliser, on one device, in eval mode."""

    def __init__(
        self,
        model: MotionVQVAE,
        normalizer: Normalizer,
        config: VQConfig | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        path: Path | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model.eval()
        self.normalizer = normalizer
        self.config = config
        self.batch_size = batch_size
        self.path = path
        self.device = next(model.parameters()).device

    @classmethod
    def from_pretrained(
        cls, path: str | os.PathLike, device: str | torch.device | None = None, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> MotionCodec:
        """Load the checkpoint folder ``path`` onto ``device`` (default: CUDA when available, else CPU)."""
        model, config, normalizer = load_checkpoint(path, device=pick_device(device))
        return cls(model, normalizer, config, batch_size=batch_size, path=Path(path))

    def fingerprint(self) -> str:
        """SHA-256 of every weight, buffer and the normaliser: what the codes this codec writes depend on."""
        digest = hashlib.sha256()
        for name, tensor in sorted(self.model.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().to("cpu").contiguous().numpy().tobytes())
        for array in (self.normalizer.mean, self.normalizer.std):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    @property
    def codebook_size(self) -> int:
        return self.model.cfg.codebook_size

    @property
    def frames_per_code(self) -> int:
        return self.model.frames_per_code

    # -- lengths --------------------------------------------------------------------------------------
    def _fit_length(self, clip: np.ndarray, index: int, tail: TailPolicy) -> np.ndarray:
        fpc = self.frames_per_code
        if clip.ndim != 2 or clip.shape[1] != self.model.cfg.input_dim:
            raise UserError(f"clip {index}: expected features (T, {self.model.cfg.input_dim}), got {clip.shape}")
        n = clip.shape[0]
        rest = n % fpc
        if tail not in TAIL_POLICIES:
            raise ValueError(f"tail must be one of {TAIL_POLICIES}, got {tail!r}")
        if rest == 0 and n > 0:
            return clip
        if tail == "error" or n == 0:
            raise UserError(f"clip {index}: {n} frames is not a positive multiple of {fpc} (tail={tail!r})")
        if tail == "trim":
            if n < fpc:
                raise UserError(f"clip {index}: {n} frames, fewer than one code ({fpc} frames) after trimming")
            return clip[: n - rest]
        return np.concatenate([clip, np.repeat(clip[-1:], fpc - rest, axis=0)], axis=0)

    @staticmethod
    def _as_list(features: np.ndarray | torch.Tensor | Sequence, lengths: Sequence[int] | None) -> list[np.ndarray]:
        if isinstance(features, torch.Tensor):
            features = features.detach().cpu().numpy()
        if isinstance(features, np.ndarray) and features.ndim == 3:
            if lengths is None:
                raise UserError("a padded (B, T, D) batch needs `lengths` (the real frames of each clip)")
            if len(lengths) != features.shape[0]:
                raise UserError(f"{len(lengths)} lengths for a batch of {features.shape[0]} clips")
            if any(int(n) > features.shape[1] or int(n) < 0 for n in lengths):
                raise UserError(f"lengths {list(lengths)} exceed the padded length {features.shape[1]}")
            return [features[i, : int(n)] for i, n in enumerate(lengths)]
        if isinstance(features, np.ndarray) and features.ndim == 2:
            raise UserError("pass a list of (T, D) clips (or a padded (B, T, D) batch with lengths), not one clip")
        if lengths is not None:
            raise UserError("`lengths` is only for a padded (B, T, D) batch")
        return [f.detach().cpu().numpy() if isinstance(f, torch.Tensor) else np.asarray(f) for f in features]

    # -- codes ----------------------------------------------------------------------------------------
    @torch.no_grad()
    def encode(
        self,
        features: Sequence[np.ndarray] | np.ndarray | torch.Tensor,
        lengths: Sequence[int] | None = None,
        tail: TailPolicy = "trim",
    ) -> list[np.ndarray]:
        """Codes of raw clips: a list of (T_i, D) arrays, or a padded (B, T, D) batch with ``lengths``.

        Returns one (T_i // frames_per_code,) int64 array per clip (``tail`` decides the remainder).
        """
        clips = [
            self._fit_length(np.asarray(c, dtype=np.float32), i, tail)
            for i, c in enumerate(self._as_list(features, lengths))
        ]
        out: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(clips)
        order = sorted(range(len(clips)), key=lambda i: clips[i].shape[0])
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            batch = [self.normalizer(torch.from_numpy(clips[i]).to(self.device)) for i in idx]
            x, mask = pad_batch(batch)
            codes = self.model.encode(x, mask).cpu().numpy()
            for row, i in enumerate(idx):
                out[i] = codes[row, : clips[i].shape[0] // self.frames_per_code].astype(np.int64)
        return out

    @torch.no_grad()
    def decode(self, codes: Sequence[np.ndarray | Sequence[int]]) -> list[np.ndarray]:
        """Raw features of code sequences: one (frames_per_code * n_i, D) float32 array per sequence.

        An empty sequence decodes to a (0, D) array; ids outside the codebook are a ``UserError``
        (use :meth:`text_to_codes`, which filters them, for model output).
        """
        seqs = [np.asarray(c, dtype=np.int64).reshape(-1) for c in codes]
        for i, seq in enumerate(seqs):
            if seq.size and (seq.min() < 0 or seq.max() >= self.codebook_size):
                raise UserError(f"codes {i}: ids must be in 0..{self.codebook_size - 1}, got {seq.min()}..{seq.max()}")
        dim = self.model.cfg.input_dim
        out: list[np.ndarray] = [np.zeros((0, dim), dtype=np.float32)] * len(seqs)
        order = sorted((i for i in range(len(seqs)) if seqs[i].size), key=lambda i: seqs[i].size)
        fpc = self.frames_per_code
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            n_max = max(seqs[i].size for i in idx)
            batch = torch.zeros(len(idx), n_max, dtype=torch.int64)
            mask = torch.zeros(len(idx), n_max, dtype=torch.bool)
            for row, i in enumerate(idx):
                batch[row, : seqs[i].size] = torch.from_numpy(seqs[i])
                mask[row, : seqs[i].size] = True
            recon = self.model.decode(batch.to(self.device), mask.to(self.device))
            recon = self.normalizer.inverse(recon).float().cpu().numpy()
            for row, i in enumerate(idx):
                out[i] = np.ascontiguousarray(recon[row, : seqs[i].size * fpc])
        return out

    # -- text -----------------------------------------------------------------------------------------
    def tokens_to_text(self, codes: np.ndarray | Sequence[int]) -> str:
        """``[12, 7] -> "<Motion><Motion_12><Motion_7></Motion>"``."""
        return codes_to_text(np.asarray(codes, dtype=np.int64).reshape(-1).tolist())

    def text_to_codes(self, text: str) -> Response:
        """The protocol's scan of ``text`` with this codebook: ``.parse_ok``, ``.codes`` of its first well-formed
        motion span, ``.parse_reason``, the reasoning and the strict verdict; never raises."""
        return scan_response(text, self.codebook_size)
