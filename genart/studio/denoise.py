"""Endpoints of runs with a denoiser (IMAGES and DENOISE): an uploaded image fitted to the run, image-to-image and
inpainting, all through genart.inpaint. Images and masks arrive as PNG (or JPEG, WebP, ...) data URLs in a JSON body,
bounded in bytes (genart.studio.limits) and in pixels when decoded; nothing is written to disk.

`Denoise` is the sampling settings (steps, sampler, guidance) every image endpoint takes as query parameters."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from genart.studio.errors import StudioError
from genart.studio.limits import MAX_UPLOAD_BYTES, MAX_UPLOAD_PIXELS, FitBody, Guidance, InpaintBody, Method, RedrawBody, Steps
from genart.studio.responses import png_response
from genart.studio.runs import DENOISES, MAKES_IMAGES, RunsDep

router = APIRouter()


@dataclass(frozen=True)
class DenoiseQuery:
    """Sampling settings for a denoiser, as query parameters (none: the run's own)."""

    steps: int | None = None
    sampler: str | None = None
    guidance: float | None = None

    def settings(self, model: Any) -> Any:
        """A context in which the model samples with these settings; yields them for provenance ({} when none)."""
        from genart.inpaint import denoiser_settings

        return denoiser_settings(model, self.steps, self.sampler, self.guidance)


def _denoise_query(steps: Steps = None, sampler: Method = None, guidance: Guidance = None) -> DenoiseQuery:
    return DenoiseQuery(steps, sampler, guidance)


Denoise = Annotated[DenoiseQuery, Depends(_denoise_query)]


def data_url_bytes(url: str, what: str) -> bytes:
    """The bytes of a base64 data URL (its form already checked by the body's model), bounded."""
    try:
        data = base64.b64decode(url.partition(",")[2], validate=False)
    except (binascii.Error, ValueError):
        raise StudioError(422, f"the {what} is not valid base64", "send the image as a data: URL") from None
    if not data:
        raise StudioError(422, f"the {what} is empty", "send a PNG or JPEG image")
    if len(data) > MAX_UPLOAD_BYTES:
        raise StudioError(413, f"the {what} is larger than {MAX_UPLOAD_BYTES >> 20} MB", "send a smaller image")
    return data


def _image(model: Any, data: bytes) -> Any:
    from genart.inpaint import load_image

    return load_image(model, data, name="the image", max_pixels=MAX_UPLOAD_PIXELS)


def _png(model: Any, x: Any, prov: dict[str, Any], filename: str) -> Response:
    from genart.io.images import to_pil

    return png_response(to_pil(x)[0], model.provenance(**prov), filename, False)


@router.post("/api/runs/{name}/fit.png")
def fit_png(name: str, body: FitBody, runs: RunsDep) -> Response:
    """An uploaded image as the run sees it: fitted to its size and channels (the page paints masks over this)."""
    from genart.inpaint import sha256

    model, _ = runs.model(name, MAKES_IMAGES, DENOISES)
    data = data_url_bytes(body.image, "image")
    return _png(model, _image(model, data), {"fitted_from_sha256": sha256(data)}, f"{name}-fitted.png")


@router.post("/api/runs/{name}/redraw.png")
def redraw_png(name: str, body: RedrawBody, runs: RunsDep) -> Response:
    """Image-to-image: the image redrawn from the seed's noise at the strength (1: from pure noise)."""
    from genart.inpaint import image_to_image, sha256

    model, lock = runs.model(name, MAKES_IMAGES, DENOISES)
    data = data_url_bytes(body.image, "image")
    x = _image(model, data)
    z, y = model.latents([body.seed], None, body.cls or None)
    with lock, DenoiseQuery(body.steps, body.sampler, body.guidance).settings(model) as settings:
        out = image_to_image(model, x, [body.seed], body.strength, z, y)
    prov = {"init_image_sha256": sha256(data), "strength": body.strength, "seed": body.seed, **settings,
            "class": body.cls}
    return _png(model, out, prov, f"{name}-redraw-{body.seed}.png")


@router.post("/api/runs/{name}/inpaint.png")
def inpaint_png(name: str, body: InpaintBody, runs: RunsDep) -> Response:
    """The image with the mask's white area regenerated from the seed; every other pixel kept."""
    from genart.inpaint import inpaint, load_mask, sha256

    model, lock = runs.model(name, MAKES_IMAGES, DENOISES)
    image, mask = data_url_bytes(body.image, "image"), data_url_bytes(body.mask, "mask")
    x = _image(model, image)
    m = load_mask(model, mask, max_pixels=MAX_UPLOAD_PIXELS)
    with lock, DenoiseQuery(body.steps, body.sampler, body.guidance).settings(model) as settings:
        out = inpaint(model, x, m, [body.seed], body.cls or None)
    prov = {"image_sha256": sha256(image), "mask_sha256": sha256(mask), "mask_fraction": round(float(m.mean()), 4),
            "seed": body.seed, **settings, "class": body.cls}
    return _png(model, out, prov, f"{name}-inpaint-{body.seed}.png")
