"""Images out: tensors to PIL, grids, animations, and provenance in every file."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from genart.core.errors import GenartError
from genart.core.files import atomic_path
from genart.io.signing import sign_bytes, sign_file


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] to (N, H, W, C) uint8."""
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5 + 0.5).to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def to_signed(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1]; float images (already signed) pass through as float."""
    return images.float().div(127.5).sub_(1.0) if images.dtype == torch.uint8 else images.float()


def stack_pairs(top: torch.Tensor, bottom: torch.Tensor, nrow: int) -> torch.Tensor:
    """Rows of `top` images each followed by the row of matching `bottom` images (short rows padded black)."""
    rows = []
    for i in range(0, top.shape[0], nrow):
        for part in (top[i:i + nrow], bottom[i:i + nrow]):
            pad = nrow - part.shape[0]
            rows.append(torch.cat([part, part.new_full((pad, *part.shape[1:]), -1.0)]) if pad else part)
    return torch.cat(rows)


def to_pil(images: torch.Tensor) -> list[Image.Image]:
    arr = to_uint8(images)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[arr.shape[-1]]
    return [Image.fromarray(a[..., 0] if mode == "L" else a, mode=mode) for a in arr]


def grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> Image.Image:
    """Tile (N, C, H, W) images in [-1, 1] into one picture with a small dark gutter."""
    arr = to_uint8(images)
    n, h, w, c = arr.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    fill = 0 if c != 4 else 0
    out = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), fill, dtype=np.uint8)
    if c == 4:
        out[..., 3] = 255
    for i in range(n):
        r, col = divmod(i, nrow)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        out[y:y + h, x:x + w] = arr[i]
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[c]
    return Image.fromarray(out[..., 0] if c == 1 else out, mode=mode)


def upscale(img: Image.Image, min_side: int = 256) -> Image.Image:
    """Enlarge small pictures with nearest-neighbour so pixels stay crisp when viewed."""
    k = max(1, min_side // max(1, min(img.size)))
    return img.resize((img.width * k, img.height * k), Image.Resampling.NEAREST) if k > 1 else img


def png_bytes(img: Image.Image, provenance: dict[str, Any] | None = None) -> bytes:
    """The PNG with provenance as text chunks, in memory (what save_png writes; the studio serves it)."""
    info = PngInfo()
    for k, v in (provenance or {}).items():
        info.add_text(f"genart:{k}" if k != "ai_generated" else "AI-generated", _text(v))
    if provenance:
        info.add_text("Software", f"genart {provenance.get('genart_version', '')}".strip())
        info.add_text("Comment", "AI-generated with genart")
    buf = io.BytesIO()
    img.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def save_png(img: Image.Image, path: Path, provenance: dict[str, Any] | None = None) -> Path:
    """Save a PNG atomically with provenance as text chunks and, with provenance, a signed C2PA manifest (signed after
    the text chunks are in, so the signature covers the final bytes)."""
    path = Path(path)
    data = png_bytes(img, provenance)
    if provenance is not None:
        data = sign_bytes(data, "image/png", provenance, path.name)
    with atomic_path(path, len(data)) as tmp:
        tmp.write_bytes(data)
    return path


def _text(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, default=str)


def save_grid(images: torch.Tensor, path: Path, provenance: dict[str, Any] | None = None,
              nrow: int | None = None) -> Path:
    return save_png(upscale(grid(images, nrow)), path, provenance)


def save_animation(frames: torch.Tensor, path: Path, fps: int = 24, provenance: dict[str, Any] | None = None,
                   min_side: int = 256) -> Path:
    """Write frames (T, C, H, W) in [-1, 1] as GIF or MP4, with a JSON provenance sidecar and, with provenance, a
    signed C2PA manifest in the file."""
    import imageio.v3 as iio

    path = Path(path)
    ext = path.suffix.lower()
    if ext not in (".gif", ".mp4"):
        raise GenartError(f"cannot write {path.name}: animations are .gif or .mp4", "name the output walk.gif or walk.mp4")
    pics = [np.asarray(upscale(p.convert("RGB"), min_side)) for p in to_pil(frames)]
    with atomic_path(path) as tmp:
        if ext == ".gif":
            iio.imwrite(tmp, pics, extension=".gif", duration=1000 / fps, loop=0)
        else:
            h, w = pics[0].shape[:2]
            pics = [p[: h - h % 16, : w - w % 16] for p in pics]  # codec-friendly size
            iio.imwrite(tmp, pics, plugin="FFMPEG", fps=fps, macro_block_size=16)
        if provenance is not None:
            sign_file(tmp, provenance, "image/gif" if ext == ".gif" else "video/mp4", path.name)
    if provenance is not None:
        write_sidecar(path, provenance)
    return path


def write_sidecar(path: Path, provenance: dict[str, Any]) -> Path:
    from genart.core.files import write_json

    side = Path(str(path) + ".json")
    write_json(side, {"file": Path(path).name, **provenance})
    return side


def read_png_text(path: Path) -> dict[str, str]:
    with Image.open(path) as img:
        return dict(getattr(img, "text", {}) or {})
