"""A compact UNet for denoising on a CPU: GroupNorm residual blocks, time (and class) embedding, attention at the
lowest resolution only.

Depth follows the image size (halve until 8 pixels or an odd size), width doubles per level up to 2x the base.
GroupNorm, never BatchNorm: batch statistics would leak across samples (and break private training). The block is
the one of Dhariwal & Nichol (2021), adaptive GroupNorm (scale and shift from the embedding), kept small:
one block per level on the way down, one on the way up, two around the attention in the middle.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genart.kinds.diffusion.config import levels

GROUPS = 8


def level_widths(size: int, width: int) -> list[int]:
    """Channels per level: the base width at full size, doubling per level, at most twice the base."""
    return [min(width * 2, width * 2**i) for i in range(len(levels(size)))]


def _norm(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(GROUPS, c), c)


class TimeEmbedding(nn.Module):
    """t in [0, 1] -> sinusoidal features -> MLP; plus a learned class embedding (the last row: "no class")."""

    def __init__(self, dim: int, num_classes: int) -> None:
        super().__init__()
        self.freqs = dim // 4
        self.mlp = nn.Sequential(nn.Linear(dim // 2, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.classes = nn.Embedding(num_classes + 1, dim) if num_classes else None

    def forward(self, t: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        k = torch.arange(self.freqs, device=t.device, dtype=torch.float32)
        f = torch.exp(-math.log(10000.0) * k / self.freqs)
        angles = (t.float() * 1000.0)[:, None] * f[None]
        emb = self.mlp(torch.cat([angles.sin(), angles.cos()], 1))
        if self.classes is not None and y is not None:
            emb = emb + self.classes(y)
        return emb


class ResBlock(nn.Module):
    """GroupNorm, SiLU, conv; adaptive GroupNorm from the embedding; SiLU, conv; plus the (projected) input."""

    def __init__(self, c_in: int, c_out: int, emb: int) -> None:
        super().__init__()
        self.norm1, self.conv1 = _norm(c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm2, self.conv2 = _norm(c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.emb = nn.Linear(emb, 2 * c_out)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(F.silu(emb))[:, :, None, None].chunk(2, 1)
        h = self.norm2(h) * (1 + scale) + shift
        return self.skip(x) + self.conv2(F.silu(h))


class Attention(nn.Module):
    """Multi-head self-attention over the pixels of a (small) feature map."""

    def __init__(self, c: int, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads if c % heads == 0 else 1
        self.norm = _norm(c)
        self.qkv = nn.Conv2d(c, 3 * c, 1)
        self.out = nn.Conv2d(c, c, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).transpose(-1, -2).unbind(1)
        a = F.scaled_dot_product_attention(q, k, v)  # (b, heads, hw, c/heads)
        return x + self.out(a.transpose(-1, -2).reshape(b, c, h, w))


class UNet(nn.Module):
    """(x_t, t, y) -> the network's prediction, same shape as x_t."""

    def __init__(self, channels: int, size: int, width: int = 32, num_classes: int = 0, patch: int = 1) -> None:
        super().__init__()
        self.patch = patch  # pixels per side folded into channels before the first level (pixel unshuffle)
        ws = level_widths(size // patch, width)
        emb = width * 4
        self.num_classes = num_classes
        self.embed = TimeEmbedding(emb, num_classes)
        self.stem = nn.Conv2d(channels * patch * patch, ws[0], 3, padding=1)
        self.down = nn.ModuleList(ResBlock(ws[i], ws[i], emb) for i in range(len(ws)))
        self.pool = nn.ModuleList(nn.Conv2d(ws[i], ws[i + 1], 3, stride=2, padding=1) for i in range(len(ws) - 1))
        c = ws[-1]
        self.mid1, self.attn, self.mid2 = ResBlock(c, c, emb), Attention(c), ResBlock(c, c, emb)
        self.unpool = nn.ModuleList(nn.Conv2d(ws[i + 1], ws[i], 3, padding=1) for i in range(len(ws) - 1))
        self.up = nn.ModuleList(ResBlock(2 * ws[i], ws[i], emb) for i in range(len(ws)))
        self.head = nn.Sequential(_norm(ws[0]), nn.SiLU(), nn.Conv2d(ws[0], channels * patch * patch, 3, padding=1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.embed(t, y)
        h = self.stem(F.pixel_unshuffle(x, self.patch) if self.patch > 1 else x)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, emb)
            skips.append(h)
            if i < len(self.pool):
                h = self.pool[i](h)
        h = self.mid2(self.attn(self.mid1(h, emb)), emb)
        for i in reversed(range(len(self.up))):
            if i < len(self.unpool):
                h = self.unpool[i](F.interpolate(h, scale_factor=2.0, mode="nearest"))
            h = self.up[i](torch.cat([h, skips[i]], 1), emb)
        out = self.head(h)
        return F.pixel_shuffle(out, self.patch) if self.patch > 1 else out
