"""`genart generate` for music runs: MIDI files, optionally WAV and MusicXML, with provenance and statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genart.core.errors import ConfigError
from genart.core.seeds import seed_text
from genart.io.audio import BUILTIN, choose_soundfont, render_wav, synthesiser_name, why_builtin
from genart.io.midi import MIDI_SUFFIXES, output_paths, write_midi, write_musicxml
from genart.io.pianoroll import Span, check_roll_path, save_roll
from genart.metrics import copyguard
from genart.metrics.music import comparison_table

DEFAULT_BARS = 16
DEFAULT_TEMPERATURE = "0.8"  # measured with keys in C: benchmarks/bach_tonality.py (README, "Music that sounds like Bach")
GUARD_DEFAULT = True  # --no-copies unless --copies: measured cheaper than sampling (README, "A copy guard")


def generate_music(model: Any, o: Any) -> str:
    """`genart generate` for music runs (`o` is a GenerateOptions): MIDI files, optionally WAV and MusicXML beside
    them, and the statistics of the outputs next to the training data's. Returns the summary."""
    if o.out is None or o.out.suffix.lower() not in MIDI_SUFFIXES:
        raise ConfigError(f"--out {o.out} should be a .mid file" if o.out else "--out is required for music",
                          "name it e.g. song.mid")
    if o.soundfont is not None and not o.soundfont.is_file():
        raise ConfigError(f"--soundfont {o.soundfont} does not exist", "give a .sf2 file, or leave --soundfont out")
    if o.roll is not None:
        check_roll_path(o.roll)
    soundfont = choose_soundfont(o.soundfont) if o.wav or o.soundfont is not None else None
    seeds = o.seed_list(1, "pieces")
    bars = DEFAULT_BARS if o.bars is None else o.bars
    temperature = o.temperature if o.temperature is not None else DEFAULT_TEMPERATURE
    infill = infill_bars(o)
    if infill is not None:
        bars = infill[1] - infill[0] + 1

    def make(s: list[int]) -> list[Any]:
        if infill is not None:
            return model.sampler.infill(o.primer, *infill, seeds=s, temperature=temperature, top_k=o.top_k, top_p=o.top_p)
        return model.sampler.generate(n=len(s), seeds=s, bars=bars, primer=o.primer, primer_notes=o.primer_notes,
                                      temperature=temperature, top_k=o.top_k, top_p=o.top_p)

    pieces, seeds, guarded = guarded_pieces(model, o, seeds, make)
    paths = output_paths(o.out, len(pieces))
    extra: list[str] = []
    for piece, path in zip(pieces, paths, strict=True):
        prov = model.provenance(seed=piece.seed, bars=bars, temperature=str(temperature), top_k=o.top_k, top_p=o.top_p,
                                primer=str(o.primer) if o.primer else "", primer_notes=o.primer_notes or "",
                                invalid_tokens=piece.invalid_tokens, tokens=len(piece.ids), **guarded.provenance(),
                                **({"infill": f"{infill[0]}-{infill[1]}"} if infill is not None else {}))
        write_midi(piece.score, path, prov)
        if o.wav or o.soundfont is not None:
            wav = render_wav(piece.score, path.with_suffix(".wav"), prov, soundfont=soundfont or BUILTIN, midi_path=path)
            extra.append(wav.name)
        if o.musicxml:
            extra.append(write_musicxml(path, path.with_suffix(".musicxml")).name)
    if o.roll is not None:
        prov = model.provenance(seeds=seed_text(seeds), bars=bars, temperature=str(temperature), top_k=o.top_k,
                                top_p=o.top_p, primer=str(o.primer) if o.primer else "", primer_notes=o.primer_notes or "",
                                pieces=[p.name for p in paths], **guarded.provenance())
        extra.insert(0, write_roll(pieces, o.roll, prov, titles=[f"seed {p.seed} ({q.name})"
                                                                 for p, q in zip(pieces, paths, strict=True)]).name)
    invalid = sum(p.invalid_tokens for p in pieces)
    short = [p.seed for p in pieces if p.bars < bars]
    names = paths[0].name if len(paths) == 1 else f"{paths[0].name} ... {paths[-1].name}"
    lines = [f"wrote {names} ({len(pieces)} piece(s) of {bars} bars, seeds {seed_text(seeds)}; "
             f"{invalid} invalid token(s) dropped)" + (f" and {', '.join(extra[:4])}{' ...' if len(extra) > 4 else ''}"
                                                        if extra else "")]
    if o.wav or o.soundfont is not None:
        lines.append(f"audio: {synthesiser_name(soundfont)}" + ("" if soundfont else f" ({why_builtin()})"))
    if infill is not None:
        lines.append(f"bars {infill[0]}-{infill[1]} of {o.primer.name} written anew; the other bars are the primer's")
    if guarded.summary():
        lines.append(guarded.summary())
    if short:
        lines.append(f"note: seed(s) {', '.join(map(str, short))} gave fewer than {bars} bars")
    if model.sampler.data_statistics:
        lines.append("statistics of the outputs beside the training data's (distances, not scores):")
        lines.append(comparison_table([p.stats for p in pieces], model.sampler.data_statistics))
    return "\n".join(lines)


