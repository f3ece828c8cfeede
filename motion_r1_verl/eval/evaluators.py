"""The two embedding models ``motion-r1 eval`` can score with, behind one small interface.

``ours``: a trained :class:`~motion_r1_verl.retrieval.model.TextMotionModel` (captions as text).
``guo``: the Guo et al. architecture (captions as ``word/POS`` tokens): the official ``finest.tar`` for
paper-comparable numbers, or a judge folder trained on our own data (``motion-r1 retrieval train --arch guo``),
which shares nothing with the reward's encoders.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from motion_r1_verl.motion.core.humanml3d import Caption
from motion_r1_verl.retrieval.guo import GuoEvaluator
from motion_r1_verl.retrieval.model import TextMotionModel, load_cached


class Evaluator(Protocol):
    name: str

    def embed_motions(self, features: Sequence[np.ndarray]) -> np.ndarray: ...

    def embed_captions(self, captions: Sequence[Caption]) -> np.ndarray: ...


class OursEvaluator:
    """Embeddings from our trained text-motion model."""

    name = "ours"

    def __init__(self, model: TextMotionModel):
        self.model = model

    @classmethod
    def load(cls, checkpoint: str | Path, device: str | torch.device | None = None) -> OursEvaluator:
        return cls(load_cached(checkpoint, device))

    def embed_motions(self, features: Sequence[np.ndarray]) -> np.ndarray:
        return self.model.encode_motion(list(features)).cpu().numpy()

    def embed_captions(self, captions: Sequence[Caption]) -> np.ndarray:
        return self.model.encode_text([c.text for c in captions]).cpu().numpy()


class GuoTextMotionEvaluator:
    """Embeddings from the Guo et al. (2022) evaluator architecture."""

    name = "guo"

    def __init__(self, model: GuoEvaluator, name: str = "guo"):
        self.model = model
        self.name = name

    @classmethod
    def load(
        cls, checkpoint: str | Path, glove_dir: str | Path, norm_dir: str | Path, device: str | None = None
    ) -> GuoTextMotionEvaluator:
        """The official ``finest.tar`` with its GloVe folder and ``t2m_mean/std.npy`` folder."""
        return cls(GuoEvaluator.from_files(checkpoint, glove_dir, norm_dir, device))

    @classmethod
    def load_trained(cls, folder: str | Path, device: str | None = None) -> GuoTextMotionEvaluator:
        """A judge folder from ``motion-r1 retrieval train --arch guo`` (word vectors and normaliser inside)."""
        return cls(GuoEvaluator.from_pretrained(folder, device), name="guo-trained")

    def embed_motions(self, features: Sequence[np.ndarray]) -> np.ndarray:
        return self.model.encode_motion(list(features)).cpu().numpy()

    def embed_captions(self, captions: Sequence[Caption]) -> np.ndarray:
        return self.model.encode_text([c.tokens for c in captions]).cpu().numpy()
