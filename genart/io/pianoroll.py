"""Piano rolls: music drawn as notes over time, for people to read (PNG) and for the studio to redraw (JSON).

One panel per piece, stacked, each under its title: notes as bars over time (x) and pitch (y: the piece's pitch
span, padded, with every C faintly ruled and labelled, C4 = MIDI 60), one colour per track from a fixed palette,
velocity as opacity, drums as a row of ticks under the notes, bar lines and bar numbers (4/4, bars counted from 1
as genart counts them: genart.data.music.BEATS_PER_BAR beats of the score's ticks per quarter). Spans of bars can
be marked (shaded, with a label: "primer", "infilled", "morph step 3"). Pillow only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from genart.core.errors import ConfigError
from genart.data.music import BEATS_PER_BAR

Span = tuple[int, int, str]  # (first bar, last bar, label): bars counted from 1, both ends included

PALETTE = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (23, 190, 207))  # one colour per track (drums: DRUM)
DRUM = (60, 60, 60)
BACKGROUND, ROLL_BG, TEXT = (255, 255, 255), (250, 250, 250), (40, 40, 40)
C_LINE, BAR_LINE, BEAT_LINE = (222, 222, 222), (150, 150, 150), (236, 236, 236)
MARK = (255, 196, 0, 60)  # shading of a marked span (RGBA, blended) ...
MARKS = (MARK, (64, 160, 255, 60))  # ... and of the next one, so that neighbouring spans (primer, infilled) differ
LEFT, RIGHT, TITLE_H, NUMBERS_H, DRUM_H, GAP = 34, 10, 18, 13, 16, 12
MAX_WIDTH, BAR_PX, ROLL_PX = 1600, 96, 200  # width cap (long pieces are scaled), preferred bar width, roll height
MIN_ALPHA = 0.3  # velocity 0 is drawn this opaque, velocity 127 fully


@dataclass
class Panel:
    """Where one piece lies in the picture: x of a tick, y of a pitch (the top of its row)."""

    top: int  # y of the panel's title
    roll_top: int  # y of the highest pitch row
    lo: int  # lowest pitch shown
    hi: int  # highest pitch shown
    row: int  # pixels per semitone
    bar_ticks: int
    bar_px: float
    bars: int
    drums: bool
    bottom: int  # y below the panel (drum row included)

    def x(self, tick: float) -> int:
        return LEFT + int(round(tick / self.bar_ticks * self.bar_px))

    def y(self, pitch: int) -> int:
        return self.roll_top + (self.hi - pitch) * self.row

    @property
    def roll_bottom(self) -> int:
        return self.y(self.lo) + self.row


def bar_ticks(score: Any) -> int:
    return int(score.ticks_per_quarter) * BEATS_PER_BAR


def bars_of(score: Any) -> int:
    """How many bars the piece's notes reach into (at least 1); other events (a time signature a model wrote after
    the last note, say) do not count."""
    ends = [int((a["time"].astype(np.int64) + a["duration"]).max()) for t in score.tracks if len(t.notes)
            for a in [t.notes.numpy()]]
    end = max(ends, default=0)
    return max(1, math.ceil(end / bar_ticks(score)))


def _pitches(score: Any) -> tuple[int, int] | None:
    ps = [int(n.pitch) for t in score.tracks if not t.is_drum for n in t.notes]
    return (min(ps), max(ps)) if ps else None


def layout(scores: list[Any], max_width: int = MAX_WIDTH, bar_px: int = BAR_PX, roll_px: int = ROLL_PX) -> list[Panel]:
    """The panels of `scores`, stacked; all share one time scale (bar width), shrunk so the widest fits max_width."""
    bars = [bars_of(s) for s in scores]
    px = min(float(bar_px), (max_width - LEFT - RIGHT) / max(bars, default=1))
    panels, top = [], 0
    for s, n in zip(scores, bars, strict=True):
        span = _pitches(s) or (60, 72)
        lo, hi = max(0, span[0] - 2), min(127, span[1] + 2)
        row = max(2, min(8, roll_px // (hi - lo + 1)))
        drums = any(t.is_drum and len(t.notes) for t in s.tracks)
        roll_top = top + TITLE_H + NUMBERS_H
        bottom = roll_top + (hi - lo + 1) * row + (DRUM_H if drums else 0) + GAP
        panels.append(Panel(top, roll_top, lo, hi, row, bar_ticks(s), px, n, drums, bottom))
        top = bottom
    return panels


def _font(size: int) -> Any:
    try:
        return ImageFont.load_default(size)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def track_colours(score: Any) -> list[tuple[int, int, int]]:
    """The colour of each of the score's tracks: the palette in order over pitched tracks, DRUM for drums."""
    out, k = [], 0
    for t in score.tracks:
        if t.is_drum:
            out.append(DRUM)
        else:
            out.append(PALETTE[k % len(PALETTE)])
            k += 1
    return out


