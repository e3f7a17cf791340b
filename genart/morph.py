"""Morphs between two works in a run's latent space (runs whose kind has MORPH: encode files, decode latents).

`morph_files(model, a, b, out, steps, ...)` encodes one window of each file (the first by default), walks a spherical
interpolation (slerp) from one latent to the other in `steps` steps, decodes each step (same seed for every step, so
only the latent changes) and writes them one after the other: a piece that moves from a to b. Its provenance names
both files' sha256; `--wav` adds audio, and a piano roll (one panel per step) is written when the toolkit has one.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Any

import torch

from genart.core.errors import ConfigError
from genart.core.registry import AUDIO, MORPH
from genart.models.latent import slerp

MAX_STEPS = 64
DEFAULT_TEMPERATURE = 0.3  # low: each step shows its latent rather than the sampling noise


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def morph_latents(za: torch.Tensor, zb: torch.Tensor, steps: int) -> torch.Tensor:
    """(steps, z_dim): za, the slerp between them, zb."""
    if not 2 <= steps <= MAX_STEPS:
        raise ConfigError(f"--steps {steps} is out of range", f"use 2 to {MAX_STEPS} steps")
    path = slerp(za, zb, torch.linspace(0, 1, steps))
    path[0], path[-1] = za.flatten(), zb.flatten()
    return path


def morph_scores(model: Any, a: Any, b: Any, steps: int = 8, window: int = 0, window_to: int | None = None,
                 temperature: float = DEFAULT_TEMPERATURE, seed: int = 0) -> list[Any]:
    """The decoded steps (one work each) of a morph from a to b (files, or what the sampler encodes): the service
    under `genart interpolate --from/--to` and the studio's music morph."""
    model.require(MORPH, "morphing between two files needs a run that encodes them")
    za = model.sampler.encode(a, window)
    zb = model.sampler.encode(b, window if window_to is None else window_to)
    path = morph_latents(za[0], zb[0], steps)
    return model.sampler.decode(path, temperature, [seed] * steps)


def concatenate(scores: list[Any], length: int | None = None) -> tuple[Any, list[int]]:
    """The scores one after the other, each `length` ticks long (default: the longest end, rounded up to bars),
    and the tick at which each begins."""
    out = scores[0].copy()
    if length is None:
        bar = out.ticks_per_quarter * 4
        length = max(1, -(-max(int(s.end()) for s in scores) // bar)) * bar
    starts = [k * length for k in range(len(scores))]
    for k, s in enumerate(scores[1:], start=1):
        moved = s.shift_time(starts[k])
        for track, extra in zip(out.tracks, moved.tracks, strict=False):
            for note in extra.notes:
                track.notes.append(note)
    return out, starts


def morph_file(model: Any, a: Path, b: Path, out: Path, steps: int = 8, window: int = 0,
               temperature: float | None = None, seed: int = 0, wav: bool = False) -> str:
    """`genart interpolate RUN --from a.mid --to b.mid --steps 8 --out morph.mid [--wav]`: writes the morph."""
    from genart.io.midi import MIDI_SUFFIXES, write_midi

    model.require(MORPH, "morphing between two files needs a run that encodes them")
    model.require(AUDIO, "this morph writes MIDI")
    if out.suffix.lower() not in MIDI_SUFFIXES:
        raise ConfigError(f"--out {out} should be a .mid file", "name it e.g. morph.mid")
    if window < 0:
        raise ConfigError(f"--window {window} is negative", "windows are numbered from 0")
    t = DEFAULT_TEMPERATURE if temperature is None else float(temperature)
    scores = morph_scores(model, Path(a), Path(b), steps, window, temperature=t, seed=seed)
    bars = getattr(model.sampler, "bars", None)
    length = bars * scores[0].ticks_per_quarter * 4 if bars else None
    piece, _ = concatenate(scores, length)
    prov = model.provenance(morph_from=Path(a).name, morph_from_sha256=sha256(a), morph_to=Path(b).name,
                            morph_to_sha256=sha256(b), steps=steps, window=window, temperature=str(t), seed=seed)
    write_midi(piece, out, prov)
    extra = []
    if wav:
        from genart.io.audio import render_wav

        extra.append(render_wav(piece, out.with_suffix(".wav"), prov, midi_path=out).name)
    if importlib.util.find_spec("genart.io.pianoroll") is not None:
        from genart.io.pianoroll import save_roll

        roll = out.with_suffix(".png")
        save_roll(scores, roll, prov, titles=[f"step {k}" for k in range(steps)])
        extra.append(roll.name)
    return (f"wrote {out}: {steps} steps{f' of {bars} bars' if bars else ''} from {Path(a).name} (window {window}) "
            f"to {Path(b).name}, temperature {t:g}" + (f"; and {', '.join(extra)}" if extra else ""))
