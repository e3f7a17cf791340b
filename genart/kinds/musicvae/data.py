"""The musicvae kind's data: pieces (genart.data.music) on a 16th-note grid, cut into windows of bars.

A window is an int tensor (steps, voices): at each 16th-note step, each voice holds REST (0), HOLD (1: the note
above goes on) or a pitch token (2 + pitch - 21, pitches 21..108). Voices are the notes sounding at a step ranked by
pitch, top voice first (a chorale gives soprano, alto, tenor, bass). Windows start every --hop bars; a window where
the top voice sounds on fewer than half of the steps is left out. The held-out split is by piece.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from genart.core.errors import DataError
from genart.data.music import PITCH_RANGE, read_pieces, small_data_warning, split_pieces
from genart.metrics.music import GRID, note_array

STEPS_PER_BAR = GRID * 4  # 16th notes in a 4/4 bar
REST, HOLD, FIRST_PITCH = 0, 1, 2
LOW, HIGH = PITCH_RANGE
CLASSES = FIRST_PITCH + HIGH - LOW  # rest, hold, 88 pitches
TPQ = 480
ATTRIBUTES = {
    "density": "note onsets per bar (all voices)",
    "range": "highest minus lowest pitch, in semitones",
    "syncopation": "share of onsets off the beat (on the 16th-note steps between beats)",
}
STAT_WINDOWS = 200  # training windows whose statistics are kept as the data's (for comparisons)


def pitch_token(pitch: int) -> int:
    return FIRST_PITCH + int(pitch) - LOW


def piece_grid(score: Any, voices: int) -> np.ndarray:
    """A symusic Score as a (steps, voices) grid of tokens (drums and notes outside 21..108 are left out)."""
    notes = note_array(score, GRID)
    notes = notes[(notes[:, 3] == 0) & (notes[:, 2] >= LOW) & (notes[:, 2] < HIGH)]
    if not len(notes):
        return np.zeros((0, voices), dtype=np.int64)
    start = int(min(0, notes[:, 0].min()))
    steps = int(notes[:, 1].max()) - start
    sounding: list[dict[int, tuple[int, int]]] = [{} for _ in range(steps)]  # pitch -> (note id, onset)
    for i, (s, e, pitch, _) in enumerate(notes):
        for t in range(int(s) - start, int(e) - start):
            prev = sounding[t].get(int(pitch))
            if prev is None or prev[1] < s:  # a later onset of the same pitch wins
                sounding[t][int(pitch)] = (i, int(s) - start)
    grid = np.zeros((steps, voices), dtype=np.int64)
    previous = [-1] * voices
    for t in range(steps):
        ranked = sorted(sounding[t].items(), reverse=True)[:voices]
        now = [-1] * voices
        for v, (pitch, (note, onset)) in enumerate(ranked):
            now[v] = note
            grid[t, v] = HOLD if (onset < t and previous[v] == note) else pitch_token(pitch)
        previous = now
    return grid


def polyphony(score: Any) -> np.ndarray:
    """How many distinct pitches sound at each grid step where any does."""
    notes = note_array(score, GRID)
    notes = notes[notes[:, 3] == 0]
    if not len(notes):
        return np.zeros(0, dtype=np.int64)
    start = int(min(0, notes[:, 0].min()))
    steps = [set() for _ in range(int(notes[:, 1].max()) - start)]
    for s, e, pitch, _ in notes:
        for t in range(int(s) - start, int(e) - start):
            steps[t].add(int(pitch))
    counts = np.array([len(x) for x in steps])
    return counts[counts > 0]


def auto_voices(scores: list[Any], most: int = 4) -> int:
    """Voices for --voices 0: the 90th percentile of the data's polyphony, from 1 to `most`."""
    counts = np.concatenate([polyphony(s) for s in scores] or [np.zeros(0)])
    if not len(counts):
        return 1
    return int(min(most, max(1, math.ceil(float(np.percentile(counts, 90))))))


def windows_of(grid: np.ndarray, bars: int, hop: int) -> list[np.ndarray]:
    """Windows of `bars` bars starting every `hop` bars (padded with rests); those where the top voice sounds on
    fewer than half of the steps are left out."""
    length = bars * STEPS_PER_BAR
    out = []
    for s in range(0, max(1, len(grid)), hop * STEPS_PER_BAR):
        w = grid[s:s + length]
        if len(w) < length:
            w = np.concatenate([w, np.zeros((length - len(w), grid.shape[1]), dtype=grid.dtype)])
        if (w[:, 0] != REST).mean() >= 0.5:
            out.append(w)
    return out


def grid_score(grid: np.ndarray | torch.Tensor, tpq: int = TPQ) -> Any:
    """A (steps, voices) grid back to a symusic Score: one track per voice (a HOLD after a rest is a rest)."""
    from symusic import Note, Score, Track

    g = np.asarray(grid)
    step = tpq // GRID
    score = Score(tpq)
    for v in range(g.shape[1]):
        track = Track(name=f"voice {v + 1}", program=0)
        pitch, onset = -1, 0
        for t in range(len(g) + 1):
            tok = int(g[t, v]) if t < len(g) else REST
            if tok == HOLD and pitch >= 0:
                continue
            if pitch >= 0:
                track.notes.append(Note(onset * step, (t - onset) * step, pitch, 80))
            pitch, onset = (tok - FIRST_PITCH + LOW, t) if tok >= FIRST_PITCH else (-1, t)
        score.tracks.append(track)
    return score


