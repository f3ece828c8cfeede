"""The one per-process model cache: each checkpoint folder is loaded once per device, then shared.

The reward (``reward_fns.scorer``), generation and evaluation all load the VQ codec through the decode hook
(``motion_r1_verl.vq.hook.get_codec``) and the text-motion model through
``motion_r1_verl.retrieval.model.load_cached``, both of which keep their objects here: verl calls the
reward on every batch inside its workers, and loading a checkpoint each time would dominate.

The key is (kind, resolved folder, weights file modification time, device), so a checkpoint retrained in
place is loaded again rather than served stale.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch

from motion_r1_verl.runtime.device import pick_device

T = TypeVar("T")
WEIGHTS_NAME = "model.safetensors"

_MODELS: dict[tuple[str, str, str, str], Any] = {}
_LOCK = threading.Lock()


def _stamp(folder: Path) -> str:
    weights = folder / WEIGHTS_NAME
    target = weights if weights.is_file() else folder
    return str(target.stat().st_mtime_ns) if target.exists() else "missing"


def cached_model(
    kind: str, folder: str | Path, device: str | torch.device | None, load: Callable[[Path, torch.device], T]
) -> T:
    """The process-wide ``load(folder, device)`` result for this checkpoint and device (loaded on first use)."""
    path = Path(folder).resolve()
    dev = pick_device(device)
    key = (kind, str(path), _stamp(path), str(dev))
    with _LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = load(path, dev)
            _MODELS[key] = model
        return model


def clear_models(kind: str | None = None) -> None:
    """Forget the cached models of ``kind`` (every kind when None)."""
    with _LOCK:
        for key in [k for k in _MODELS if kind is None or k[0] == kind]:
            del _MODELS[key]
