"""Built-in image data that needs no files and no network.

- `builtin:digits`: scikit-learn's 1,797 handwritten digits (8x8, 10 classes), shipped inside scikit-learn.
- `builtin:abstract`: colourful abstract compositions genart paints itself (circles, bands and arcs on
  gradient grounds, from a few harmonious palettes), 3 classes by dominant motif.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from genart.core.errors import DataError
from genart.data.images import ImageData, to_channels

BUILTINS = ("digits", "abstract")

PALETTES = [
    [(238, 66, 102), (255, 210, 63), (59, 206, 172), (14, 173, 105), (84, 13, 110)],
    [(38, 70, 83), (42, 157, 143), (233, 196, 106), (244, 162, 97), (231, 111, 81)],
    [(255, 190, 11), (251, 86, 7), (255, 0, 110), (131, 56, 236), (58, 134, 255)],
    [(13, 27, 42), (27, 38, 59), (65, 90, 119), (119, 141, 169), (224, 225, 221)],
    [(0, 48, 73), (214, 40, 40), (247, 127, 0), (252, 191, 73), (234, 226, 183)],
    [(34, 87, 122), (56, 163, 165), (87, 204, 153), (128, 237, 153), (199, 249, 204)],
]
MOTIFS = ("circles", "bands", "arcs")


def load_builtin(name: str, size: int, channels: str = "auto", count: int = 2048) -> ImageData:
    if name == "digits":
        data = _digits(size)
    elif name == "abstract":
        data = _abstract(size, count)
    else:
        raise DataError(f"unknown built-in data set {name!r}", f"built-ins: {', '.join('builtin:' + b for b in BUILTINS)}")
    c = data.channels if channels == "auto" else int(channels)
    if c != data.channels:
        rgba = data.images.permute(0, 2, 3, 1).numpy()
        if rgba.shape[-1] == 1:
            rgba = np.repeat(rgba, 3, axis=-1)
        if rgba.shape[-1] == 3:
            rgba = np.concatenate([rgba, np.full_like(rgba[..., :1], 255)], axis=-1)
        data.images = torch.from_numpy(to_channels(rgba, c)).permute(0, 3, 1, 2).contiguous()
    n = len(data)
    data.report.update(source=f"builtin:{name}", files=n, used=n, skipped=0, skipped_files=[],
                       channels=c, size=size, fit="stretch",
                       content_hash=hashlib.sha256(data.images.numpy().tobytes()).hexdigest()[:16])
    if data.labels is not None:
        data.report["classes"] = {cl: int((data.labels == i).sum()) for i, cl in enumerate(data.classes)}
    return data


def _digits(size: int) -> ImageData:
    from sklearn.datasets import load_digits

    d = load_digits()
    imgs = (d.images / 16.0 * 255.0).clip(0, 255).astype(np.uint8)  # (1797, 8, 8), white on black
    if size != 8:
        imgs = np.stack([np.asarray(Image.fromarray(a).resize((size, size), Image.Resampling.BICUBIC))
                         for a in imgs])
    images = torch.from_numpy(imgs).unsqueeze(1).contiguous()
    return ImageData(images=images, labels=torch.from_numpy(d.target.astype(np.int64)),
                     classes=[str(i) for i in range(10)], report={})


def _abstract(size: int, count: int) -> ImageData:
    rng = np.random.default_rng(20261126)
    scale = 2  # paint at twice the size, then downsample for smooth edges
    s = size * scale
    images, labels = [], []
    for i in range(count):
        motif = i % len(MOTIFS)
        pal = PALETTES[int(rng.integers(len(PALETTES)))]
        order = rng.permutation(len(pal))
        cols = [pal[j] for j in order]
        img = _gradient(s, cols[0], cols[1], float(rng.uniform(0, math.pi)))
        draw = ImageDraw.Draw(img)
        if MOTIFS[motif] == "circles":
            for _ in range(int(rng.integers(2, 6))):
                r = rng.uniform(0.08, 0.3) * s
                x, y = rng.uniform(0.1, 0.9, 2) * s
                draw.ellipse([x - r, y - r, x + r, y + r], fill=cols[int(rng.integers(2, 5))])
        elif MOTIFS[motif] == "bands":
            n = int(rng.integers(2, 5))
            horizontal = bool(rng.integers(2))
            for k in range(n):
                a, w = rng.uniform(0, 1) * s, rng.uniform(0.05, 0.18) * s
                box = [0, a, s, a + w] if horizontal else [a, 0, a + w, s]
                draw.rectangle(box, fill=cols[2 + k % 3])
        else:
            cx, cy = rng.uniform(0.2, 0.8, 2) * s
            for k in range(int(rng.integers(3, 6))):
                r = (k + 1) * rng.uniform(0.08, 0.14) * s
                start = float(rng.uniform(0, 360))
                draw.arc([cx - r, cy - r, cx + r, cy + r], start, start + float(rng.uniform(90, 270)),
                         fill=cols[2 + k % 3], width=max(2, int(s * 0.05)))
        img = img.filter(ImageFilter.GaussianBlur(radius=0.5 * scale)).resize((size, size), Image.Resampling.LANCZOS)
        images.append(np.asarray(img))
        labels.append(motif)
    t = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return ImageData(images=t, labels=torch.tensor(labels), classes=list(MOTIFS), report={})


def _gradient(s: int, a: tuple[int, int, int], b: tuple[int, int, int], angle: float) -> Image.Image:
    yy, xx = np.mgrid[0:s, 0:s] / max(1, s - 1)
    t = (xx * math.cos(angle) + yy * math.sin(angle))
    t = (t - t.min()) / max(1e-6, t.max() - t.min())
    rgb = np.asarray(a)[None, None] * (1 - t[..., None]) + np.asarray(b)[None, None] * t[..., None]
    return Image.fromarray(rgb.astype(np.uint8), mode="RGB")
