"""Exponential moving averages of a network's weights, the copy that samples (GANs, diffusion)."""

from __future__ import annotations

import torch
from torch import nn


def ema_decay(decay: float, step: int) -> float:
    """The decay at a step: warmed up as (1 + step) / (10 + step), so early averages follow the weights closely."""
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model for the parameters; buffers are copied."""
    ep, mp = list(ema.parameters()), list(model.parameters())
    torch._foreach_lerp_(ep, mp, 1.0 - decay)
    for eb, mb in zip(ema.buffers(), model.buffers(), strict=True):
        eb.copy_(mb)
