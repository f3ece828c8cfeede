"""Motion data for VQ-VAE training: whole clips from a HumanML3D-format folder, random windows.

Why no DataLoader: the whole training set of normalised features fits in one tensor (HumanML3D is
~4M frames x 263 floats = ~4 GB float32 at full scale, the synthetic set a few MB), and a window batch
is then one gather. The sampler draws from its own ``torch.Generator`` whose state is saved in the
training state, so a resumed run draws the same windows it would have drawn without interruption.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import torch

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.humanml3d import load_split

logger = logging.getLogger(__name__)


def load_features(root: str | os.PathLike, split: str, *, min_frames: int = 1) -> tuple[list[str], list[np.ndarray]]:
    """Ids and raw (T, 263) features of the whole clips of ``root/<split>.txt``, at least ``min_frames``
    long and uncut: VQ training draws windows from clips of any length, as T2M-GPT's VQ dataset does.

    Caption crops are not expanded: they are sub-ranges of clips that are already read whole.
    Skipped clips are logged by the reader with their reasons.
    """
    clips, report = load_split(
        root, split, min_frames=min_frames, length_limit=None, crop_frames=None, expand_crops=False
    )
    if not clips:
        raise UserError(f"{root}/{split}.txt: no usable clips ({report.summary()})")
    return [c.id for c in clips], [c.features for c in clips]


@dataclass
class WindowSampler:
    """Random fixed-length windows over a list of normalised clips.

    Each window picks a clip uniformly, then a start uniformly (as T2M-GPT's VQ dataset does).
    """

    data: torch.Tensor
    """(sum T_i, D) concatenation of the clips."""
    offsets: torch.Tensor
    """(n,) start row of each clip in ``data``."""
    lengths: torch.Tensor
    """(n,) frames per clip (all >= window)."""
    window: int
    generator: torch.Generator

    @classmethod
    def from_clips(cls, clips: list[np.ndarray], window: int, seed: int) -> WindowSampler:
        kept = [c for c in clips if c.shape[0] >= window]
        if not kept:
            raise UserError(f"no training clip has >= {window} frames (the training window)")
        if len(kept) < len(clips):
            logger.warning(
                "VQ training: %d clip(s) shorter than the %d-frame window skipped", len(clips) - len(kept), window
            )
        lengths = torch.tensor([c.shape[0] for c in kept], dtype=torch.int64)
        offsets = torch.cumsum(lengths, 0) - lengths
        data = torch.from_numpy(np.concatenate(kept, axis=0).astype(np.float32))
        generator = torch.Generator().manual_seed(seed)
        return cls(data=data, offsets=offsets, lengths=lengths, window=window, generator=generator)

    @property
    def n_clips(self) -> int:
        return int(self.lengths.shape[0])

    def sample(self, batch_size: int) -> torch.Tensor:
        """(batch_size, window, D) windows (on CPU)."""
        clip = torch.randint(0, self.n_clips, (batch_size,), generator=self.generator)
        room = (self.lengths[clip] - self.window + 1).to(torch.float64)
        start = (torch.rand(batch_size, generator=self.generator, dtype=torch.float64) * room).long()
        rows = (self.offsets[clip] + start)[:, None] + torch.arange(self.window)[None, :]  # (B, W)
        return self.data[rows]


def pad_batch(clips: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack (T_i, D) tensors into a zero-padded (B, T_max, D) batch and a (B, T_max) bool mask."""
    lengths = [c.shape[0] for c in clips]
    out = clips[0].new_zeros(len(clips), max(lengths), clips[0].shape[-1])
    mask = torch.zeros(len(clips), max(lengths), dtype=torch.bool, device=clips[0].device)
    for i, clip in enumerate(clips):
        out[i, : clip.shape[0]] = clip
        mask[i, : clip.shape[0]] = True
    return out, mask
