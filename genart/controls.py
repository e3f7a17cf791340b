"""Controls over an image run's latent space: directions found without labels, edits along them, and seed mixing.

Directions
    Runs with a latent space (in the manner of GANSpace, Härkönen et al. 2020): draw `samples` latents from a fixed
    seed, take the generator's first-layer activations (`sampler.first_layer(z, y)`; the GAN's DCGAN: the output of
    `G.fc`; its MLP: the first hidden layer), find their
    principal components, and regress the latents on the activations' PCA coordinates by least squares: row k of
    the solution is the z-space direction that moves the activations along component k.
    Runs that encode images (the VAE): the principal components of the latent codes (posterior means) of up to
    `samples` training images;
    when the training data cannot be loaded any more, the decoder's first layer is used as for a GAN (the prior is
    isotropic, so its own components would mean nothing).
    Directions are unit vectors, ordered by explained variance, and cached in RUN/studio/directions.safetensors
    (recomputed when the checkpoint changes). Each carries `std`: the spread of the codes along it, so an edit of
    +1 moves a typical code by one standard deviation along that direction.

Edits: `K:AMOUNT` adds AMOUNT x std[K] x direction[K] to z (after truncation).

Mixing (latent crossover of seeds A and B): the first `round(ratio * z_dim)` entries of z come from seed A and the
rest from seed B (ratio 0.5 by default); the class (conditional runs) comes from A.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genart.core.errors import ConfigError, GenartError
from genart.core.registry import ENCODE, LATENT

DIRECTIONS = "directions.safetensors"
MAX_DIRECTIONS = 16
MAX_EDIT = 20.0
SAMPLES = 2000
DIRECTION_SEED = 20240607


@dataclass
class Directions:
    vectors: torch.Tensor  # (K, z_dim), unit rows
    std: torch.Tensor  # (K,)
    explained: torch.Tensor  # (K,): fraction of the variance each component explains
    method: str

    def __len__(self) -> int:
        return int(self.vectors.shape[0])


def studio_dir(model: Any) -> Path:
    """The only folder the controls and the studio write into: RUN/studio/."""
    return model.run.path / "studio"


def _pca(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Principal axes (k, D), coordinates (N, k) and explained-variance fractions (k,) of rows of x."""
    x = x.double()
    xc = x - x.mean(0)
    _, s, vh = torch.linalg.svd(xc, full_matrices=False)
    k = min(k, vh.shape[0])
    var = s**2
    return vh[:k], xc @ vh[:k].T, var[:k] / var.sum().clamp_min(1e-12)


def _sign_fix(v: torch.Tensor) -> torch.Tensor:
    """PCA signs are arbitrary: make each row's largest entry positive, so directions are reproducible."""
    idx = v.abs().argmax(1)
    return v * torch.sign(v[torch.arange(v.shape[0]), idx]).unsqueeze(1)


@torch.inference_mode()
def _activation_directions(model: Any, k: int, samples: int) -> Directions:
    g = torch.Generator().manual_seed(DIRECTION_SEED)
    z = torch.randn(samples, model.sampler.z_dim, generator=g)
    ncls = len(model.classes)
    y = torch.randint(ncls, (samples,), generator=g) if ncls else torch.zeros(samples, dtype=torch.long)
    act = model.sampler.first_layer
    dev = model.sampler.device
    feats = torch.cat([act(z[i:i + 500].to(dev), y[i:i + 500].to(dev)).float().cpu() for i in range(0, samples, 500)])
    _, coords, explained = _pca(feats, k)
    # least squares z ~ coords @ U: row k of U is how z moves per unit of component k
    u = torch.linalg.lstsq(coords, (z - z.mean(0)).double()).solution
    vectors = _sign_fix(u / u.norm(dim=1, keepdim=True).clamp_min(1e-12))
    std = (z.double() @ vectors.T).std(0)
    return Directions(vectors.float(), std.float(), explained.float(), "ganspace: PCA of first-layer activations, "
                      "regressed to z")


@torch.inference_mode()
def _code_directions(model: Any, k: int, samples: int) -> Directions:
    try:
        run = model.run
        data = model.spec.load_data(run.config, run.resolved)
        images = data.images[:samples]
    except (GenartError, OSError):  # the training data moved: fall back to the decoder's first layer
        d = _activation_directions(model, k, samples)
        d.method = "ganspace on the decoder's first layer (training data unavailable)"
        return d
    codes = model.sampler.encode(images).double()
    axes, coords, explained = _pca(codes, k)
    vectors = _sign_fix(axes)
    return Directions(vectors.float(), coords.std(0).float(), explained.float(),
                      f"PCA of the latent codes of {codes.shape[0]} training images")


def compute_directions(model: Any, k: int = 8, samples: int = SAMPLES) -> Directions:
    model.require(LATENT, "directions are for runs with a latent space")
    k = max(1, min(k, MAX_DIRECTIONS, model.sampler.z_dim))
    if model.can(ENCODE):
        return _code_directions(model, k, samples)
    return _activation_directions(model, k, samples)