def window_attributes(windows: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each attribute (ATTRIBUTES) of each window of (N, steps, voices) tokens, as (N,) float tensors."""
    w = windows.long()
    onset = w >= FIRST_PITCH
    n = onset.sum((1, 2)).float()
    bars = w.shape[1] / STEPS_PER_BAR
    pitches = torch.where(onset, w - FIRST_PITCH + LOW, 0)
    hi = torch.where(onset, pitches, -1).amax((1, 2))
    lo = torch.where(onset, pitches, 10_000).amin((1, 2))
    off = (torch.arange(w.shape[1]) % GRID != 0).view(1, -1, 1)
    return {"density": n / bars, "range": torch.where(n > 0, hi - lo, 0).float(),
            "syncopation": (onset & off).sum((1, 2)).float() / n.clamp_min(1)}


def transpose_batch(x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Each window (row) moved by its shift in semitones; a row that would leave 21..108 stays as it is."""
    pitch = x >= FIRST_PITCH
    moved = torch.where(pitch, x + shifts.view(-1, 1, 1).to(x.dtype), x)
    ok = ((moved >= FIRST_PITCH) | ~pitch).all(2).all(1) & ((moved < CLASSES) | ~pitch).all(2).all(1)
    return torch.where(ok.view(-1, 1, 1), moved, x)


@dataclass
class WindowData:
    """Windows of a music data set: training and held-out (N, steps, voices) uint8 tensors, the report."""

    train: torch.Tensor
    val: torch.Tensor
    voices: int
    report: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, dict[str, float]] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.train.shape[0] + self.val.shape[0])


def load_windows(cfg: Any, resolved: dict[str, Any]) -> WindowData:
    """Read the pieces of a musicvae run (`cfg` is a MusicVAEConfig), split them by piece, cut the windows."""
    from genart.metrics.music import data_statistics

    pieces, report = read_pieces(cfg.data, "drop", cfg.max_pieces)
    skipped = report["skipped_files"]
    if not pieces:
        why = f"; {len(skipped)} skipped, e.g. {skipped[0]['file']}: {skipped[0]['reason']}" if skipped else ""
        raise DataError(f"no usable piece in {report['source']} ({report['files']} files{why})",
                        "point --data at a folder of MIDI, MusicXML or ABC files with notes, or use builtin:bach")
    voices = int(resolved.get("voices") or cfg.voices or auto_voices([s for _, s in pieces]))
    per_piece: list[list[np.ndarray]] = []
    for name, score in pieces:
        got = windows_of(piece_grid(score, voices), cfg.bars, cfg.hop)
        if not got:
            skipped.append({"file": name, "reason": f"no window of {cfg.bars} bars with a melody sounding half the time"})
        per_piece.append(got)
    train_idx, val_idx = split_pieces(len(pieces), cfg.val_split, cfg.seed)
    length = cfg.bars * STEPS_PER_BAR

    def stack(idx: list[int]) -> torch.Tensor:
        ws = [w for i in idx for w in per_piece[i]]
        if not ws:
            return torch.zeros((0, length, voices), dtype=torch.uint8)
        return torch.from_numpy(np.stack(ws).astype(np.uint8))

    train, val = stack(train_idx), stack(val_idx)
    if not len(train):
        raise DataError(f"no training window of {cfg.bars} bars in {report['source']} ({len(pieces)} pieces)",
                        "give longer pieces, or fewer --bars")
    skipped.sort(key=lambda s: s["file"])
    shown = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(cfg.seed))[:STAT_WINDOWS]]
    report.update(
        used=len(pieces), skipped=len(skipped), skipped_files=skipped, used_files=[n for n, _ in pieces],
        pieces=len(pieces), voices=voices, bars=cfg.bars, hop=cfg.hop, train_pieces=len(train_idx),
        val_pieces=len(val_idx), val_files=[pieces[i][0] for i in val_idx], train_windows=len(train),
        val_windows=len(val), warnings=[w for w in [small_data_warning(len(pieces), len(val_idx))] if w],
        summary=f"{report['files']} files, {len(pieces)} usable pieces; {len(train):,} training windows of "
                f"{cfg.bars} bars ({voices} voice{'s' if voices > 1 else ''}) from {len(train_idx)} pieces, "
                f"{len(val):,} held out from {len(val_idx)}")
    return WindowData(train=train, val=val, voices=voices, report=report,
                      stats=data_statistics([grid_score(w) for w in shown]))


def windows_resolve(data: WindowData) -> dict[str, Any]:
    """What config.json keeps: voices, window counts and the data's statistics (of training windows)."""
    return {"voices": data.voices, "train_windows": int(data.train.shape[0]), "val_windows": int(data.val.shape[0]),
            "data_statistics": data.stats}
