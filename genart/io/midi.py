"""Music outputs: MIDI files with provenance in a text meta event, plus optional WAV (genart.io.audio) and MusicXML."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from genart.core.files import atomic_path

PROVENANCE_PREFIX = "genart provenance: "
TEXT_EVENT = "text"  # the MIDI meta event type that carries the provenance
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
            if msg.is_meta and msg.type == TEXT_EVENT and msg.text.startswith(PROVENANCE_PREFIX):
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
