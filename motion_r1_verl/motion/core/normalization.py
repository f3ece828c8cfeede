"""Feature normalisation: ``(x - mean) / std`` over the 263 HumanML3D feature dims, and back.

Why one object: the VQ-VAE, the retrieval encoders and the Guo et al. evaluator each normalise with
their own statistics (HumanML3D's ``Mean.npy``/``Std.npy`` vs the evaluator's ``t2m_mean.npy``/
``t2m_std.npy``, whose std differs by up to ~25x). Keeping mean and std together, with ``save``/
``load`` beside a checkpoint, makes it hard to decode with the wrong pair.

``Normalizer.fit`` reproduces HumanML3D's ``cal_mean_variance``: per-dim mean, and a std averaged
within each feature group (root rotation velocity, root xz velocity, root height, ric, rotations,
local velocities, foot contacts), so no single near-constant dim gets blown up.

Works on numpy arrays and torch tensors; the output keeps the input's type, dtype and device.

    norm = Normalizer.load("../shared/data/humanml3d")          # Mean.npy / Std.npy
    z = norm(features); features_again = norm.inverse(z)
    evaluator_norm = Normalizer.evaluator("../shared/data/t2m_evaluator")
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.constants import CONTACT_SLICE, FEATURE_DIM, RIC_SLICE, ROT_SLICE, VEL_SLICE
from motion_r1_verl.runtime.files import load_npy, save_npy_atomic

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)

# HumanML3D's cal_mean_variance averages the std inside each of these slices.
STD_GROUPS: tuple[slice, ...] = (slice(0, 1), slice(1, 3), slice(3, 4), RIC_SLICE, ROT_SLICE, VEL_SLICE, CONTACT_SLICE)

# A std below this would turn float noise into huge normalised values (e.g. foot contacts that are
# always 0 in a tiny synthetic set); fit() floors the std here instead of dividing by ~0.
MIN_STD = 1e-4


def _load_vector(path: Path, what: str) -> np.ndarray:
    if not path.is_file():
        raise UserError(f"{path}: {what} file not found (expected a .npy array of shape ({FEATURE_DIM},))")
    try:
        return load_npy(path)
    except ValueError as exc:
        raise UserError(f"{path}: {exc}") from None


@dataclass(eq=False)
class Normalizer:
    """Per-dimension mean and std of motion features.

    Attributes:
        mean: (D,) float32 mean, D = 263 for HumanML3D features.
        std: (D,) float32 std, strictly positive and finite.
    """

    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        self.mean = np.asarray(self.mean, dtype=np.float32)
        self.std = np.asarray(self.std, dtype=np.float32)
        if self.mean.ndim != 1 or self.mean.shape != self.std.shape:
            raise UserError(
                f"Normalizer: mean and std must both have shape (D,), got {self.mean.shape} and {self.std.shape}"
            )
        if not (np.isfinite(self.mean).all() and np.isfinite(self.std).all()):
            raise UserError("Normalizer: mean/std contain NaN or inf")
        if (self.std <= 0).any():
            bad = np.flatnonzero(self.std <= 0)[:5].tolist()
            raise UserError(f"Normalizer: std must be > 0 everywhere (dims {bad} are not)")
        self._torch_cache: dict[tuple[torch.dtype, torch.device], tuple[torch.Tensor, torch.Tensor]] = {}

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    # ----------------------------------------------------------------------------------------- io
    @classmethod
    def load(
        cls, dir_or_prefix: str | os.PathLike, mean_name: str = "Mean.npy", std_name: str = "Std.npy"
    ) -> Normalizer:
        """Read ``DIR/Mean.npy`` and ``DIR/Std.npy``; a non-directory path is a file-name prefix
        (``runs/vq/norm_`` -> ``runs/vq/norm_Mean.npy``)."""
        base = Path(dir_or_prefix)
        if base.is_dir():
            mean_path, std_path = base / mean_name, base / std_name
        else:
            mean_path, std_path = Path(f"{base}{mean_name}"), Path(f"{base}{std_name}")
        mean = _load_vector(mean_path, "mean")
        std = _load_vector(std_path, "std")
        try:
            return cls(mean, std)
        except UserError as exc:
            raise UserError(f"{mean_path} / {std_path}: {exc}") from exc

    @classmethod
    def evaluator(cls, directory: str | os.PathLike) -> Normalizer:
        """The Guo et al. evaluator's normalisation: ``DIR/t2m_mean.npy`` and ``DIR/t2m_std.npy``."""
        return cls.load(directory, mean_name="t2m_mean.npy", std_name="t2m_std.npy")

    def save(self, directory: str | os.PathLike, mean_name: str = "Mean.npy", std_name: str = "Std.npy") -> None:
        """Write ``DIR/Mean.npy`` and ``DIR/Std.npy`` atomically (creates DIR)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        save_npy_atomic(out / mean_name, self.mean)
        save_npy_atomic(out / std_name, self.std)

    @classmethod
    def fit(cls, features: Sequence[np.ndarray], *, group_std: bool = True, min_std: float = MIN_STD) -> Normalizer:
        """Statistics over all frames of ``features`` (a list of (T_i, D) arrays).

        Args:
            features: clips; NaN clips are an error (HumanML3D skipped them silently, we don't).
            group_std: average the std within HumanML3D's feature groups (needs D == 263), as its
                ``Std.npy`` does; False keeps a per-dim std.
            min_std: floor for the std so constant dims don't divide by ~0.
        """
        if len(features) == 0:
            raise UserError("Normalizer.fit: no feature arrays given")
        arrays = [np.asarray(f, dtype=np.float64) for f in features]
        dim = arrays[0].shape[-1] if arrays[0].ndim == 2 else None
        for i, a in enumerate(arrays):
            if a.ndim != 2 or a.shape[-1] != dim or a.shape[0] == 0:
                raise UserError(f"Normalizer.fit: clip {i} has shape {a.shape}, expected (T>0, {dim}) like clip 0")
            if not np.isfinite(a).all():
                raise UserError(f"Normalizer.fit: clip {i} contains NaN or inf")
        data = np.concatenate(arrays, axis=0)
        mean = data.mean(axis=0)
        std = data.std(axis=0)
        if group_std:
            if dim != FEATURE_DIM:
                raise UserError(f"Normalizer.fit: group_std needs {FEATURE_DIM}-dim features, got {dim}")
            for group in STD_GROUPS:
                std[group] = std[group].mean()
        return cls(mean, np.maximum(std, min_std))

    # ------------------------------------------------------------------------------------- apply
    def _stats_like(self, x: ArrayT) -> tuple[ArrayT, ArrayT]:
        if x.shape[-1] != self.dim:
            raise UserError(f"Normalizer: expected features (..., {self.dim}), got shape {tuple(x.shape)}")
        if isinstance(x, torch.Tensor):
            key = (x.dtype, x.device)
            if key not in self._torch_cache:
                self._torch_cache[key] = (
                    torch.as_tensor(self.mean, dtype=x.dtype, device=x.device),
                    torch.as_tensor(self.std, dtype=x.dtype, device=x.device),
                )
            return self._torch_cache[key]
        if isinstance(x, np.ndarray):
            dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
            return self.mean.astype(dtype, copy=False), self.std.astype(dtype, copy=False)
        raise TypeError(f"Normalizer: expected a numpy array or torch tensor, got {type(x).__name__}")

    def __call__(self, x: ArrayT) -> ArrayT:
        """``(x - mean) / std`` over the last dim."""
        mean, std = self._stats_like(x)
        return (x - mean) / std

    def inverse(self, x: ArrayT) -> ArrayT:
        """``x * std + mean`` over the last dim."""
        mean, std = self._stats_like(x)
        return x * std + mean
