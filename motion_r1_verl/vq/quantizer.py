"""EMA vector quantiser with dead-code reset (the codebook of the motion VQ-VAE).

How it works (as in T2M-GPT's ``QuantizeEMAReset``, rewritten): each encoder output vector is snapped
to its nearest code; codes are not trained by gradients but by exponential moving averages of the
vectors assigned to them; a code whose EMA count falls below 1 is "dead" and is reset to a random
encoder output of the current batch. Gradients pass the quantiser straight through.

Why buffers: the init flag, the codebook and the EMA sums/counts are all registered buffers, so they
move with ``.to(device)``, land in ``state_dict`` (hence in ``model.safetensors``) and a resumed run
continues bit-for-bit. The random draws use the global torch RNG, whose state the trainer saves.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class EMAResetQuantizer(nn.Module):
    """Nearest-neighbour quantiser over ``codebook_size`` codes of ``code_dim`` each."""

    def __init__(self, codebook_size: int, code_dim: int, decay: float = 0.99) -> None:
        super().__init__()
        self.codebook_size = codebook_size
        self.code_dim = code_dim
        self.decay = decay
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))
        self.register_buffer("codebook", torch.zeros(codebook_size, code_dim))
        self.register_buffer("code_sum", torch.zeros(codebook_size, code_dim))
        self.register_buffer("code_count", torch.zeros(codebook_size))

    # -- helpers -------------------------------------------------------------------------------------
    def _tile(self, x: torch.Tensor) -> torch.Tensor:
        """At least ``codebook_size`` rows from ``x`` (N, C): repeat with a little noise when N is small."""
        n = x.shape[0]
        if n >= self.codebook_size:
            return x
        repeats = math.ceil(self.codebook_size / n)
        noise_std = 0.01 / math.sqrt(self.code_dim)
        out = x.repeat(repeats, 1)
        return out + torch.randn_like(out) * noise_std

    def _random_rows(self, x: torch.Tensor) -> torch.Tensor:
        """``codebook_size`` random rows of ``x`` (N, C) (the candidates for dead-code reset)."""
        tiled = self._tile(x)
        perm = torch.randperm(tiled.shape[0], device=tiled.device)
        return tiled[perm[: self.codebook_size]]

    @torch.no_grad()
    def _init_codebook(self, x: torch.Tensor) -> None:
        rows = self._random_rows(x)
        self.codebook.copy_(rows)
        self.code_sum.copy_(rows)
        self.code_count.fill_(1.0)
        self.initialized.fill_(True)

    def nearest(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code for every row of ``x`` (N, C) -> (N,) int64."""
        codebook = self.codebook.to(x.dtype)
        # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2 ; the ||x||^2 term does not change the argmin.
        dist = codebook.pow(2).sum(-1)[None, :] - 2.0 * x @ codebook.t()
        return dist.argmin(dim=-1)

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Code vectors of ``indices`` (...,) -> (..., C)."""
        return F.embedding(indices, self.codebook)

    @staticmethod
    def _perplexity(counts: torch.Tensor) -> torch.Tensor:
        prob = counts / counts.sum().clamp_min(1e-10)
        return torch.exp(-(prob * torch.log(prob + 1e-7)).sum())

    @torch.no_grad()
    def _ema_update(self, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        onehot = F.one_hot(indices, self.codebook_size).to(x.dtype)  # (N, K)
        batch_sum = onehot.t() @ x  # (K, C)
        batch_count = onehot.sum(0)  # (K,)
        reset_rows = self._random_rows(x)
        self.code_sum.mul_(self.decay).add_(batch_sum, alpha=1.0 - self.decay)
        self.code_count.mul_(self.decay).add_(batch_count, alpha=1.0 - self.decay)
        alive = (self.code_count >= 1.0).to(x.dtype)[:, None]
        updated = self.code_sum / self.code_count.clamp_min(1e-10)[:, None]
        self.codebook.copy_(alive * updated + (1.0 - alive) * reset_rows)
        return self._perplexity(batch_count)

    # -- API -----------------------------------------------------------------------------------------
    def quantize(self, z: torch.Tensor) -> torch.Tensor:
        """Codes of encoder outputs ``z`` (B, C, N) -> (B, N) int64."""
        b, c, n = z.shape
        flat = z.permute(0, 2, 1).reshape(b * n, c)  # (B*N, C)
        return self.nearest(flat).view(b, n)

    def dequantize(self, codes: torch.Tensor) -> torch.Tensor:
        """Code vectors of ``codes`` (B, N) -> (B, C, N)."""
        return self.lookup(codes).permute(0, 2, 1).contiguous()

    def forward(
        self, z: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quantise ``z`` (B, C, N).

        ``mask`` (B, N) bool marks real (not padded) positions: only those update the codebook and
        enter the losses/perplexity. Returns ``(z_q straight-through (B, C, N), commit_loss,
        perplexity, codes (B, N))``.
        """
        b, c, n = z.shape
        flat = z.permute(0, 2, 1).reshape(b * n, c)  # (B*N, C)
        real = flat if mask is None else flat[mask.reshape(-1)]
        if self.training and not bool(self.initialized):
            self._init_codebook(real.detach().float())
        indices = self.nearest(flat)
        quantized = self.lookup(indices)  # (B*N, C)
        real_idx = indices if mask is None else indices[mask.reshape(-1)]
        if self.training:
            perplexity = self._ema_update(real.detach().float(), real_idx)
        else:
            perplexity = self._perplexity(torch.bincount(real_idx, minlength=self.codebook_size).to(flat.dtype))
        real_q = quantized if mask is None else quantized[mask.reshape(-1)]
        commit_loss = F.mse_loss(real, real_q.detach())
        # Straight-through: the decoder sees the code, the encoder receives the decoder's gradient.
        out = flat + (quantized - flat).detach()
        out = out.view(b, n, c).permute(0, 2, 1).contiguous()  # (B, C, N)
        return out, commit_loss, perplexity, indices.view(b, n)
