"""`genart generate` for every kind: one options record, one function per kind that writes the outputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from genart.api import Model, parse_seeds, require_image_kind
from genart.errors import ConfigError, GenartError


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

    def seed_list(self, default_n: int, what: str) -> list[int]:
        """--seeds, else --n seeds from --seed (default_n when --n is absent); none at all is an error."""
        n = default_n if self.n is None else self.n
        seeds = parse_seeds(self.seeds) if self.seeds else list(range(self.seed, self.seed + max(0, n)))
        if not seeds:
            raise ConfigError(f"--n {n} is out of range", f"ask for 1 or more {what}")
        return seeds


def seed_text(seeds: list[int]) -> str:
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])
    return ",".join(map(str, seeds))


def generate_images(model: Model, o: GenerateOptions) -> str:
    """A grid PNG (and one PNG per image with --individual), provenance in each."""
    from genart.io.images import save_grid, save_png, to_pil

    require_image_kind(model)
    if o.out is None or o.out.suffix.lower() != ".png":
        raise GenartError(f"--out {o.out} should be a .png file" if o.out else "--out is required for images",
                          "name it e.g. grid.png")
    seed_list = o.seed_list(64, "images")
    temperature = float(o.temperature) if o.temperature else None
    kwargs = {"temperature": temperature} if temperature is not None else {}
    controls: dict = {}
    if o.edit:
        from genart.controls import parse_edit

        controls["edits"] = [parse_edit(e) for e in o.edit]
    if o.mix is not None:
        controls["mix"] = o.mix
    images = model.generate_tensor(seeds=seed_list, truncation=o.truncation, cls_=o.class_, **kwargs, **controls)
    if o.edit:
        kwargs["edits"] = ",".join(o.edit)
    if o.mix is not None:
        kwargs["mix"] = o.mix
    prov = model.provenance(seeds=seed_text(seed_list), truncation=o.truncation, **{"class": o.class_}, **kwargs)
    save_grid(images, o.out, prov, nrow=o.nrow or None)
    if o.individual:
        o.individual.mkdir(parents=True, exist_ok=True)
        for s, img in zip(seed_list, to_pil(images), strict=True):
            save_png(img, o.individual / f"seed-{s:06d}.png", {**prov, "seed": s})
    return (f"wrote {o.out} ({len(seed_list)} images, seeds {seed_text(seed_list)})"
            + (f" and {len(seed_list)} files in {o.individual}" if o.individual else ""))


def generate_text(model: Model, o: GenerateOptions) -> str:
    """Text samples to --out (with a .json provenance sidecar) or to stdout; --stream prints them as they come."""
    from genart.io.text import generate_text as write_text

    return write_text(model, o)


def generate_music(model: Model, o: GenerateOptions) -> str:
    """MIDI files (song.mid, or song-00.mid ... with --n), optionally WAV and MusicXML, with provenance."""
    from genart.io.midi import generate_music as write_music

    return write_music(model, o)


#: kind -> function writing that kind's outputs and returning a one-line summary
GENERATORS: dict[str, Callable[[Model, GenerateOptions], str]] = {
    "gan": generate_images,
    "vae": generate_images,
    "text": generate_text,
    "music": generate_music,
}


def run_generate(model: Model, o: GenerateOptions) -> str:
    try:
        fn = GENERATORS[model.kind]
    except KeyError:
        raise GenartError(f"genart generate does not know {model.kind} runs yet", "update genart") from None
    return fn(model, o)
