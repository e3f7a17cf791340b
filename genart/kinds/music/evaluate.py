"""`genart evaluate` for music runs: statistics beside the data's, held-out loss, invalid tokens, copying."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from genart.metrics.music import (
    BEATS_PER_BAR,
    GRID,
    STATS,
    comparison_table,
    distance,
    note_array,
    statistics,
    summarise,
)

DEFAULT_N = 20
DEFAULT_BARS = 8
TEMPERATURE = "0.8"  # generate's DEFAULT_TEMPERATURE (not imported: generate imports this module)
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

    from genart.io.audio import render_wav
    from genart.io.midi import write_midi
    from genart.io.pianoroll import save_roll
    from genart.kinds.music.data import load_music
    from genart.metrics import Figure, KindReport, data_facts
    from genart.metrics.text import Hashes, longest_copy

    model = ctx.model
    run = model.run
    n = ctx.n or DEFAULT_N
    bars = ctx.length or DEFAULT_BARS
    ctx.console.print(f"reading the training data ({run.config.data}) ...")
    data = load_music(run.config, run.resolved)
    ref = data.stats
    ctx.console.print(f"generating {n} pieces of {bars} bars ...")
    pieces = model.generate(n=n, bars=bars, seed=ctx.seed, temperature=TEMPERATURE)  # as generate does
    gen = [p.stats for p in pieces]
    held = [statistics(s) for s in data.val_pieces]
    npb = ref.get("notes_per_bar", {}).get("mean", 8.0)
    noise = [statistics(s) for s in random_pieces(n, bars, npb, ctx.seed)]
    means = {c: summarise(v) for c, v in (("model", gen), ("floor", held), ("ceiling", noise))}

    def dist(col: str, k: str) -> float | None:
        m = means[col].get(k)
        return round(distance(m["mean"], ref[k]), 4) if m and k in ref else None

    def beside(k: str) -> str:  # the outputs' mean beside the data's mean +- sd, as generate's table shows them
        m, r = means["model"].get(k), ref.get(k)
        return f"outputs {m['mean']:.3f} | data {r['mean']:.3f} +- {r['sd']:.3f}" if m and r else ""

    figures = [Figure(f"{k}_distance", f"{k.replace('_', ' ')} (sd from data)", dist("model", k),
                      dist("floor", k), dist("ceiling", k), "lower", beside(k)) for k in STATS]
    table = comparison_table(gen, ref)
    ctx.console.print("statistics of the generated pieces beside the training data's:\n" + table, highlight=False)
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
        prov = model.provenance(seed=p.seed, bars=bars, temperature=TEMPERATURE, invalid_tokens=p.invalid_tokens)
        write_midi(p.score, ctx.out / f"sample-{k:02d}.mid", prov)
        render_wav(p.score, ctx.out / f"sample-{k:02d}.wav", prov)
        pictures += [f"eval/sample-{k:02d}.wav", f"eval/sample-{k:02d}.mid"]
        shown.append(f'<figure><audio controls src="eval/sample-{k:02d}.wav"></audio><figcaption>seed {p.seed} '
                     f'(<a href="eval/sample-{k:02d}.mid">MIDI</a>)</figcaption></figure>')
    if shown:
        save_roll([p.score for p in pieces[:SHOWN]], ctx.out / "roll.png",
                  model.provenance(seeds=[p.seed for p in pieces[:SHOWN]], bars=bars, temperature=TEMPERATURE),
                  titles=[f"seed {p.seed} (sample-{k:02d})" for k, p in enumerate(pieces[:SHOWN])])
        pictures.append("eval/roll.png")
        shown.append('<figure><img src="eval/roll.png" style="max-width:100%"><figcaption>their piano rolls, one '
                     "colour per track</figcaption></figure>")
    page = ("<h3>Generated pieces</h3>" + "".join(shown) + "<p>" + html_.escape(
        "Statistics are compared as distances to the training data's mean, in its standard deviations; "
        "they are not scores where higher is better.") + "</p><pre>" + html_.escape(table) + "</pre>")
    details = {"statistics": {"training": ref, **means}, "longest_copy": {k: v for k, v in copies.items() if v},
               "bars": bars, "pieces": n}
    return KindReport(columns={"model": "generated", "floor": "held-out pieces", "ceiling": "random notes"},
                      figures=figures, details=details, html=page,
                      data=data_facts(run, data.report, len(data.train_pieces) + len(data.val_pieces)), pictures=pictures)