def _alpha(velocity: int) -> int:
    return int(round(255 * (MIN_ALPHA + (1 - MIN_ALPHA) * min(127, max(0, velocity)) / 127)))


def _grid(d: ImageDraw.ImageDraw, p: Panel, right: int, small: Any) -> None:
    d.rectangle([LEFT, p.roll_top, right, p.roll_bottom - 1], fill=ROLL_BG)
    for pitch in range(p.lo, p.hi + 1):
        if pitch % 12 == 0:
            y = p.y(pitch) + p.row - 1
            d.line([LEFT, y, right, y], fill=C_LINE)
            d.text((LEFT - 4, y), f"C{pitch // 12 - 1}", fill=TEXT, font=small, anchor="rm")
    beat_px = p.bar_px / BEATS_PER_BAR
    if beat_px >= 8:
        for b in range(p.bars * BEATS_PER_BAR + 1):
            if b % BEATS_PER_BAR:
                x = LEFT + int(round(b * beat_px))
                d.line([x, p.roll_top, x, p.roll_bottom - 1], fill=BEAT_LINE)
    every = max(1, math.ceil(28 / max(p.bar_px, 1e-9)))  # bar numbers at least 28 px apart
    line_every = 1 if p.bar_px >= 3 else every
    bottom = p.bottom - GAP - 1
    for b in range(p.bars + 1):
        x = LEFT + int(round(b * p.bar_px))
        if b % line_every == 0:
            d.line([x, p.roll_top, x, bottom], fill=BAR_LINE)
        if b < p.bars and b % every == 0:
            d.text((x + 2, p.roll_top - 1), str(b + 1), fill=TEXT, font=small, anchor="ld")


def draw_roll(scores: list[Any], marked: list[list[Span] | None] | None = None, titles: list[str] | None = None,
              width: int = MAX_WIDTH, bar_px: int = BAR_PX, roll_px: int = ROLL_PX) -> Image.Image:
    """The pieces as piano rolls, one panel per score (stacked), at most `width` pixels wide. `marked[k]` lists spans
    (first bar, last bar, label) of piece k to shade, bars counted from 1, both ends included; `titles[k]` heads
    panel k."""
    if not scores:
        raise ConfigError("no pieces to draw", "generate at least one piece")
    panels = layout(scores, width, bar_px, roll_px)
    right = LEFT + int(round(max(p.bars for p in panels) * panels[0].bar_px))
    img = Image.new("RGB", (right + RIGHT, panels[-1].bottom), BACKGROUND)
    d = ImageDraw.Draw(img, "RGBA")
    small, title_font = _font(10), _font(12)
    for k, (s, p) in enumerate(zip(scores, panels, strict=True)):
        end = LEFT + int(round(p.bars * p.bar_px))
        if titles and k < len(titles) and titles[k]:
            d.text((4, p.top + 3), titles[k], fill=TEXT, font=title_font)
        _grid(d, p, end, small)
        colours = track_colours(s)
        for t, colour in zip(s.tracks, colours, strict=True):
            if not len(t.notes):
                continue
            a = t.notes.numpy()
            for start, dur, pitch, vel in zip(a["time"], a["duration"], a["pitch"], a["velocity"], strict=True):
                x0 = p.x(int(start))
                fill = (*colour, _alpha(int(vel)))
                if t.is_drum:
                    y0 = p.roll_bottom + 2
                    d.rectangle([x0, y0, x0 + max(0, min(2, int(p.bar_px / 16))), y0 + DRUM_H - 5], fill=fill)
                elif p.lo <= pitch <= p.hi:
                    x1 = max(x0 + 1, p.x(int(start) + int(dur)) - 1)
                    y0 = p.y(int(pitch))
                    d.rectangle([x0, y0, x1, y0 + max(1, p.row - (1 if p.row >= 4 else 0)) - 1], fill=fill)
        for i, (first, last, label) in enumerate(marked[k] if marked and k < len(marked) and marked[k] else []):
            first, last = max(1, int(first)), min(p.bars, int(last))
            if last < first:
                continue
            x0, x1 = LEFT + int(round((first - 1) * p.bar_px)), LEFT + int(round(last * p.bar_px))
            d.rectangle([x0, p.roll_top, x1, p.bottom - GAP - 1], fill=MARKS[i % len(MARKS)])
            if label:
                d.text((x0 + 3, p.roll_top + 2), label, fill=TEXT, font=small)
    return img


