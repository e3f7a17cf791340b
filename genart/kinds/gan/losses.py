"""The GAN's losses on discriminator logits: non-saturating BCE, hinge, and R3GAN's (Huang et al. 2024).

`r3gan` is the relativistic pairing loss (RpGAN: D is trained to score each real image above a generated one, G
the other way round) regularised by zero-centred gradient penalties on real (R1) and generated (R2) images:

    L_D = E softplus(-(D(x) - D(G(z)))) + gamma/2 E ||grad_x D(x)||^2 + gamma/2 E ||grad_x D(G(z))||^2
    L_G = E softplus(-(D(G(z)) - D(x)))

The gradients are taken with respect to D's input before DiffAugment (as StyleGAN2-ADA does); their squared norms
are summed over pixels and channels and averaged over the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Discriminator loss on logits: non-saturating BCE, hinge, or the relativistic pairing loss (r3gan)."""
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    if kind == "r3gan":
        return F.softplus(-(real - fake)).mean()
    return F.softplus(-real).mean() + F.softplus(fake).mean()  # BCE with logits, targets 1 and 0


def g_loss(kind: str, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
    """Generator loss on D's logits of generated images (and, for r3gan, of real ones paired with them)."""
    if kind == "hinge":
        return -fake.mean()
    if kind == "r3gan":
        assert real is not None, "the relativistic loss pairs generated images with real ones"
        return F.softplus(-(fake - real)).mean()
    return F.softplus(-fake).mean()  # non-saturating: -log D(G(z))


def gradient_penalties(logits: list[torch.Tensor], inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """E ||d logit / d input||^2 for each (logits, inputs) pair (R1 on real images, R2 on generated ones), kept in
    the graph (create_graph) so the penalties train D. Each logit depends only on its own input row (no BatchNorm in
    D). Under fp16 the input gradients are taken unscaled (scaling them by the GradScaler's 2**16 overflows fp16 at
    once; they are not small enough to underflow); the penalised loss is then scaled for backward as any other."""
    grads = torch.autograd.grad(sum(out.float().sum() for out in logits), inputs, create_graph=True)
    return [g.float().square().flatten(1).sum(1).mean() for g in grads]
