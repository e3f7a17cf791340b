"""Scatter plots of point clouds as PNG, side by side, drawn with numpy and Pillow (provenance in the PNG's text)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from genart.io.images import save_png

PANEL = 320  # pixels per side of one panel
MARGIN = 20  # pixels above a panel, for its title
COLOURS = [(36, 84, 164), (214, 96, 32), (110, 110, 110), (46, 140, 80)]


def frame(bounds: list[list[float]], pad: float = 0.08) -> tuple[np.ndarray, float]:
    """The lower-left corner and the side of the square the panels show: the data's bounds, padded."""
    lo, hi = np.asarray(bounds[0], dtype=np.float64), np.asarray(bounds[1], dtype=np.float64)
    side = float(max(hi - lo)) * (1 + 2 * pad) or 1.0
    centre = (lo + hi) / 2
    return centre - side / 2, side


def density(xy: np.ndarray, bounds: list[list[float]], size: int = PANEL) -> np.ndarray:
    """How many points fall in each pixel of a size x size panel (y upwards); points outside are dropped."""
    corner, side = frame(bounds)
    ij = np.floor((xy - corner) / side * size).astype(np.int64)
    inside = ((ij >= 0) & (ij < size)).all(1)
    counts = np.zeros((size, size), dtype=np.float64)
    np.add.at(counts, (size - 1 - ij[inside, 1], ij[inside, 0]), 1.0)
    dots = counts.copy()  # each point a 2 x 2 dot
    dots[1:] += counts[:-1]
    dots[:, 1:] += counts[:, :-1]
    dots[1:, 1:] += counts[:-1, :-1]
    return dots


def panel(values: np.ndarray, colour: tuple[int, int, int], title: str) -> Image.Image:
    """One panel: white, shaded towards `colour` where `values` (>= 0, pixel-wise) is large."""
    a = (1 - np.exp(-values))[..., None]
    rgb = (255 * (1 - a) + np.asarray(colour) * a).astype(np.uint8)
    img = Image.new("RGB", (PANEL, PANEL + MARGIN), "white")
    img.paste(Image.fromarray(rgb, "RGB"), (0, MARGIN))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, MARGIN, PANEL - 1, PANEL + MARGIN - 1], outline=(200, 200, 200))
    draw.text((4, 4), title, fill=(40, 40, 40))
    return img


def scatter_png(sets: list[tuple[str, np.ndarray]], bounds: list[list[float]], path: Path,
                provenance: dict[str, Any] | None = None, extra: list[Image.Image] | None = None) -> Path:
    """Each (title, points (N, 2)) as a scatter panel, side by side on the same axes, then any `extra` panels."""
    panels = [panel(density(np.asarray(xy, dtype=np.float64), bounds) * 0.8, COLOURS[i % len(COLOURS)], title)
              for i, (title, xy) in enumerate(sets)] + list(extra or [])
    out = Image.new("RGB", (PANEL * len(panels) + 8 * (len(panels) - 1), PANEL + MARGIN), "white")
    for i, p in enumerate(panels):
        out.paste(p, (i * (PANEL + 8), 0))
    return save_png(out, Path(path), provenance)