def save_roll(scores: list[Any], path: Path, provenance: dict[str, Any] | None,
              marked: list[list[Span] | None] | None = None, titles: list[str] | None = None) -> Path:
    """draw_roll's picture as a PNG with provenance text chunks and a signed C2PA manifest (genart.io.images)."""
    from genart.io.images import save_png

    return save_png(draw_roll(scores, marked, titles), check_roll_path(path), provenance)


def check_roll_path(path: Path) -> Path:
    """The path of a roll picture, which must end in .png (checked before any work is done)."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ConfigError(f"--roll {path.name}: a piano roll is a .png picture", f"name it e.g. {path.stem or 'piece'}.png")
    return path


def _seconds(score: Any) -> tuple[list[list[float]], Any]:
    """The tempo map as [[tick, seconds per tick], ...] and a function from ticks (array) to seconds."""
    tpq = int(score.ticks_per_quarter)
    changes = sorted((int(t.time), float(t.mspq) / 1e6 / tpq) for t in score.tempos)
    if not changes or changes[0][0] > 0:
        changes.insert(0, (0, 0.5 / tpq))  # 120 bpm until the first tempo event
    ticks = np.array([c[0] for c in changes], dtype=np.float64)
    rate = np.array([c[1] for c in changes], dtype=np.float64)
    base = np.concatenate([[0.0], np.cumsum(np.diff(ticks) * rate[:-1])])

    def to_s(x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        i = np.clip(np.searchsorted(ticks, x, side="right") - 1, 0, len(ticks) - 1)
        return base[i] + (x - ticks[i]) * rate[i]

    return [[int(t), r] for t, r in changes], to_s


def roll_json(score: Any) -> dict[str, Any]:
    """What a canvas needs to draw the same roll: notes as [start_s, end_s, pitch, velocity, track], bar starts in
    seconds (4/4), each track's colour and whether it is drums, and the tempo map (tick, seconds per tick)."""
    tempo, to_s = _seconds(score)
    notes: list[list[float | int]] = []
    for k, t in enumerate(score.tracks):
        if not len(t.notes):
            continue
        a = t.notes.numpy()
        starts, ends = to_s(a["time"]), to_s(a["time"].astype(np.int64) + a["duration"])
        notes += [[round(float(s), 4), round(float(e), 4), int(p), int(v), k]
                  for s, e, p, v in zip(starts, ends, a["pitch"], a["velocity"], strict=True)]
    notes.sort(key=lambda n: (n[0], n[2]))
    bt, bars = bar_ticks(score), bars_of(score)
    return {"ticks_per_quarter": int(score.ticks_per_quarter), "beats_per_bar": BEATS_PER_BAR,
            "tempo": tempo, "bars": [round(float(x), 4) for x in to_s(np.arange(bars + 1) * bt)], "notes": notes,
            "tracks": [{"program": int(t.program), "drum": bool(t.is_drum), "colour": "#" + bytes(c).hex()}
                       for t, c in zip(score.tracks, track_colours(score), strict=True)]}
