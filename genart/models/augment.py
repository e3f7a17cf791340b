"""Differentiable augmentation (DiffAugment, Zhao et al. 2020): colour, translation and cutout,
applied to real and fake images alike before the discriminator, so it cannot memorise small data."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def diff_augment(x: torch.Tensor, translation: float = 0.125, cutout: float = 0.5) -> torch.Tensor:
    """x in [-1, 1], (N, C, H, W). Every op is differentiable in x."""
    n, c, h, w = x.shape
    dev = x.device
    # colour: brightness, saturation (colour images only), contrast
    x = x + (torch.rand(n, 1, 1, 1, device=dev, dtype=x.dtype) - 0.5)
    if c >= 3:
        rgb = x[:, :3]
        mean = rgb.mean(dim=1, keepdim=True)
        rgb = (rgb - mean) * (torch.rand(n, 1, 1, 1, device=dev, dtype=x.dtype) * 2) + mean
        x = torch.cat([rgb, x[:, 3:]], dim=1) if c > 3 else rgb
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1, device=dev, dtype=x.dtype) + 0.5) + mean
    # translation by up to `translation` of the size, zero padded
    sh, sw = int(h * translation + 0.5), int(w * translation + 0.5)
    if sh or sw:
        ty = torch.randint(-sh, sh + 1, (n, 1, 1), device=dev)
        tx = torch.randint(-sw, sw + 1, (n, 1, 1), device=dev)
        gy, gx = torch.meshgrid(torch.arange(h, device=dev), torch.arange(w, device=dev), indexing="ij")
        gy = torch.clamp(gy.unsqueeze(0) + ty + 1, 0, h + 1)
        gx = torch.clamp(gx.unsqueeze(0) + tx + 1, 0, w + 1)
        padded = F.pad(x, [1, 1, 1, 1])
        idx = (gy * (w + 2) + gx).view(n, 1, h * w).expand(n, c, h * w)
        x = padded.flatten(2).gather(2, idx).view(n, c, h, w)
    # cutout: one square of `cutout` of the size, at a random place
    ch, cw = int(h * cutout + 0.5), int(w * cutout + 0.5)
    if ch and cw:
        oy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=dev)
        ox = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=dev)
        gy, gx = torch.meshgrid(torch.arange(h, device=dev), torch.arange(w, device=dev), indexing="ij")
        inside = (gy.unsqueeze(0) >= oy - ch // 2) & (gy.unsqueeze(0) < oy - ch // 2 + ch) & \
                 (gx.unsqueeze(0) >= ox - cw // 2) & (gx.unsqueeze(0) < ox - cw // 2 + cw)
        x = x * (~inside).unsqueeze(1).to(x.dtype)
    return x