def roll_marks(piece: Any) -> list[Span]:
    """The spans of bars a roll marks in a piece: its primer, and the bars it infilled (`infilled`: first, last), between
    the primer's bars before and after them (the roll clips the last span to the piece)."""
    infilled = getattr(piece, "infilled", None)
    if not infilled:
        return [(1, piece.primer_bars, "primer")] if piece.primer_bars else []
    first, last = int(infilled[0]), int(infilled[1])
    return [*([(1, first - 1, "primer")] if first > 1 else []), (first, last, "infilled"), (last + 1, 1 << 20, "primer")]


def write_roll(pieces: list[Any], path: Path, provenance: dict[str, Any], marked: list[list[Span]] | None = None,
               titles: list[str] | None = None) -> Path:
    """One piano-roll PNG of `pieces` (genart.io.pianoroll), a panel per piece titled by its seed; `marked` (per piece)
    defaults to roll_marks. Returns the path."""
    return save_roll([p.score for p in pieces], path, provenance,
                     marked if marked is not None else [roll_marks(p) for p in pieces],
                     titles or [f"seed {p.seed}" for p in pieces])


def guarded_pieces(model: Any, o: Any, seeds: list[int], make: Any) -> tuple[list[Any], list[int], Any]:
    """The pieces of `seeds`; with the copy guard on (the default for music: it costs less than sampling), a piece
    holding a run of more than MUSIC_RUN (interval, duration) pairs of a training piece is redrawn from a later
    seed. A primer's own notes are not held against it."""
    from genart.kinds.music.evaluate import SEPARATOR, melody_text

    on, asked = copyguard.wanted(o.no_copies, GUARD_DEFAULT)
    data, why = copyguard.training_data(model, asked) if on else (None, "")
    if data is None:
        return make(seeds), seeds, copyguard.off([], seeds, why)
    corpus = SEPARATOR.join(melody_text(s) for s in [*data.train_pieces, *data.val_pieces])
    judge, rule = copyguard.run_judge(corpus, copyguard.MUSIC_RUN, "(interval, duration) pairs")
    primer = 0
    if o.primer is not None or o.primer_notes:
        primer = len(melody_text(model.sampler.vocab.decode(model.sampler.primer_ids(o.primer, o.primer_notes))[0]))
    result = copyguard.guard(seeds, make, lambda pieces: judge([melody_text(p.score)[primer:] for p in pieces]), rule,
                             "pieces")
    return result.items, result.seeds, result


def infill_bars(o: Any) -> tuple[int, int] | None:
    """--infill "5-8" (or "5") to the bars (first, last), 1-based and inclusive; None without --infill."""
    import re

    if o.infill is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", str(o.infill))
    if not m or int(m.group(1)) < 1 or (m.group(2) is not None and int(m.group(2)) < int(m.group(1))):
        raise ConfigError(f"--infill {o.infill!r} is not a range of bars", "write e.g. --infill 5-8 (bars 5 to 8, from 1)")
    if o.primer is None:
        raise ConfigError("--infill needs --primer: the piece whose bars it writes anew",
                          "give the piece: --primer piece.mid --infill 5-8")
    first = int(m.group(1))
    return first, int(m.group(2) or first)
