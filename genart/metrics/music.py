"""Music statistics on a fixed grid, and the `genart evaluate` hook for music runs.

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
    """Plain-text lines: each statistic of the outputs (mean over them) beside the data's mean +- sd and the
    distance in the data's standard deviations."""
    mine = summarise(outputs)
    lines = [f"{'statistic':<20} {'outputs':>10} {'data mean +- sd':>20} {'distance (sd)':>14}"]
    for k in STATS:
        if k not in mine:
            continue
        ref = data.get(k)
        ours = f"{mine[k]['mean']:.3f}"
        if ref:
            lines.append(f"{k:<20} {ours:>10} {ref['mean']:>11.3f} +- {ref['sd']:<6.3f} {distance(mine[k]['mean'], ref):>13.2f}")
        else:
            lines.append(f"{k:<20} {ours:>10} {'-':>20} {'-':>14}")
    return "\n".join(lines)


# --- genart evaluate ---------------------------------------------------------------------------------------------

DEFAULT_N = 20
DEFAULT_BARS = 8
SHOWN = 3  # pieces written as WAV and MIDI under eval/ and played in evaluation.html
PAIR_BASE = 0xE000  # private-use code points for (interval, duration) pairs
SEPARATOR = "\uf8ff"


def melody_text(score: Any, grid: int = GRID) -> str:
    """A piece as one character per note: its (interval from the previous note, duration in grid steps), notes in
    time order (lowest first within a chord), mapped into Unicode's private-use range."""
    notes = note_array(score, grid)
    notes = notes[notes[:, 3] == 0]
    if not len(notes):
        return ""
    notes = notes[np.lexsort((notes[:, 2], notes[:, 0]))]
    interval = np.clip(np.diff(notes[:, 2], prepend=notes[0, 2]), -24, 24) + 24
    dur = np.clip(notes[:, 1] - notes[:, 0], 1, 32)
    return "".join(chr(PAIR_BASE + int(i) * 33 + int(d)) for i, d in zip(interval, dur, strict=True))


def random_pieces(count: int, bars: int, notes_per_bar: float, seed: int, tpq: int = 480) -> list[Any]:
    """Random notes: uniform pitches over the piano, onsets on the grid, 1 to 8 steps long (the ceiling)."""
    from symusic import Note, Score, Track

    rng = np.random.default_rng(seed)
    out = []
    step = tpq // GRID
    for _ in range(count):
        score = Score(tpq)
        track = Track(program=0)
        for _ in range(max(1, int(round(notes_per_bar * bars)))):
            start = int(rng.integers(0, bars * BEATS_PER_BAR * GRID)) * step
            track.notes.append(Note(start, int(rng.integers(1, 9)) * step, int(rng.integers(21, 109)), 80))
        score.tracks.append(track)
        out.append(score)
    return out


def evaluate_music(ctx: Any) -> Any:
    """`genart evaluate` for music runs: each statistic's distance (in the training data's sd) for generated pieces,
    held-out pieces (floor) and random notes (ceiling); the held-out loss; invalid tokens; the longest run of
    (interval, duration) pairs copied from the training pieces."""
    import html as html_

    from genart.data.music import load_music
    from genart.io.audio import render_wav
    from genart.io.midi import write_midi
    from genart.metrics import Figure, KindReport
    from genart.metrics.images import data_facts
    from genart.metrics.text import Hashes, longest_copy

    model = ctx.model
    run = model.run
    n = ctx.n or DEFAULT_N
    bars = ctx.length or DEFAULT_BARS
    ctx.console.print(f"reading the training data ({run.config.data}) ...")
    data = load_music(run.config, run.resolved)
    ref = data.stats
    ctx.console.print(f"generating {n} pieces of {bars} bars ...")
    pieces = model.generate(n=n, bars=bars, seed=ctx.seed, temperature=0.9)
    gen = [p.stats for p in pieces]
    held = [statistics(s) for s in data.val_pieces]
    npb = ref.get("notes_per_bar", {}).get("mean", 8.0)
    noise = [statistics(s) for s in random_pieces(n, bars, npb, ctx.seed)]
    means = {c: summarise(v) for c, v in (("model", gen), ("floor", held), ("ceiling", noise))}

    def dist(col: str, k: str) -> float | None:
        m = means[col].get(k)
        return round(distance(m["mean"], ref[k]), 4) if m and k in ref else None

    figures = [Figure(f"{k}_distance", f"{k.replace('_', ' ')} (sd from data)", dist("model", k),
                      dist("floor", k), dist("ceiling", k), "lower") for k in STATS]
    best = model.info.get("best") or {}
    if best.get("val_loss") is not None:
        figures.insert(0, Figure("val_loss", "held-out loss (nats per token)", float(best["val_loss"]), None,
                                 float(math.log(model.sampler.vocab.size)), "lower", "ceiling: a uniform guess"))
    tokens = sum(len(p.ids) for p in pieces)
    invalid = sum(p.invalid_tokens for p in pieces) / max(1, tokens)
    figures.append(Figure("invalid_tokens", "invalid tokens dropped (share)", invalid, None, None, "lower"))
    train_text = SEPARATOR.join(melody_text(s) for s in data.train_pieces)
    reference = Hashes(train_text)
    copies = {"model": longest_copy([melody_text(p.score) for p in pieces], train_text, reference),
              "floor": longest_copy([melody_text(s) for s in data.val_pieces], train_text, reference) if held else None,
              "ceiling": longest_copy([melody_text(s) for s in random_pieces(n, bars, npb, ctx.seed)], train_text, reference)}
    figures.append(Figure("longest_copy", "longest copied run of (interval, duration)",
                          copies["model"]["length"], (copies["floor"] or {}).get("length"), copies["ceiling"]["length"], "",
                          "a property: real held-out music shares runs too"))
    shown, pictures = [], []
    for k, p in enumerate(pieces[:SHOWN]):
        prov = model.provenance(seed=p.seed, bars=bars, temperature="0.9", invalid_tokens=p.invalid_tokens)
        write_midi(p.score, ctx.out / f"sample-{k:02d}.mid", prov)
        render_wav(p.score, ctx.out / f"sample-{k:02d}.wav", prov)
        pictures += [f"eval/sample-{k:02d}.wav", f"eval/sample-{k:02d}.mid"]
        shown.append(f'<figure><audio controls src="eval/sample-{k:02d}.wav"></audio><figcaption>seed {p.seed} '
                     f'(<a href="eval/sample-{k:02d}.mid">MIDI</a>)</figcaption></figure>')
    page = ("<h3>Generated pieces</h3>" + "".join(shown) + "<p>" + html_.escape(
        "Statistics are compared as distances to the training data's mean, in its standard deviations; "
        "they are not scores where higher is better.") + "</p>")
    details = {"statistics": {"training": ref, **means}, "longest_copy": {k: v for k, v in copies.items() if v},
               "bars": bars, "pieces": n}
    return KindReport(columns={"model": "generated", "floor": "held-out pieces", "ceiling": "random notes"},
                      figures=figures, details=details, html=page,
                      data=data_facts(run, data.report, len(data.train_pieces) + len(data.val_pieces)), pictures=pictures)
