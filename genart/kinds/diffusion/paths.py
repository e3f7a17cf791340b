"""Noising paths x_t = alpha(t) x0 + sigma(t) eps, t in [0, 1], and what the network predicts on them.

flow (the default): rectified flow (Liu et al. 2022; Lipman et al. 2022), alpha = 1 - t, sigma = t, the network
    predicts the velocity eps - x0, training times drawn logit-normal (Esser et al. 2024: more weight mid-path).
vpred: the cosine variance-preserving path (Nichol & Dhariwal 2021), alpha = cos(pi t / 2), sigma = sin(pi t / 2),
    the network predicts v = alpha eps - sigma x0 (Salimans & Ho 2022), times uniform.

Both are turned into predictions of (x0, eps) for the samplers, which work on any such path.
"""

from __future__ import annotations

import math

import torch

from genart.kinds.diffusion.config import OBJECTIVES

__all__ = ["OBJECTIVES", "Path"]


class Path:
    """One path: its coefficients, its training times and targets, and the (x0, eps) a prediction stands for."""

    def __init__(self, objective: str) -> None:
        self.objective = objective

    def alpha_sigma(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.objective == "flow":
            return 1.0 - t, t
        return torch.cos(t * math.pi / 2), torch.sin(t * math.pi / 2)

    def sample_t(self, n: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
        if self.objective == "flow":  # logit-normal(0, 1)
            return torch.sigmoid(torch.randn(n, generator=generator)).to(device)
        return torch.rand(n, generator=generator).to(device).clamp(1e-4, 1 - 1e-4)

    def noised(self, x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x_t and the training target for images x0, noise eps and times t (N,)."""
        a, s = (c.view(-1, 1, 1, 1) for c in self.alpha_sigma(t))
        xt = a * x0 + s * eps
        target = eps - x0 if self.objective == "flow" else a * eps - s * x0
        return xt, target

    def split(self, xt: torch.Tensor, out: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The network's output at (x_t, t) as predictions of (x0, eps)."""
        a, s = (c.view(-1, 1, 1, 1) for c in self.alpha_sigma(t))
        if self.objective == "flow":  # out = eps - x0, xt = (1 - t) x0 + t eps
            return xt - s * out, xt + a * out
        return a * xt - s * out, s * xt + a * out  # alpha^2 + sigma^2 = 1
