"""Music statistics on a fixed grid: what a piece is like, compared with the training data's as distances.

Every statistic is computed after quantising onsets and ends to `grid` steps per beat (4 by default), with bars of
four beats:

- pitch_range: highest minus lowest pitched note, in semitones;
- pitch_class_entropy: Shannon entropy (bits) of the pitch-class histogram (0 to log2 12 = 3.58);
- scale_consistency: the largest share of notes inside one major (or its relative minor) scale;
- polyphony: mean number of distinct pitches sounding at the grid steps where any sounds;
- empty_beat_rate: the share of beats (up to the last note's end) in which nothing sounds;
- groove_consistency: 1 minus the mean Hamming distance between the onset patterns of neighbouring bars;
- notes_per_bar: notes divided by bars.

They describe a piece; they are compared with the training data as distances (how many of the data's standard
deviations away), never as "higher is better": a loop of one bar beats Bach on scale and groove consistency.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

GRID = 4  # steps per beat
BEATS_PER_BAR = 4
STATS = ("pitch_range", "pitch_class_entropy", "scale_consistency", "polyphony", "empty_beat_rate",
         "groove_consistency", "notes_per_bar")
MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])


def note_array(score: Any, grid: int = GRID) -> np.ndarray:
    """(N, 4) int array of quantised onset step, end step (> onset), pitch and is_drum over every track."""
    tpq = max(1, int(score.ticks_per_quarter))
    rows = []
    for t in score.tracks:
        if not len(t.notes):
            continue
        a = t.notes.numpy()
        start = np.rint(a["time"].astype(np.float64) * grid / tpq).astype(np.int64)
        end = np.rint((a["time"].astype(np.float64) + a["duration"]) * grid / tpq).astype(np.int64)
        end = np.maximum(end, start + 1)
        drum = np.full_like(start, int(bool(t.is_drum)))
        rows.append(np.stack([start, end, a["pitch"].astype(np.int64), drum], 1))
    return np.concatenate(rows) if rows else np.zeros((0, 4), dtype=np.int64)


def statistics(score: Any, grid: int = GRID, beats_per_bar: int = BEATS_PER_BAR) -> dict[str, float]:
    """The statistics of one piece (a symusic Score); NaN where a statistic is undefined (e.g. no pitched note)."""
    return notes_statistics(note_array(score, grid), grid, beats_per_bar)


def notes_statistics(notes: np.ndarray, grid: int = GRID, beats_per_bar: int = BEATS_PER_BAR) -> dict[str, float]:
    nan = float("nan")
    out = dict.fromkeys(STATS, nan)
    if not len(notes):
        return out
    pitched = notes[notes[:, 3] == 0]
    if len(pitched):
        p = pitched[:, 2]
        out["pitch_range"] = float(p.max() - p.min())
        hist = np.bincount(p % 12, minlength=12).astype(np.float64)
        q = hist[hist > 0] / hist.sum()
        out["pitch_class_entropy"] = float(-(q * np.log2(q)).sum()) + 0.0
        out["scale_consistency"] = float(max(hist[(MAJOR + k) % 12].sum() for k in range(12)) / hist.sum())
    steps = int(notes[:, 1].max())
    start = int(min(0, notes[:, 0].min()))
    sounding: list[set[int]] = [set() for _ in range(steps - start)]
    for s, e, pitch, drum in notes:
        for i in range(s - start, e - start):
            sounding[i].add(int(pitch) + (1000 if drum else 0))
    counts = np.array([len(s) for s in sounding])
    out["polyphony"] = float(counts[counts > 0].mean())
    beats = math.ceil(len(counts) / grid)
    padded = np.zeros(beats * grid, dtype=np.int64)
    padded[:len(counts)] = counts
    out["empty_beat_rate"] = float((padded.reshape(beats, grid).sum(1) == 0).mean())
    bar_steps = grid * beats_per_bar
    bars = math.ceil(len(counts) / bar_steps)
    onsets = np.zeros(bars * bar_steps, dtype=bool)
    onsets[notes[:, 0] - start] = True
    patterns = onsets.reshape(bars, bar_steps)
    if bars > 1:
        out["groove_consistency"] = float(1 - (patterns[1:] != patterns[:-1]).mean(1).mean())
    else:
        out["groove_consistency"] = 1.0
    out["notes_per_bar"] = float(len(notes) / bars)
    return out


def summarise(values: Sequence[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation of each statistic over pieces (NaNs left out)."""
    out = {}
    for k in STATS:
        v = np.array([d[k] for d in values if d.get(k) is not None and not math.isnan(d[k])], dtype=np.float64)
        if len(v):
            out[k] = {"mean": round(float(v.mean()), 4), "sd": round(float(v.std()), 4), "n": int(len(v))}
    return out


def data_statistics(scores: Sequence[Any]) -> dict[str, dict[str, float]]:
    return summarise([statistics(s) for s in scores])


def distance(value: float, ref: dict[str, float]) -> float:
    """How many of the data's standard deviations `value` lies from the data's mean (a floor keeps it finite)."""
    sd = max(float(ref["sd"]), 1e-3 * max(1.0, abs(float(ref["mean"]))), 1e-6)
    return abs(float(value) - float(ref["mean"])) / sd


def comparison_table(outputs: Sequence[dict[str, float]], data: dict[str, dict[str, float]]) -> str:
    """Plain-text lines, one per statistic: the outputs' mean | the data's mean +- sd | the distance of the first
    from the second in the data's standard deviations (a property, not a score: near 0 is "like the data")."""
    mine = summarise(outputs)
    lines = [f"{'statistic':<20} {'outputs mean':>12} | {'data mean +- sd':>17} | {'distance (sd)':>13}"]
    for k in STATS:
        if k not in mine:
            continue
        ref = data.get(k)
        ours = f"{mine[k]['mean']:.3f}"
        if ref:
            theirs = f"{ref['mean']:.3f} +- {ref['sd']:.3f}"
            lines.append(f"{k:<20} {ours:>12} | {theirs:>17} | {distance(mine[k]['mean'], ref):>13.2f}")
        else:
            lines.append(f"{k:<20} {ours:>12} | {'-':>17} | {'-':>13}")
    return "\n".join(lines)


# --- genart evaluate ---------------------------------------------------------------------------------------------
