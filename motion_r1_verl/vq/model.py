"""The motion VQ-VAE: 1-D conv encoder, EMA codebook, mirrored decoder (T2M-GPT's tokenizer, rewritten).

Shapes: features ``(B, T, 263)`` (normalised) -> encoder ``(B, code_dim, T / 2**down_t)`` -> codes
``(B, T / 2**down_t)`` int64 -> decoder -> ``(B, T, 263)``.

Variable lengths without silent padding: every module takes an optional ``mask`` (B, T) of real
frames. A padded batch is re-zeroed after each layer, so what a real position sees beyond its clip's
end is exactly the zero padding a conv applies at the end of an unpadded clip: a padded batch gives
the same codes as encoding each clip on its own (tested). Lengths must be multiples of
``2**down_t``; the codec decides (explicitly) what to do with the remainder.

Device: modules never pick a device; callers ``.to(device)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from motion_r1_verl.vq.config import VQModelConfig
from motion_r1_verl.vq.quantizer import EMAResetQuantizer


def _activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "silu":
        return nn.SiLU()
    if name == "gelu":
        return nn.GELU()
    raise ValueError(f"unknown activation {name!r}")


def _apply_mask(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Zero the padded time steps of ``x`` (B, C, T); ``mask`` is (B, T) bool or None (no padding)."""
    return x if mask is None else x * mask[:, None, :].to(x.dtype)


def downsample_mask(mask: torch.Tensor | None, factor: int) -> torch.Tensor | None:
    """Mask at ``1/factor`` the time resolution (lengths are multiples of ``factor``)."""
    return None if mask is None else mask[:, ::factor]


class ResBlock(nn.Module):
    """``x + conv1x1(act(dilated_conv3(act(x))))``."""

    def __init__(self, width: int, dilation: int, activation: str) -> None:
        super().__init__()
        self.act1 = _activation(activation)
        self.conv1 = nn.Conv1d(width, width, kernel_size=3, padding=dilation, dilation=dilation)
        self.act2 = _activation(activation)
        self.conv2 = nn.Conv1d(width, width, kernel_size=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(self.act1(x))
        # conv2 is pointwise, so padded positions cannot leak into real ones before the final mask.
        h = self.conv2(self.act2(h))
        return _apply_mask(x + h, mask)


class DilatedResNet(nn.Module):
    """``depth`` residual blocks with dilations ``rate**i``, largest first when ``reverse``."""

    def __init__(self, width: int, depth: int, rate: int, activation: str, reverse: bool = False) -> None:
        super().__init__()
        dilations = [rate**i for i in range(depth)]
        if reverse:
            dilations = dilations[::-1]
        self.blocks = nn.ModuleList(ResBlock(width, d, activation) for d in dilations)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, mask)
        return x


