"""Runs with a denoiser (DENOISE): their sampling settings, image-to-image and inpainting.

`denoiser_settings` applies --sample-steps/--sampler/--guidance for the duration of a render (and restores the run's
own afterwards, so a model shared by the studio's requests keeps no one's settings); `image_to_image` redraws an image
from a seed's noise at a strength; `inpaint` regenerates the masked pixels of an image and keeps the others exactly.
Images and masks come as files or their bytes (an upload), decoded bounded and fitted to the run as its training
images were; `inpaint_files` is `genart inpaint`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genart.api import Model
from genart.core.errors import ConfigError, DataError
from genart.core.registry import DENOISE
from genart.core.seeds import MAX_N, seed_text
from genart.data.user_images import read_image, read_mask
from genart.io.images import to_signed

Source = Path | bytes  # a file, or its bytes (an upload)


def require_denoiser(model: Model, what: str) -> None:
    """A one-line error when the run has no iterative denoiser: `what` names the option or command."""
    model.require(DENOISE, f"{what} needs a run with a denoiser")


def check_settings(model: Model, steps: int | None = None, method: str | None = None,
                   guidance: float | None = None) -> None:
    """Refuse denoiser settings given to a run without a denoiser, and guidance to one without classes."""
    for flag, value in (("--sample-steps", steps), ("--sampler", method), ("--guidance", guidance)):
        if value is not None:
            require_denoiser(model, flag)
    if guidance is not None and not model.classes:
        raise ConfigError(f"--guidance {guidance:g} needs a class-conditional run; {model.run.name} has no classes",
                          "leave --guidance out, or train with labelled data (--labels folders, builtin:digits)")


@contextmanager
def denoiser_settings(model: Model, steps: int | None = None, method: str | None = None,
                      guidance: float | None = None) -> Iterator[dict[str, Any]]:
    """Sampling settings in force inside the block; yields them as provenance records them (`sampler.settings()`;
    {} for a run without a denoiser). Out-of-range values are one-line errors; the run's own come back afterwards."""
    check_settings(model, steps, method, guidance)
    if not model.can(DENOISE):
        yield {}
        return
    sampler = model.sampler
    before = sampler.settings()
    try:
        sampler.configure(steps=steps, method=method, guidance=guidance)
        yield sampler.settings()
    finally:
        sampler.configure(steps=before["sample_steps"], method=before["sampler"], guidance=before.get("guidance"))


def check_strength(strength: float) -> float:
    if not 0 < strength <= 1:
        raise ConfigError(f"--strength {strength:g} is out of range",
                          "use a value in (0, 1]: 0.3 stays close to the image, 1 redraws it from noise")
    return float(strength)


def _fit(model: Model) -> str:
    return str(getattr(model.run.config, "fit", "crop"))


def load_image(model: Model, source: Source, name: str | None = None, max_pixels: int | None = None) -> torch.Tensor:
    """An image file (or bytes) fitted to the run's size and channels: (1, C, H, W) float in [-1, 1]."""
    c, h, _ = model.sampler.shape
    arr = read_image(source, h, _fit(model), c, name=name, max_pixels=max_pixels)
    return to_signed(torch.from_numpy(np.ascontiguousarray(arr)))[None]


def load_mask(model: Model, source: Source, name: str | None = None, max_pixels: int | None = None) -> torch.Tensor:
    """A mask file (or bytes), white = regenerate, fitted as images are: (1, 1, H, W) float of 0 and 1. A mask that
    marks nothing is a one-line error."""
    _, h, _ = model.sampler.shape
    what = f"the mask {name}" if name else "the mask"
    m = torch.from_numpy(read_mask(source, h, _fit(model), name=what, max_pixels=max_pixels))[None, None]
    if not m.any():
        raise DataError(f"{what} marks nothing to regenerate (it is all black at the run's size)",
                        "paint the area to regenerate white, the rest black")
    return m


def sha256(source: Source) -> str:
    h = hashlib.sha256()
    if isinstance(source, (bytes, bytearray)):
        h.update(source)
    else:
        with open(source, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _check_seeds(seeds: list[int]) -> None:
    if not 1 <= len(seeds) <= MAX_N:
        raise ConfigError(f"--n {len(seeds)} is out of range", f"ask for 1 to {MAX_N} images")


def image_to_image(model: Model, init: torch.Tensor, seeds: list[int], strength: float,
                   z: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                   truncation: float | None = None, cls_: str | int | None = None) -> torch.Tensor:
    """`init` (1 or N, C, H, W) in [-1, 1] redrawn from each seed's noise: noised to t = strength, then denoised.
    (z, labels) default to the seeds' latents. Returns (N, C, H, W) in [-1, 1]."""
    require_denoiser(model, "--init-image")
    check_strength(strength)
    _check_seeds(seeds)
    if z is None or labels is None:
        z, labels = model.latents(seeds, truncation, cls_)
    images = init.expand(len(seeds), *init.shape[1:]) if init.shape[0] == 1 else init
    return model.sampler.repaint(images, z, labels, strength=strength)


def inpaint(model: Model, image: torch.Tensor, mask: torch.Tensor, seeds: list[int],
            cls_: str | int | None = None, truncation: float | None = None) -> torch.Tensor:
    """One variant per seed of `image` (1, C, H, W) with the pixels where `mask` (1, 1, H, W) is 1 regenerated; the
    others are kept exactly. Returns (N, C, H, W) in [-1, 1]."""
    require_denoiser(model, "inpainting")
    _check_seeds(seeds)
    z, labels = model.latents(seeds, truncation, cls_)
    images = image.expand(len(seeds), *image.shape[1:])
    return model.sampler.repaint(images, z, labels, strength=1.0, mask=mask)


def inpaint_files(model: Model, image: Path, mask: Path, out: Path, seed: int = 0, n: int = 1,
                  steps: int | None = None, method: str | None = None, guidance: float | None = None,
                  cls_: str | None = None, nrow: int = 0) -> str:
    """`genart inpaint`: OUT is the image (at the run's size) with the mask's white area regenerated; with n > 1 a
    grid of n variants (seeds seed .. seed+n-1). Provenance names the files and their sha256."""
    from genart.io.images import save_grid, save_png, to_pil

    require_denoiser(model, "genart inpaint")
    if out.suffix.lower() != ".png":
        raise ConfigError(f"--out {out} should be a .png file", "name it e.g. inpainted.png")
    if not 1 <= n <= MAX_N:
        raise ConfigError(f"--n {n} is out of range", f"ask for 1 to {MAX_N} variants")
    seeds = list(range(seed, seed + n))
    x = load_image(model, image)
    m = load_mask(model, mask, name=str(mask))
    with denoiser_settings(model, steps, method, guidance) as settings:
        result = inpaint(model, x, m, seeds, cls_)
    prov = model.provenance(image=image.name, image_sha256=sha256(image), mask=mask.name, mask_sha256=sha256(mask),
                            mask_fraction=round(float(m.mean()), 4), seeds=seed_text(seeds), **settings,
                            **{"class": cls_})
    if n == 1:
        save_png(to_pil(result)[0], out, prov)
        return f"wrote {out} ({m.shape[-1]}x{m.shape[-2]}, {100 * float(m.mean()):.0f}% regenerated, seed {seed})"
    save_grid(result, out, prov, nrow=nrow or None)
    return f"wrote {out} ({n} variants, seeds {seed_text(seeds)}, {100 * float(m.mean()):.0f}% regenerated)"
