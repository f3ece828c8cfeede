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

from motion_r1_verl.errors import UserError
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


def check_field_types(config: Any, where: str) -> Any:
    """``config`` (a dataclass, nested ones too) when every field holds a value of its annotated type;
    ``UserError`` naming ``where`` and the first bad field otherwise (a config.json ``width`` of "128" or
    128.5 would otherwise surface as a traceback deep inside a layer's constructor)."""
    import dataclasses
    import typing

    hints = typing.get_type_hints(type(config))
    for item in dataclasses.fields(config):
        value, hint = getattr(config, item.name), hints.get(item.name)
        if dataclasses.is_dataclass(value):
            check_field_types(value, where)
            continue
        expected = {int: (int,), float: (int, float), bool: (bool,), str: (str,)}.get(hint)
        if expected is None:
            continue  # containers and unions: checked by the config's own __post_init__
        if not isinstance(value, expected) or (hint is not bool and isinstance(value, bool)):
            raise UserError(f"{where}: field {item.name!r} must be {hint.__name__}, got {value!r}")
    return config


def load_weights(model: torch.nn.Module, weights: Path, config_name: str = "config.json") -> None:
    """Load the safetensors file ``weights`` into ``model`` (strict); one-line ``UserError`` naming the file
    for a corrupt file or weights that do not fit the architecture in ``config_name``."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError) as err:
        raise UserError(f"{weights}: not a readable safetensors file ({str(err).splitlines()[0]})") from None
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    resized = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or resized:
        first = (
            resized[:1]
            and f"{resized[0]} is {tuple(state[resized[0]].shape)}, expected {tuple(expected[resized[0]].shape)}"
        )
        parts = [f"{len(missing)} missing", f"{len(unexpected)} unexpected", f"{len(resized)} of other shapes"]
        detail = f"; first: {first}" if first else f"; first: {(missing or unexpected)[0]}"
        raise UserError(f"{weights}: weights do not fit the architecture in {config_name} ({', '.join(parts)}{detail})")
    model.load_state_dict(state, strict=True)