def directions(model: Any, k: int = 8) -> Directions:
    """The run's first k directions, from RUN/studio/directions.safetensors or computed (deterministically) and cached."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import save_file

    from genart.core.files import atomic_path

    path = studio_dir(model) / DIRECTIONS
    k = max(1, min(k, MAX_DIRECTIONS, model.sampler.z_dim))
    if path.exists():
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                if meta.get("checkpoint_sha256") == model.checkpoint_hash and f.get_tensor("vectors").shape[0] >= k:
                    return Directions(f.get_tensor("vectors")[:k], f.get_tensor("std")[:k], f.get_tensor("explained")[:k],
                                      meta.get("method", ""))
        except (SafetensorError, OSError, KeyError):
            pass  # a broken cache is recomputed
    d = compute_directions(model, max(k, 8))
    with atomic_path(path) as tmp:
        save_file({"vectors": d.vectors.contiguous(), "std": d.std.contiguous(), "explained": d.explained.contiguous()},
                  str(tmp), metadata={"checkpoint_sha256": model.checkpoint_hash, "method": d.method,
                                      "seed": str(DIRECTION_SEED)})
    return Directions(d.vectors[:k], d.std[:k], d.explained[:k], d.method)


# --- edits and mixing --------------------------------------------------------------------------------

def parse_edit(text: str) -> tuple[int, float]:
    """'2:-1.5' -> (2, -1.5)."""
    m = re.fullmatch(r"\s*(\d+)\s*:\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*", text)
    if not m:
        raise ConfigError(f"--edit {text!r} is not K:AMOUNT", "write e.g. --edit 0:+2.5 (direction 0, 2.5 standard deviations)")
    k, amount = int(m.group(1)), float(m.group(2))
    if k >= MAX_DIRECTIONS:
        raise ConfigError(f"--edit direction {k} is out of range", f"directions are numbered 0 to {MAX_DIRECTIONS - 1}")
    if abs(amount) > MAX_EDIT:
        raise ConfigError(f"--edit amount {amount} is out of range", f"use -{MAX_EDIT:g} to {MAX_EDIT:g}")
    return k, amount


def apply_edits(model: Any, z: torch.Tensor, edits: list[tuple[int, float]] | dict[int, float] | None) -> torch.Tensor:
    """z (N, z_dim) moved by AMOUNT x std x unit direction for each (K, AMOUNT)."""
    items = list(edits.items()) if isinstance(edits, dict) else list(edits or [])
    items = [(k, a) for k, a in items if a != 0]
    if not items:
        return z
    top = max(k for k, _ in items)
    d = directions(model, max(8, top + 1))
    if top >= len(d):
        raise ConfigError(f"direction {top} does not exist", f"this run has directions 0 to {len(d) - 1}")
    z = z.clone()
    for k, amount in items:
        z += amount * d.std[k] * d.vectors[k]
    return z


def crossover(za: torch.Tensor, zb: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """The first round(ratio * dim) entries from za, the rest from zb (the rule documented above)."""
    if not 0 <= ratio <= 1:
        raise ConfigError(f"mix ratio {ratio} is out of range", "use 0 to 1")
    cut = round(ratio * za.shape[-1])
    return torch.cat([za[..., :cut], zb[..., cut:]], -1)


def control_latents(model: Any, seeds: list[int], truncation: float | None = None, cls_: str | int | None = None,
                    temperature: float | None = None, edits: list[tuple[int, float]] | dict[int, float] | None = None,
                    mix: int | None = None, mix_ratio: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Latents and labels for seeds with every control applied: truncation, class, mixing with seed `mix`, edits."""
    z, y = model.latents(seeds, truncation, cls_, temperature)
    if mix is not None:
        if mix < 0:
            raise ConfigError(f"--mix {mix} is not a seed", "give a seed (0 or more)")
        zb, _ = model.latents([mix], truncation, None, temperature)
        z = crossover(z, zb.expand_as(z), mix_ratio)
    return apply_edits(model, z, edits), y


def direction_strip(model: Any, seed: int = 0, k: int = 8, steps: int = 7, span: float = 3.0,
                    truncation: float | None = None, cls_: str | int | None = None) -> tuple[torch.Tensor, Directions]:
    """Images (k * steps, C, H, W): row r walks seed's latent along direction r from -span to +span std."""
    if not 2 <= steps <= 32:
        raise ConfigError(f"--steps {steps} is out of range", "use 2 to 32 images per direction")
    if not 0 < span <= MAX_EDIT:
        raise ConfigError(f"--span {span} is out of range", f"use a value in (0, {MAX_EDIT:g}]")
    if not 1 <= k <= MAX_DIRECTIONS:
        raise ConfigError(f"--k {k} is out of range", f"use 1 to {MAX_DIRECTIONS} directions")
    d = directions(model, k)
    z, y = model.latents([seed], truncation, cls_)
    amounts = torch.linspace(-span, span, steps)
    rows = [z + (amounts[:, None] * d.std[r] * d.vectors[r]) for r in range(len(d))]
    zz = torch.cat(rows)
    return model.sampler.render(zz, y.repeat(zz.shape[0])), d
