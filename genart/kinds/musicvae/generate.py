"""`genart generate` for musicvae runs: windows from the prior (seeds), moved by attribute edits, as MIDI (and WAV)."""

from __future__ import annotations

import importlib.util
from typing import Any

from genart.core.errors import ConfigError
from genart.core.seeds import seed_text
from genart.io.midi import MIDI_SUFFIXES, output_paths, write_midi
from genart.metrics.music import comparison_table

DEFAULT_TEMPERATURE = 0.5


def temperature_of(text: str | float | None) -> float:
    if text is None or text == "":
        return DEFAULT_TEMPERATURE
    try:
        t = float(text)
    except ValueError:
        raise ConfigError(f"--temperature {text!r} is not a number", "give one temperature, e.g. 0.5") from None
    if not 0 <= t <= 10:
        raise ConfigError(f"--temperature {t:g} is out of range", "use a value in [0, 10], e.g. 0.5")
    return t


def has_pianoroll() -> bool:
    return importlib.util.find_spec("genart.io.pianoroll") is not None


def generate_musicvae(model: Any, o: Any) -> str:
    """`genart generate` for musicvae runs (`o` is a GenerateOptions): one MIDI file per seed (song-00.mid, ...),
    WAV beside each with --wav, a piano roll with --roll; the statistics beside the training windows'."""
    if o.out is None or o.out.suffix.lower() not in MIDI_SUFFIXES:
        raise ConfigError(f"--out {o.out} should be a .mid file" if o.out else "--out is required for music",
                          "name it e.g. song.mid")
    bars = model.sampler.bars
    if o.bars is not None and o.bars != bars:
        raise ConfigError(f"--bars {o.bars}: this run's windows are {bars} bars",
                          f"leave --bars out, or train a run with --bars {o.bars}")
    seeds = o.seed_list(1, "pieces")
    temperature = temperature_of(o.temperature)
    pieces = model.sampler.generate(seeds=seeds, temperature=temperature, edits=o.edit)
    edits = ",".join(o.edit or [])
    paths = output_paths(o.out, len(pieces))
    extra: list[str] = []
    for piece, path in zip(pieces, paths, strict=True):
        prov = model.provenance(seed=piece.seed, bars=bars, temperature=str(temperature), edits=edits)
        write_midi(piece.score, path, prov)
        if o.wav or o.soundfont is not None:
            from genart.io.audio import render_wav

            extra.append(render_wav(piece.score, path.with_suffix(".wav"), prov, soundfont=o.soundfont,
                                    midi_path=path).name)
    if o.roll is not None and has_pianoroll():
        from genart.io.pianoroll import save_roll

        prov = model.provenance(seeds=seed_text(seeds), bars=bars, temperature=str(temperature), edits=edits)
        save_roll([p.score for p in pieces], o.roll, prov, titles=[f"seed {p.seed}" for p in pieces])
        extra.append(o.roll.name)
    names = paths[0].name if len(paths) == 1 else f"{paths[0].name} ... {paths[-1].name}"
    lines = [f"wrote {names} ({len(pieces)} window(s) of {bars} bars, seeds {seed_text(seeds)}, temperature "
             f"{temperature:g}{', edits ' + edits if edits else ''})"
             + (f" and {', '.join(extra[:4])}{' ...' if len(extra) > 4 else ''}" if extra else "")]
    if model.sampler.data_statistics:
        lines.append("statistics of the outputs beside the training windows' (distances, not scores):")
        lines.append(comparison_table([p.stats for p in pieces], model.sampler.data_statistics))
    return "\n".join(lines)
