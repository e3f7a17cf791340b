"""Image endpoints (kinds with IMAGES): one image, a grid, and a walk between two latents (LATENT too).

Controls beyond seed, truncation and class (direction edits, mixing) move through the latent space, so they need
LATENT as well. Runs with a denoiser (DENOISE) also take its sampling settings (steps, sampler, guidance)."""

from __future__ import annotations

from typing import Any

import torch
from fastapi import APIRouter
from fastapi.responses import Response

from genart.studio.denoise import Denoise
from genart.studio.errors import StudioError
from genart.studio.limits import LATENT_REF, MAX_SEED, Cls, Count, Edits, Fps, Frames, Mix, Ref, Seed, Size, Trunc
from genart.studio.responses import gif_response, png_response
from genart.studio.runs import LATENT_IMAGES, MAKES_IMAGES, Need, RunsDep

router = APIRouter()


def image_needs(edits: str, mix: int | None) -> tuple[Need, ...]:
    return (MAKES_IMAGES, LATENT_IMAGES) if edits or mix is not None else (MAKES_IMAGES,)


def controls(model: Any, seeds: list[int], truncation: float | None, cls: str | None, edits: str,
             mix: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Latents and labels for seeds under the page's controls (see genart.controls)."""
    from genart.controls import control_latents, parse_edit

    parsed = [parse_edit(e) for e in edits.split(",") if e.strip()] if edits else []
    return control_latents(model, seeds, truncation, cls or None, None, parsed, mix)


def latent_of(model: Any, ref: str, truncation: float | None, cls: str | None, edits: str,
              mix: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The latent of an image reference: a seed (under the controls), or s:SESSION:INDEX (an evolved member)."""
    from genart.evolve import Session

    m = LATENT_REF.fullmatch(ref)
    if not m:
        raise StudioError(422, f"{ref!r} is not an image reference", "give a seed (12) or s:SESSION:INDEX")
    if m.group(1) is not None:
        seed = int(m.group(1))
        if seed > MAX_SEED:
            raise StudioError(422, f"seed {seed} is out of range", f"use 0 to {MAX_SEED}")
        return controls(model, [seed], truncation, cls, edits, mix)
    session = Session.load(model.run.path, m.group(2))
    i = int(m.group(3))
    if i >= len(session.population):
        raise StudioError(422, f"image {i} is not in session {m.group(2)!r}", f"use 0 to {len(session.population) - 1}")
    z, y = session.latents()
    return z[i:i + 1], y[i:i + 1]


@router.get("/api/runs/{name}/image.png")
def image(name: str, runs: RunsDep, dn: Denoise, seed: Seed = 0, truncation: Trunc = None, cls: Cls = None,
          edits: Edits = "", mix: Mix = None, size: Size = 128, download: bool = False) -> Response:
    from genart.io.images import to_pil, upscale

    model, lock = runs.model(name, *image_needs(edits, mix))
    z, y = controls(model, [seed], truncation, cls, edits, mix)
    with lock, dn.settings(model) as settings:
        x = model.sampler.render(z, y)
    prov = model.provenance(seed=seed, truncation=truncation, **{"class": cls}, edits=edits or None, mix=mix,
                            **settings)
    return png_response(upscale(to_pil(x)[0], size), prov, f"{name}-seed{seed}.png", download)


@router.get("/api/runs/{name}/grid.png")
def grid_png(name: str, runs: RunsDep, dn: Denoise, seed: Seed = 0, n: Count = 16, truncation: Trunc = None,
             cls: Cls = None, edits: Edits = "", mix: Mix = None, download: bool = True) -> Response:
    from genart.io.images import grid, upscale

    model, lock = runs.model(name, *image_needs(edits, mix))
    z, y = controls(model, list(range(seed, seed + n)), truncation, cls, edits, mix)
    with lock, dn.settings(model) as settings:
        x = model.sampler.render(z, y)
    prov = model.provenance(seeds=f"{seed}-{seed + n - 1}", truncation=truncation, **{"class": cls},
                            edits=edits or None, mix=mix, **settings)
    return png_response(upscale(grid(x)), prov, f"{name}-grid-{seed}.png", download)


@router.get("/api/runs/{name}/walk.gif")
def walk_gif(name: str, runs: RunsDep, dn: Denoise, a: Ref, b: Ref, frames: Frames = 24, fps: Fps = 12,
             truncation: Trunc = None, cls: Cls = None, edits: Edits = "", mix: Mix = None, size: Size = 128,
             download: bool = False) -> Response:
    from genart.io.images import to_pil, upscale
    from genart.models.latent import walk

    model, lock = runs.model(name, MAKES_IMAGES, LATENT_IMAGES)
    za, ya = latent_of(model, a, truncation, cls, edits, mix)
    zb, yb = latent_of(model, b, truncation, cls, edits, mix)
    path = walk(torch.cat([za, zb]), frames, loop=True)
    labels = torch.where(torch.arange(frames) < frames // 2, ya[0], yb[0])
    with lock, dn.settings(model) as settings:
        x = model.sampler.render(path, labels)
    pics = [upscale(p.convert("RGB"), size) for p in to_pil(x)]
    prov = model.provenance(a=a, b=b, frames=frames, fps=fps, truncation=truncation, **{"class": cls},
                            edits=edits or None, mix=mix, **settings)
    return gif_response(pics, fps, prov, f"{name}-walk.gif", download)
