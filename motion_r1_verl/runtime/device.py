"""The one device choice: the device a caller names, else CUDA when this process has it, else CPU.

Library functions take ``device=None`` and call :func:`pick_device` once, at their edge; nothing below
them chooses again.
"""

from __future__ import annotations

import torch


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` as a ``torch.device``; None (or empty): CUDA when available, else CPU."""
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
