"""`genart generate` for music runs: MIDI files, optionally WAV and MusicXML, with provenance and statistics."""

from __future__ import annotations

from typing import Any

from genart.core.errors import ConfigError
from genart.core.seeds import seed_text
from genart.io.audio import render_wav
from genart.io.midi import MIDI_SUFFIXES, output_paths, write_midi, write_musicxml
from genart.kinds.music.statistics import comparison_table

DEFAULT_BARS = 16
DEFAULT_TEMPERATURE = "0.9"


def generate_music(model: Any, o: Any) -> str:
    """`genart generate` for music runs (`o` is a GenerateOptions): MIDI files, optionally WAV and MusicXML beside
    them, and the statistics of the outputs next to the training data's. Returns the summary."""
    if o.out is None or o.out.suffix.lower() not in MIDI_SUFFIXES:
        raise ConfigError(f"--out {o.out} should be a .mid file" if o.out else "--out is required for music",
                          "name it e.g. song.mid")
    if o.soundfont is not None and not o.soundfont.is_file():
        raise ConfigError(f"--soundfont {o.soundfont} does not exist", "give a .sf2 file, or leave --soundfont out")
    seeds = o.seed_list(1, "pieces")
    bars = DEFAULT_BARS if o.bars is None else o.bars
    temperature = o.temperature if o.temperature is not None else DEFAULT_TEMPERATURE
    pieces = model.sampler.generate(n=len(seeds), seeds=seeds, bars=bars, primer=o.primer, primer_notes=o.primer_notes,
                                    temperature=temperature, top_k=o.top_k, top_p=o.top_p)
    paths = output_paths(o.out, len(pieces))
    extra: list[str] = []
    for piece, path in zip(pieces, paths, strict=True):
        prov = model.provenance(seed=piece.seed, bars=bars, temperature=str(temperature), top_k=o.top_k, top_p=o.top_p,
                                primer=str(o.primer) if o.primer else "", primer_notes=o.primer_notes or "",
                                invalid_tokens=piece.invalid_tokens, tokens=len(piece.ids))
        write_midi(piece.score, path, prov)
        if o.wav or o.soundfont is not None:
            wav = render_wav(piece.score, path.with_suffix(".wav"), prov, soundfont=o.soundfont, midi_path=path)
            extra.append(wav.name)
        if o.musicxml:
            extra.append(write_musicxml(path, path.with_suffix(".musicxml")).name)
    invalid = sum(p.invalid_tokens for p in pieces)
    short = [p.seed for p in pieces if p.bars < bars]
    names = paths[0].name if len(paths) == 1 else f"{paths[0].name} ... {paths[-1].name}"
    lines = [f"wrote {names} ({len(pieces)} piece(s) of {bars} bars, seeds {seed_text(seeds)}; "
             f"{invalid} invalid token(s) dropped)" + (f" and {', '.join(extra[:4])}{' ...' if len(extra) > 4 else ''}"
                                                        if extra else "")]
    if short:
        lines.append(f"note: seed(s) {', '.join(map(str, short))} gave fewer than {bars} bars")
    if model.sampler.data_statistics:
        lines.append("statistics of the outputs beside the training data's (distances, not scores):")
        lines.append(comparison_table([p.stats for p in pieces], model.sampler.data_statistics))
    return "\n".join(lines)
