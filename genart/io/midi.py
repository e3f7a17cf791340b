"""Music outputs: MIDI files with provenance in a text meta event, plus optional WAV (genart.io.audio) and MusicXML."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from genart.errors import ConfigError
from genart.runs import atomic_path

PROVENANCE_PREFIX = "genart provenance: "
DEFAULT_BARS = 16
DEFAULT_TEMPERATURE = "0.9"
MIDI_SUFFIXES = {".mid", ".midi"}


def midi_bytes(score: Any, provenance: dict[str, Any] | None = None) -> bytes:
    """A symusic Score as MIDI bytes, with the provenance as JSON in a text meta event at the start of track 0."""
    import mido

    raw = bytes(score.dumps_midi())
    if not provenance:
        return raw
    mf = mido.MidiFile(file=io.BytesIO(raw))
    if not mf.tracks:
        mf.tracks.append(mido.MidiTrack())
    text = PROVENANCE_PREFIX + json.dumps(provenance, sort_keys=True, default=str, ensure_ascii=True)
    mf.tracks[0].insert(0, mido.MetaMessage("text", text=text, time=0))
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def write_midi(score: Any, path: Path, provenance: dict[str, Any] | None = None) -> Path:
    data = midi_bytes(score, provenance)
    with atomic_path(Path(path)) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def read_provenance(path: Path) -> dict[str, Any]:
    """The provenance genart wrote into a MIDI file ({} when there is none)."""
    import mido

    for track in mido.MidiFile(str(path)).tracks:
        for msg in track:
            if msg.is_meta and msg.type == "text" and msg.text.startswith(PROVENANCE_PREFIX):
                return dict(json.loads(msg.text[len(PROVENANCE_PREFIX):]))
    return {}


def write_musicxml(midi_path: Path, path: Path) -> Path:
    """A score (MusicXML) of a MIDI file, through music21."""
    import warnings

    import music21

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj = music21.converter.parse(str(midi_path), format="midi", quarterLengthDivisors=(4, 3))
        with atomic_path(Path(path)) as tmp:
            obj.write("musicxml", fp=str(tmp))
    return Path(path)


def output_paths(out: Path, n: int) -> list[Path]:
    """song.mid for one piece; song-00.mid, song-01.mid, ... for several."""
    if n == 1:
        return [out]
    width = max(2, len(str(n - 1)))
    return [out.with_name(f"{out.stem}-{k:0{width}d}{out.suffix}") for k in range(n)]


def generate_music(model: Any, o: Any) -> str:
    """`genart generate` for music runs (`o` is a GenerateOptions): MIDI files, optionally WAV and MusicXML beside
    them, and the statistics of the outputs next to the training data's. Returns the summary."""
    from genart.generate import seed_text
    from genart.io.audio import render_wav
    from genart.metrics.music import comparison_table
    from genart.models.music import check_music_run

    check_music_run(model)
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
