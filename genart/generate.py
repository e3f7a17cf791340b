"""`genart generate` for every kind: one options record; the kind's own `generate` part writes the outputs, or, for
a kind that declares none, what its capabilities give (image grids for IMAGES)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genart.api import Model, require_image_kind
from genart.core.errors import ConfigError, GenartError
from genart.core.registry import DENOISE, IMAGES, resolve_ref
from genart.core.seeds import seed_list, seed_text

DEFAULT_STRENGTH = 0.6  # --init-image without --strength


@dataclass
class GenerateOptions:
    """Everything `genart generate` accepts; each kind reads the fields that concern it."""

    out: Path | None = None
    n: int | None = None
    seed: int = 0
    seeds: str | None = None
    # images
    truncation: float | None = None
    class_: str | None = None
    individual: Path | None = None
    nrow: int = 0
    edit: list[str] | None = None  # K:AMOUNT moves along latent direction K (genart.controls)
    mix: int | None = None  # cross each latent with this seed's
    # denoisers (DENOISE): sampling settings, image-to-image
    sample_steps: int | None = None
    sampler: str | None = None
    guidance: float | None = None
    init_image: Path | None = None
    strength: float | None = None
    # sequences (text, music)
    temperature: str | None = None
    prime: str | None = None
    length: int | None = None
    top_k: int | None = None
    top_p: float | None = None
    stream: bool = False
    # music
    bars: int | None = None
    primer: Path | None = None
    primer_notes: str | None = None
    wav: bool = False
    musicxml: bool = False
    soundfont: Path | None = None
    roll: Path | None = None  # a piano-roll picture (PNG) of the pieces (genart.io.pianoroll)
    # sequences: regenerate a span so it leads into what follows (fill-in-the-middle): music "5-8" (bars of
    # --primer), text: "{}" or the marker the user chose inside --prime
    infill: str | None = None
    # every kind: reject outputs that copy the training data (genart.metrics.copyguard); None: the kind's default
    no_copies: bool | None = None

    def seed_list(self, default_n: int, what: str) -> list[int]:
        """--seeds, else --n seeds from --seed (default_n when --n is absent); none at all is an error."""
        return seed_list(self.n, self.seed, self.seeds, default_n, what)


def generate_images(model: Model, o: GenerateOptions) -> str:
    """A grid PNG (and one PNG per image with --individual), provenance in each. Runs with a denoiser take sampling
    settings, and redraw --init-image at --strength."""
    from genart.inpaint import check_settings, denoiser_settings
    from genart.io.images import save_grid, save_png, to_pil

    require_image_kind(model)
    if o.out is None or o.out.suffix.lower() != ".png":
        raise GenartError(f"--out {o.out} should be a .png file" if o.out else "--out is required for images",
                          "name it e.g. grid.png")
    check_settings(model, o.sample_steps, o.sampler, o.guidance)
    init, extra = _init_image(model, o)
    seed_list = o.seed_list(64, "images")
    temperature = float(o.temperature) if o.temperature else None
    kwargs = {"temperature": temperature} if temperature is not None else {}
    controls: dict = {}
    if o.edit:
        from genart.controls import parse_edit

        controls["edits"] = [parse_edit(e) for e in o.edit]
    if o.mix is not None:
        controls["mix"] = o.mix
    with denoiser_settings(model, o.sample_steps, o.sampler, o.guidance) as settings:

        def make(seeds: list[int]) -> Any:
            if init is None:
                return model.generate_tensor(seeds=seeds, truncation=o.truncation, cls_=o.class_, **kwargs, **controls)
            return _redraw(model, init, extra["strength"], seeds, o, temperature, controls)

        images, seed_list, guarded = _guarded_images(model, o, seed_list, make)
    if o.edit:
        kwargs["edits"] = ",".join(o.edit)
    if o.mix is not None:
        kwargs["mix"] = o.mix
    prov = model.provenance(seeds=seed_text(seed_list), truncation=o.truncation, **{"class": o.class_}, **kwargs,
                            **settings, **extra, **guarded.provenance())
    save_grid(images, o.out, prov, nrow=o.nrow or None)
    if o.individual:
        o.individual.mkdir(parents=True, exist_ok=True)
        for s, img in zip(seed_list, to_pil(images), strict=True):
            save_png(img, o.individual / f"seed-{s:06d}.png", {**prov, "seed": s})
    note = guarded.summary()
    return (f"wrote {o.out} ({len(seed_list)} images, seeds {seed_text(seed_list)})"
            + (f" and {len(seed_list)} files in {o.individual}" if o.individual else "") + (f"\n{note}" if note else ""))


def images_guard_default(model: Model) -> bool:
    """Whether image runs guard against copies when neither --no-copies nor --copies is given: where drawing the
    images costs more than reloading the training data and comparing (denoisers; see the README's measurements)."""
    return model.can(DENOISE)


def _guarded_images(model: Model, o: GenerateOptions, seeds: list[int], make: Any) -> tuple[Any, list[int], Any]:
    """The images of `seeds` (make(seeds) -> tensor), with near-copies of the training images redrawn when the copy
    guard is on; the seeds finally used; the guard's result."""
    import torch

    from genart.metrics import copyguard

    on, asked = copyguard.wanted(o.no_copies, images_guard_default(model))
    data, why = copyguard.training_data(model, asked) if on else (None, "")
    if data is None:
        return make(seeds), seeds, copyguard.off([], seeds, why)
    judge, rule = copyguard.image_judge(data.images)
    result = copyguard.guard(seeds, lambda s: list(make(s)), judge, rule, "images")
    return torch.stack(result.items), result.seeds, result


def _init_image(model: Model, o: GenerateOptions) -> tuple[Any, dict[str, Any]]:
    """--init-image fitted to the run (None without one) and what provenance says of it; --strength checked."""
    from genart.inpaint import check_strength, load_image, require_denoiser, sha256

    if o.init_image is None:
        if o.strength is not None:
            raise ConfigError("--strength needs --init-image", "give the image to redraw: --init-image photo.png")
        return None, {}
    require_denoiser(model, "--init-image")
    strength = check_strength(DEFAULT_STRENGTH if o.strength is None else o.strength)
    init = load_image(model, o.init_image)
    return init, {"init_image": o.init_image.name, "init_image_sha256": sha256(o.init_image), "strength": strength}


def _redraw(model: Model, init: Any, strength: float, seeds: list[int], o: GenerateOptions, temperature: float | None,
            controls: dict[str, Any]) -> Any:
    """Image-to-image from each seed's latent (under the controls, as plain generation takes them)."""
    from genart.inpaint import image_to_image

    if controls:
        from genart.controls import control_latents

        z, y = control_latents(model, seeds, o.truncation, o.class_, temperature, controls.get("edits"),
                               controls.get("mix"))
    else:
        z, y = model.latents(seeds, o.truncation, o.class_, temperature)
    return image_to_image(model, init, seeds, strength, z, y)


def run_generate(model: Model, o: GenerateOptions) -> str:
    """Write the outputs of `genart generate` for any run; returns the one-line summary."""
    spec = model.spec
    if not model.can(DENOISE):  # a kind's own generate part would ignore them: say so instead
        from genart.inpaint import require_denoiser

        for flag, value in (("--sample-steps", o.sample_steps), ("--sampler", o.sampler), ("--guidance", o.guidance),
                            ("--init-image", o.init_image), ("--strength", o.strength)):
            if value is not None:
                require_denoiser(model, flag)
    if spec.generate is not None:
        return resolve_ref(spec.generate)(model, o)
    if spec.can(IMAGES):
        return generate_images(model, o)
    raise GenartError(f"genart generate does not know how to make {model.kind} runs' outputs",
                      f"the {model.kind} kind declares no generate part")
