"""VQ-VAE checkpoint folders: write atomically, load by path alone.

A checkpoint is a folder (like a Hugging Face model folder)::

    CKPT/config.json          resolved VQConfig (model + train), the model is rebuilt from it
    CKPT/model.safetensors    every parameter AND buffer (codebook, EMA sums/counts, init flag)
    CKPT/Mean.npy, Std.npy    the normalisation the model was trained with
    CKPT/trainer_state.pt     optional: optimiser, step, RNG states for ``--resume``

Atomicity: the whole folder is written under a temporary name and swapped in with two renames
(``CKPT`` -> ``.CKPT.vq-swap``, tmp -> ``CKPT``: :func:`motion_r1_verl.runtime.files.atomic_dir`, fsynced), so
a reader never sees a mix of two steps. A crash between the two renames leaves ``.CKPT.vq-swap``;
:func:`recover` puts it back. The swap name is private and recovery touches it only when it holds a VQ
checkpoint of ours (its ``config.json`` carries :data:`FORMAT_TAG`): a user's own ``CKPT.old`` or any other
sibling is never moved or removed.

``trainer_state.pt`` is read with ``torch.load(weights_only=True)``: tensors, numbers and strings
only, no arbitrary unpickling.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.normalization import Normalizer
from motion_r1_verl.runtime.files import atomic_dir, recover_dir
from motion_r1_verl.runtime.models import check_field_types, load_weights
from motion_r1_verl.vq.config import VQConfig
from motion_r1_verl.vq.model import MotionVQVAE

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
STATE_NAME = "trainer_state.pt"
FORMAT_TAG = "motion_r1_verl.vq/1"


def _swap_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.vq-swap")


def _is_ours(folder: Path) -> bool:
    """Whether ``folder`` holds a checkpoint this module wrote (its config carries FORMAT_TAG)."""
    try:
        return json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8")).get("format") == FORMAT_TAG
    except (OSError, ValueError, AttributeError):
        return False


def recover(path: str | os.PathLike) -> None:
    """Finish an interrupted swap: the old checkpoint left at the private swap name becomes ``CKPT`` again
    (or is removed when the new one made it); nothing happens unless that folder is a checkpoint of ours."""
    swap = _swap_path(Path(path))
    if swap.is_dir() and _is_ours(swap):
        recover_dir(path, swap)


def save_checkpoint(
    path: str | os.PathLike,
    model: MotionVQVAE,
    config: VQConfig,
    normalizer: Normalizer,
    trainer_state: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write the checkpoint folder ``path`` atomically (see module docstring); returns ``path``."""
    path = Path(path)
    recover(path)
    with atomic_dir(path, durable=True, aside=_swap_path(path)) as tmp:
        (tmp / CONFIG_NAME).write_text(
            json.dumps({"format": FORMAT_TAG, **config.to_dict()}, indent=2, sort_keys=True) + "\n"
        )
        tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
        save_file(tensors, str(tmp / WEIGHTS_NAME), metadata={"format": FORMAT_TAG, **(metadata or {})})
        normalizer.save(tmp)
        if trainer_state is not None:
            torch.save(trainer_state, tmp / STATE_NAME)
    return path


def load_config(path: str | os.PathLike) -> VQConfig:
    """The ``VQConfig`` of checkpoint folder ``path``."""
    path = Path(path)
    recover(path)
    config_path = path / CONFIG_NAME
    if not config_path.is_file():
        raise UserError(f"{path}: not a VQ checkpoint folder (missing {CONFIG_NAME})")
    try:
        data = json.loads(config_path.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise UserError(f"{config_path}: not valid JSON ({err})") from None
    if not isinstance(data, dict) or data.pop("format", None) != FORMAT_TAG:
        raise UserError(f"{config_path}: not a motion_r1_verl VQ config (expected format {FORMAT_TAG!r})")
    if not isinstance(data.get("model", {}), dict) or not isinstance(data.get("train", {}), dict):
        raise UserError(f"{config_path}: 'model' and 'train' must be JSON objects")
    try:
        return check_field_types(VQConfig.from_dict(data), str(config_path))
    except (TypeError, ValueError) as err:
        if isinstance(err, UserError):
            raise
        raise UserError(f"{config_path}: invalid VQ config ({err})") from None


def load_checkpoint(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[MotionVQVAE, VQConfig, Normalizer]:
    """Rebuild model (eval mode, on ``device``), config and normaliser from folder ``path``."""
    path = Path(path)
    config = load_config(path)
    weights = path / WEIGHTS_NAME
    if not weights.is_file():
        raise UserError(f"{path}: missing {WEIGHTS_NAME}")
    model = MotionVQVAE(config.model)
    load_weights(model, weights, CONFIG_NAME)
    normalizer = Normalizer.load(path)
    if normalizer.dim != config.model.input_dim:
        raise UserError(f"{path}: Mean/Std have {normalizer.dim} dims, the model expects {config.model.input_dim}")
    return model.to(device).eval(), config, normalizer


def load_trainer_state(path: str | os.PathLike) -> dict[str, Any]:
    """The resumable training state of folder ``path`` (safe load: ``weights_only=True``)."""
    path = Path(path)
    recover(path)
    state_path = path / STATE_NAME
    if not state_path.is_file():
        raise UserError(f"{path}: no {STATE_NAME} to resume from (was it saved by `motion-r1 vq train`?)")
    return torch.load(state_path, map_location="cpu", weights_only=True)
