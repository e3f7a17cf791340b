"""`genart evaluate` for VAE runs: every image figure, then the held-out negative ELBO and bits per dimension."""

from __future__ import annotations

import math
from typing import Any

import torch

from genart.kinds.vae.model import elbo_terms, split_indices
from genart.metrics import EvalContext, Figure, KindReport
from genart.metrics.distances import noise_images
from genart.metrics.images import load_training_images, measure_images


def evaluate_vae(ctx: EvalContext) -> KindReport:
    """The image figures, then the held-out negative ELBO and bits per dimension."""
    cfg = ctx.run.config
    data = ctx.training_data()
    train_idx, val_idx = split_indices(len(data), cfg.val_split, cfg.seed)
    data, train, facts = load_training_images(ctx, train_idx)
    report = measure_images(ctx, train, facts)

    held_out = data.images[val_idx]
    if held_out.shape[0] == 0:
        report.details["elbo"] = "no held-out images (--val-split 0)"
        return report
    m = held_out.shape[0]
    sampler = ctx.model.sampler
    noise = noise_images(m, held_out, ctx.seed + 2)
    sample_train = train[torch.randperm(train.shape[0], generator=torch.Generator().manual_seed(ctx.seed + 3))[:m]]
    nelbo = {k: negative_elbo(sampler, v, cfg.seed) for k, v in (("model", held_out), ("floor", sample_train),
                                                                     ("ceiling", noise))}
    dims = math.prod(held_out.shape[1:]) * math.log(2)
    report.figures += [
        Figure("nelbo", "negative ELBO (nats per image)", nelbo["model"], nelbo["floor"], nelbo["ceiling"], "lower",
               f"model: {m} held-out images; floor: {m} training images; ceiling: {m} noise images"),
        Figure("bpd", "bits per dimension", nelbo["model"] / dims, nelbo["floor"] / dims, nelbo["ceiling"] / dims, "lower",
               "the negative ELBO / (pixels x channels x ln 2)"),
    ]
    report.details["elbo"] = {"held_out_images": m, "likelihood": sampler.recon,
                              "note": "one z per image from fixed noise (deterministic); beta 1, no free bits"}
    return report


def negative_elbo(sampler: Any, images: torch.Tensor, seed: int, batch: int = 256) -> float:
    """Mean negative ELBO in nats per image of uint8 images under a VAE sampler, as its training evaluates it."""
    def posterior(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = sampler.enc(x)
        return mu.float(), logvar.float().clamp(-30.0, 20.0)

    rec, kl, _ = elbo_terms(posterior, lambda z: sampler.dec(z).float(), sampler.recon, sampler.dec.log_scale, images,
                            seed, sampler.device, batch)
    return (rec + kl) / images.shape[0]
