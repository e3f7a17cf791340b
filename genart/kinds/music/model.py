"""The `music` kind: the recurrent network of the text kind (genart.models.recurrent) over MidiTok tokens.

- `MusicTrainable`: SequenceTrainable (genart.models.sequence_training) on the token stream of
  genart.kinds.music.data; previews are short MIDI files.
- `MusicSampler`: pieces of a given number of bars, optionally continuing a primer (a MIDI file or a list of
  pitches). Sampling is `sample_tokens` (temperature, top-k, top-p, one seed per piece). Decoding never
  crashes: invalid tokens are dropped and counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from genart.core.errors import ConfigError, DataError, RunError
from genart.data.music import BEATS_PER_BAR, PITCH_RANGE, drop_drums, read_piece
from genart.kinds.music.data import MusicVocab
from genart.models import infill as fim
from genart.models.recurrent import build_model
from genart.models.sequence_sampling import check_sampling, parse_temperature, sample_tokens
from genart.models.sequence_training import SequenceTrainable

PREVIEW_BARS = 4
MAX_BARS = 512
PITCH_HINT = 'write e.g. "60 64 67" (middle C is 60)'
EXTEND_ROUNDS = 6  # rows still short of their bars are sampled further at most this many times


@dataclass
class Piece:
    """One generated piece: the symusic Score, its seed, the token ids (primer included) and what decoding found."""

    score: Any
    seed: int
    ids: list[int]
    invalid_tokens: int
    bars: int
    primer_bars: int = 0
    stats: dict[str, float] = field(default_factory=dict)
    infilled: tuple[int, int] | None = None  # infill: the bars (1-based, inclusive) the model wrote; the rest is the primer's


class MusicTrainable(SequenceTrainable):
    """SequenceTrainable on MIDI tokens; each preview is a few bars of MIDI (step-000500.mid)."""

    def __init__(self, cfg: Any, data: Any, device: torch.device, precision: str, generator: torch.Generator) -> None:
        super().__init__(cfg, data, device, precision, generator)
        self.vocab: MusicVocab = data.vocab
        self.tokens_per_bar = float(data.report.get("tokens_per_bar") or 64.0)

    def preview(self, path_stem: Path) -> list[Path]:
        from genart.io.midi import write_midi

        length = int(PREVIEW_BARS * self.tokens_per_bar) + 8
        banned = self.vocab.markers.ids if self.vocab.markers else ()
        ids = sample_tokens(self.model, [self.vocab.bos], 1, length, [0], [0.9], banned=banned)[0].tolist()
        score, invalid = self.vocab.decode(ids)
        path = Path(path_stem).with_suffix(".mid")
        write_midi(score, path, {"kind": "music", "preview": "true", "invalid_tokens": invalid, "ai_generated": "true"})
        return [path]


def primer_from_notes(text: str, tpq: int) -> Any:
    """'60 64 67' (or '60,64,67') to a Score of those pitches, one beat each."""
    from symusic import Note, Score, Track

    parts = text.replace(",", " ").split()
    try:
        pitches = [int(p) for p in parts]
    except ValueError:
        raise ConfigError(f"--primer-notes {text!r} is not a list of MIDI pitches", PITCH_HINT) from None
    lo, hi = PITCH_RANGE
    if not pitches or any(not lo <= p < hi for p in pitches):
        raise ConfigError(f"--primer-notes {text!r} needs pitches from {lo} to {hi - 1}", PITCH_HINT)
    score = Score(tpq)
    track = Track(program=0)
    for i, p in enumerate(pitches):
        track.notes.append(Note(i * tpq, tpq, p, 80))
    score.tracks.append(track)
    return score


def truncate(score: Any, end: int) -> Any:
    """The score with notes starting at or after tick `end` removed and the others cut off at `end`."""
    from symusic import Note

    return _kept_notes(score, end, lambda n: n.time < end,
                       lambda n: Note(n.time, min(n.duration, end - n.time), n.pitch, n.velocity))


def _kept_notes(score: Any, end: int, keep: Callable[[Any], bool], make: Callable[[Any], Any]) -> Any:
    """A copy of `score` whose tracks hold make(n) for each of their notes n that keep(n), and with no meta events
    at or past tick `end`."""
    out = score.copy()
    for t in out.tracks:
        notes = [make(n) for n in t.notes if keep(n)]
        t.notes.clear()
        for n in notes:
            t.notes.append(n)
    for name in ("time_signatures", "key_signatures", "tempos", "markers"):  # no meta events past the end either
        events = getattr(out, name, None)
        if events is not None and len(events):
            kept = [e for e in events if e.time < end]
            events.clear()
            for e in kept:
                events.append(e)
    return out


class MusicSampler:
    """A trained music model: `generate(n, bars, primer, primer_notes, temperature, top_k, top_p, seed)` -> pieces."""

    def __init__(self, cfg: Any, resolved: dict[str, Any], state: dict[str, Any], device: torch.device) -> None:
        self.cfg = cfg
        self.vocab = MusicVocab(str(resolved.get("tokenizer", cfg.tokenizer)), fim=getattr(cfg, "fim", 0.0) > 0)
        self.banned = self.vocab.markers.ids if self.vocab.markers else range(0)
        if resolved.get("vocab_size") and int(resolved["vocab_size"]) != self.vocab.size:
            raise RunError(f"this run's tokenizer had {resolved['vocab_size']} tokens; the installed MidiTok makes "
                           f"{self.vocab.size}", "install the miditok version the run was trained with")
        self.model = build_model(cfg, self.vocab.size, cfg.embed).to(device)
        self.model.load_state_dict(state["model"])
        self.model.eval().requires_grad_(False)
        self.device = device
        self.tokens_per_bar = float(resolved.get("tokens_per_bar") or 64.0)
        self.data_statistics: dict[str, dict[str, float]] = dict(resolved.get("data_statistics") or {})
        self.tpq = int(self.vocab.tokenizer.time_division)
        self.bar_ticks = self.tpq * BEATS_PER_BAR

    def primer_ids(self, primer: str | Path | None = None, primer_notes: str | None = None) -> list[int]:
        """The token ids a piece starts from: BOS, then the primer's tokens (if any)."""
        if primer is not None and primer_notes:
            raise ConfigError("--primer and --primer-notes go separately",
                              "give a MIDI file to continue, or pitches to start from")
        score = None
        if primer is not None and not isinstance(primer, (str, Path)):
            score = primer  # a symusic Score (the studio's current piece): read as is, no MIDI round trip
        elif primer is not None:
            path = Path(primer)
            if not path.is_file():
                raise DataError(f"--primer {path} does not exist", "give a MIDI, MusicXML or ABC file to continue")
            try:
                score = read_piece(path)
            except (ValueError, OSError) as e:
                raise DataError(f"--primer {path}: {e}", "give a readable MIDI, MusicXML or ABC file") from None
            if self.cfg.drums == "drop":
                score = drop_drums(score)
        elif primer_notes:
            score = primer_from_notes(primer_notes, self.tpq)
        ids = self.vocab.encode(score) if score is not None else []
        if score is not None and not ids:
            raise DataError(f"--primer {primer} has no notes this model can read", "give a primer with notes")
        if ids and "Bar_None" in self.vocab.tokenizer.vocab:
            ids.append(int(self.vocab.tokenizer.vocab["Bar_None"]))  # REMI: what follows starts in the next bar
        return [self.vocab.bos, *ids]

    def _end(self, ids: list[int]) -> int:
        score, _ = self.vocab.decode(ids)
        return int(score.end())

    def generate(self, n: int = 1, bars: int = 16, primer: str | Path | None = None, primer_notes: str | None = None,
                 temperature: float | str | Sequence[float] | None = 0.8, top_k: int | None = None,
                 top_p: float | None = None, seed: int = 0, seeds: Sequence[int] | None = None) -> list[Piece]:
        """`n` pieces of `bars` bars (after the primer, which each piece starts with). Piece k uses seed `seed + k`
        (or seeds[k]); the same seed and settings give the same piece."""
        from genart.metrics.music import statistics

        seeds = list(seeds) if seeds is not None else list(range(seed, seed + n))
        if not 1 <= bars <= MAX_BARS:
            raise ConfigError(f"--bars {bars} is out of range", f"ask for 1 to {MAX_BARS} bars")
        length = int(math.ceil(bars * self.tokens_per_bar * 1.25)) + 16
        check_sampling(len(seeds), length, top_k, top_p)
        temps = parse_temperature(temperature)
        prime = self.primer_ids(primer, primer_notes)
        primer_end = self._end(prime) if len(prime) > 1 else 0
        primer_bars = math.ceil(primer_end / self.bar_ticks)
        cutoff = (primer_bars + bars) * self.bar_ticks
        rows = [r.tolist() for r in sample_tokens(self.model, prime, len(seeds), length, seeds, temps, top_k, top_p,
                                                  banned=self.banned)]
        for rnd in range(1, EXTEND_ROUNDS + 1):
            for k, s in enumerate(seeds):
                end = self._end(prime + rows[k])
                if end >= cutoff:
                    continue
                missing = (cutoff - end) / self.bar_ticks
                more = int(math.ceil(missing * self.tokens_per_bar * 1.25)) + 16
                extra = sample_tokens(self.model, prime + rows[k], 1, more, [s * 1_000_003 + rnd], temps, top_k, top_p,
                                      banned=self.banned)
                rows[k] += extra[0].tolist()
        pieces = []
        for k, s in enumerate(seeds):
            ids = prime + rows[k]
            score, invalid = self.vocab.decode(ids)
            score = truncate(score, cutoff)
            made = max(0, min(bars, math.ceil(score.end() / self.bar_ticks) - primer_bars))
            pieces.append(Piece(score=score, seed=s, ids=ids, invalid_tokens=invalid, bars=made, primer_bars=primer_bars,
                                stats=statistics(score)))
        return pieces


    # --- infilling ---------------------------------------------------------------------------------------------

    def infill(self, primer: str | Path | Any, first_bar: int, last_bar: int, n: int = 1,
               temperature: float | str | Sequence[float] | None = 0.9, top_k: int | None = None,
               top_p: float | None = None, seed: int = 0, seeds: Sequence[int] | None = None) -> list[Piece]:
        """The primer with bars `first_bar`..`last_bar` (1-based, inclusive) written anew so that they lead into bar
        `last_bar` + 1: the network reads PRE (the primer before the first bar) SUF (the start of what follows) MID,
        then writes the bars until it has them all (empty bars make up any it did not write in time). Every other bar
        is the primer's (a MIDI/MusicXML/ABC path, or a symusic Score as primer_ids takes). The model's EOM is not
        drawn: measured, a middle it ended early (padded with empty bars) joined worse than one it wrote to the end
        (benchmarks/fim_check.py). Piece k uses seed `seed + k` (or seeds[k]); `Piece.infilled` names the bars."""
        from genart.metrics.music import statistics

        markers = fim.require(self.vocab.markers)
        bar = self.vocab.bar
        if bar is None:
            raise ConfigError("--infill needs bar tokens: this run uses --tokenizer tsd",
                              "train with --tokenizer remi (the default) to fill bars")
        seeds = list(seeds) if seeds is not None else list(range(seed, seed + n))
        tokens = self.primer_ids(primer)[1:]
        if tokens and tokens[-1] == bar:
            tokens = tokens[:-1]  # primer_ids opens the bar after the primer, for continuing
        starts = [k for k, t in enumerate(tokens) if t == bar]
        if not 1 <= first_bar <= last_bar:
            raise ConfigError(f"--infill {first_bar}-{last_bar} is not a range of bars", 'write e.g. 5-8 (bars 5 to 8, from 1)')
        if last_bar > len(starts):
            raise DataError(f"--infill {first_bar}-{last_bar} reaches beyond the primer, which has {len(starts)} bars",
                            f"choose bars from 1 to {len(starts)}")
        bars = last_bar - first_bar + 1
        prefix = tokens[:starts[first_bar - 1]]
        suffix = tokens[starts[last_bar]:] if last_bar < len(starts) else []
        half = max(1, fim.WINDOW_BPTT * self.cfg.bptt // 2)  # as in training: a prefix of up to half a window ...
        start = [self.vocab.bos, *prefix[:-half]] if len(prefix) > half else [self.vocab.bos]
        length = int(math.ceil(bars * self.tokens_per_bar * 2)) + 16
        temps = parse_temperature(temperature)
        rows = fim.infill(self.model, prefix[-half:], suffix[:fim.max_suffix(self.cfg.bptt)], markers, seeds, length,
                          temps, top_k, top_p, start=start, first=[bar], stop=(bar, bars), end_at_eom=False)
        pieces = []
        for k, s in enumerate(seeds):
            middle = [bar, *rows[k]]
            middle += [bar] * (bars - sum(1 for t in middle if t == bar))  # bars the model left out stay empty
            ids = [self.vocab.bos, *prefix, *middle, *suffix]
            score, invalid = self.vocab.decode(ids)
            span = window(score, (first_bar - 1) * self.bar_ticks, last_bar * self.bar_ticks)
            pieces.append(Piece(score=score, seed=s, ids=ids, invalid_tokens=invalid, bars=bars,
                                primer_bars=first_bar - 1, stats=statistics(span), infilled=(first_bar, last_bar)))
        return pieces


def window(score: Any, start: int, end: int) -> Any:
    """The notes of `score` that start in [start, end) ticks, moved to start at 0 (for statistics of a span)."""
    from symusic import Note

    return _kept_notes(score, end, lambda n: start <= n.time < end,
                       lambda n: Note(n.time - start, n.duration, n.pitch, n.velocity))