class Encoder(nn.Module):
    """(B, input_dim, T) -> (B, code_dim, T / 2**down_t)."""

    def __init__(self, cfg: VQModelConfig) -> None:
        super().__init__()
        self.conv_in = nn.Conv1d(cfg.input_dim, cfg.width, kernel_size=3, padding=1)
        self.act_in = _activation(cfg.activation)
        self.downs = nn.ModuleList(
            nn.Conv1d(cfg.width, cfg.width, kernel_size=4, stride=2, padding=1) for _ in range(cfg.down_t)
        )
        self.resnets = nn.ModuleList(
            DilatedResNet(
                cfg.width, cfg.depth, cfg.dilation_growth_rate, cfg.activation, reverse=cfg.reverse_encoder_dilation
            )
            for _ in range(cfg.down_t)
        )
        self.conv_out = nn.Conv1d(cfg.width, cfg.code_dim, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = _apply_mask(self.act_in(self.conv_in(_apply_mask(x, mask))), mask)
        for down, resnet in zip(self.downs, self.resnets, strict=True):
            mask = downsample_mask(mask, 2)
            x = _apply_mask(down(x), mask)
            x = resnet(x, mask)
        return _apply_mask(self.conv_out(x), mask)


class Decoder(nn.Module):
    """(B, code_dim, N) -> (B, input_dim, N * 2**down_t); nearest-neighbour upsampling."""

    def __init__(self, cfg: VQModelConfig) -> None:
        super().__init__()
        self.conv_in = nn.Conv1d(cfg.code_dim, cfg.width, kernel_size=3, padding=1)
        self.act_in = _activation(cfg.activation)
        self.resnets = nn.ModuleList(
            DilatedResNet(cfg.width, cfg.depth, cfg.dilation_growth_rate, cfg.activation, reverse=True)
            for _ in range(cfg.down_t)
        )
        self.up_convs = nn.ModuleList(
            nn.Conv1d(cfg.width, cfg.width, kernel_size=3, padding=1) for _ in range(cfg.down_t)
        )
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv_mid = nn.Conv1d(cfg.width, cfg.width, kernel_size=3, padding=1)
        self.act_mid = _activation(cfg.activation)
        self.conv_out = nn.Conv1d(cfg.width, cfg.input_dim, kernel_size=3, padding=1)

    def forward(self, z: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``mask`` is at the code resolution (B, N)."""
        x = _apply_mask(self.act_in(self.conv_in(z)), mask)
        for resnet, up_conv in zip(self.resnets, self.up_convs, strict=True):
            x = resnet(x, mask)
            x = self.upsample(x)
            mask = None if mask is None else mask.repeat_interleave(2, dim=1)
            x = _apply_mask(up_conv(x), mask)
        x = _apply_mask(self.act_mid(self.conv_mid(x)), mask)
        return _apply_mask(self.conv_out(x), mask)


@dataclass
class VQOutput:
    """What one forward pass returns."""

    recon: torch.Tensor
    """(B, T, input_dim) reconstruction (normalised space)."""
    commit_loss: torch.Tensor
    """Scalar commitment loss over real positions."""
    perplexity: torch.Tensor
    """Scalar perplexity of the code histogram of this batch."""
    codes: torch.Tensor
    """(B, T / 2**down_t) int64."""


class MotionVQVAE(nn.Module):
    """Encoder + EMA-reset quantiser + decoder; built from a ``VQModelConfig`` alone."""

    def __init__(self, cfg: VQModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.quantizer = EMAResetQuantizer(cfg.codebook_size, cfg.code_dim, cfg.ema_decay)
        self.decoder = Decoder(cfg)

    @property
    def frames_per_code(self) -> int:
        return self.cfg.frames_per_code

    def _check(self, x: torch.Tensor, mask: torch.Tensor | None) -> None:
        if x.ndim != 3 or x.shape[-1] != self.cfg.input_dim:
            raise ValueError(f"expected features (B, T, {self.cfg.input_dim}), got {tuple(x.shape)}")
        if x.shape[1] % self.frames_per_code:
            raise ValueError(f"T={x.shape[1]} must be a multiple of {self.frames_per_code} frames per code")
        if mask is not None and mask.shape != x.shape[:2]:
            raise ValueError(f"mask must be (B, T) = {tuple(x.shape[:2])}, got {tuple(mask.shape)}")

    def _code_mask(self, mask: torch.Tensor | None) -> torch.Tensor | None:
        return downsample_mask(mask, self.frames_per_code)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> VQOutput:
        """Reconstruct normalised features ``x`` (B, T, D); ``mask`` (B, T) marks real frames."""
        self._check(x, mask)
        z = self.encoder(x.permute(0, 2, 1), mask)  # (B, T, D) -> (B, D, T) -> (B, C, N)
        code_mask = self._code_mask(mask)
        z_q, commit, perplexity, codes = self.quantizer(z, code_mask)
        recon = self.decoder(z_q, code_mask).permute(0, 2, 1)  # (B, D, T) -> (B, T, D)
        return VQOutput(recon=recon, commit_loss=commit, perplexity=perplexity, codes=codes)

    @torch.no_grad()
    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Codes of normalised features ``x`` (B, T, D) -> (B, T / frames_per_code) int64."""
        self._check(x, mask)
        z = self.encoder(x.permute(0, 2, 1), mask)  # (B, C, N)
        return self.quantizer.quantize(z)

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, code_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised features of ``codes`` (B, N) -> (B, N * frames_per_code, D)."""
        if codes.ndim != 2:
            raise ValueError(f"expected codes (B, N), got {tuple(codes.shape)}")
        z_q = _apply_mask(self.quantizer.dequantize(codes), code_mask)  # (B, C, N)
        return self.decoder(z_q, code_mask).permute(0, 2, 1)  # (B, D, T) -> (B, T, D)
