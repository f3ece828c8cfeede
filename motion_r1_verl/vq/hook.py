"""The decode hook: model output text -> codes -> features -> joints, for rewards, generation, evaluation.

    result = decode_text(response, "runs/vq")
    if result.valid: joints = result.joints                   # (4 * n, 22, 3) metres

    results = decode_texts(responses, "runs/vq")              # one batched VQ decode for many texts

Why a per-process cache: reward functions are called once per batch (or per sample) inside verl
workers; loading the checkpoint each time would dominate. :func:`get_codec` keeps one
``MotionCodec`` per (checkpoint folder, device) in the shared model cache
(:mod:`motion_r1_verl.runtime.models`, which the reward's scorer, generation and evaluation use too); the
device defaults to CUDA when the process has one, else CPU. ``clear_cache()`` drops them.

Never raises for bad text: an unparsable response gives ``valid=False`` and a reason. A missing or
broken checkpoint is a ``UserError`` (that is a configuration mistake, not a bad sample).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from motion_r1_verl.motion.core.features import joints_from_features
from motion_r1_verl.protocol import Response
from motion_r1_verl.runtime.models import cached_model, clear_models
from motion_r1_verl.vq.codec import MotionCodec

CACHE_KIND = "vq"


@dataclass
class DecodeResult:
    """What a response decodes to."""

    valid: bool
    """False when the text holds no well-formed motion span (then features/joints are None)."""
    reason: str
    """``"ok"`` or why the text could not be decoded (from the parser)."""
    codes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """(N,) int64 codes of the chosen span (in-range ids only, also when invalid)."""
    response: Response | None = None
    """The protocol's scan of the text (think, plan, notes, strict verdict): one scan serves every reader."""
    features: np.ndarray | None = None
    """(4N, 263) float32 raw features."""
    joints: np.ndarray | None = None
    """(4N, 22, 3) float32 joint positions in metres."""


def get_codec(ckpt_path: str | os.PathLike, device: str | torch.device | None = None) -> MotionCodec:
    """The process-wide cached codec of ``ckpt_path`` on ``device`` (default CUDA if available)."""
    return cached_model(CACHE_KIND, ckpt_path, device, lambda path, dev: MotionCodec.from_pretrained(path, device=dev))


def clear_cache() -> None:
    """Forget every cached codec."""
    clear_models(CACHE_KIND)


def decode_texts(
    texts: Sequence[str], ckpt_path: str | os.PathLike, device: str | torch.device | None = None
) -> list[DecodeResult]:
    """Decode many responses with one batched VQ decode; one result per text, in order."""
    codec = get_codec(ckpt_path, device)
    parsed = [codec.text_to_codes(t) for t in texts]
    ok = [i for i, p in enumerate(parsed) if p.parse_ok]
    features = codec.decode([parsed[i].codes for i in ok])
    results = [DecodeResult(valid=False, reason=p.parse_reason, codes=p.codes, response=p) for p in parsed]
    for i, feats in zip(ok, features, strict=True):
        joints = joints_from_features(feats).astype(np.float32)
        results[i] = DecodeResult(True, parsed[i].parse_reason, parsed[i].codes, parsed[i], feats, joints)
    return results


def decode_text(text: str, ckpt_path: str | os.PathLike, device: str | torch.device | None = None) -> DecodeResult:
    """Decode one response (see module docstring)."""
    return decode_texts([text], ckpt_path, device)[0]
