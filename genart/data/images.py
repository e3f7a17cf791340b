"""Image folders: every image under a folder, decoded once into a uint8 tensor, with a report.

Broken, empty, truncated, non-image and oversized files are skipped and named; they never stop a run.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from genart.core.errors import DataError
from genart.data.files import find_files, ignored_count, rel
from genart.data.optout import count_rights

EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
MAX_PIXELS = 64_000_000  # larger images are treated as decompression bombs and skipped
GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F", "La"}
PROGRESS_FROM = 500  # show a progress bar when decoding at least this many files
BACKGROUND = 255  # transparent areas and padding become white when the output has no alpha


@dataclass
class ImageData:
    """Decoded images as uint8 (N, C, H, W), optional class labels, and the ingest report."""

    images: torch.Tensor
    labels: torch.Tensor | None = None
    classes: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def size(self) -> int:
        return int(self.images.shape[-1])

    def __len__(self) -> int:
        return int(self.images.shape[0])


def to_rgba(img: Image.Image) -> tuple[np.ndarray, bool]:
    """Any PIL mode to an RGBA uint8 array; also says whether the source was grey."""
    grey = img.mode in GREY_MODES or (img.mode == "P" and _palette_is_grey(img))
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        a = np.asarray(img, dtype=np.float64)
        if img.mode.startswith("I;16"):
            top = 65535.0
        elif img.mode == "F":
            top = 1.0 if a.max() <= 1 else 255.0
        else:  # 32-bit integer images: PIL opens 16-bit PNGs this way too
            top = 65535.0 if a.max() > 255 else 255.0
        a = np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        img = Image.fromarray(a, mode="L")
    if img.mode == "P":
        img = img.convert("RGBA")  # applies palette transparency
    elif img.mode == "CMYK":
        img = img.convert("RGB")
    if img.mode != "RGBA":
        img = img.convert("RGBA")
    return np.asarray(img), grey


def _palette_is_grey(img: Image.Image) -> bool:
    pal = img.getpalette() or []
    rgb = np.asarray(pal[: len(pal) // 3 * 3]).reshape(-1, 3)
    return bool(len(rgb) and (rgb == rgb[:, :1]).all())


def fit_image(img: Image.Image, size: int, fit: str) -> Image.Image:
    if img.size == (size, size):
        return img
    if fit == "stretch":
        return img.resize((size, size), Image.Resampling.LANCZOS)
    if fit == "pad":
        return ImageOps.pad(img, (size, size), Image.Resampling.LANCZOS, color=(0, 0, 0, 0))
    return ImageOps.fit(img, (size, size), Image.Resampling.LANCZOS)


def decode_image(path: Path | bytes, size: int, fit: str,
                 max_pixels: int | None = None, meta: dict[str, Any] | None = None) -> tuple[np.ndarray, bool, bool]:
    """Decode one file (or its bytes, e.g. an upload) to an RGBA (size, size, 4) array. Returns (array, is_grey,
    has_alpha). `meta`, when given, receives "wishes": what the file's metadata says of its use (genart.data.optout:
    an AI-training opt-out, rights notices; C2PA manifests are looked for only when the bytes are given).

    Raises ValueError with a short reason for anything that is not a usable image, or larger than max_pixels (default
    MAX_PIXELS)."""
    max_pixels = MAX_PIXELS if max_pixels is None else max_pixels
    if isinstance(path, (bytes, bytearray)):
        source: Any = io.BytesIO(path)
        empty = not path
    else:
        source, empty = path, path.stat().st_size == 0
    if empty:
        raise ValueError("empty file")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(source) as img:
                if img.width * img.height > max_pixels:
                    raise ValueError(f"too large ({img.width}x{img.height} pixels; limit {max_pixels:,})")
                img.seek(0)  # first frame of animations
                if img.format == "JPEG":
                    img.draft("RGB", (size * 2, size * 2))
                img.load()
                if meta is not None:
                    from genart.data.optout import image_wishes

                    meta["wishes"] = image_wishes(img, bytes(path) if isinstance(path, (bytes, bytearray)) else None)
                img = ImageOps.exif_transpose(img)
                rgba, grey = to_rgba(img)
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ValueError(_reason(e)) from None
        except (OSError, SyntaxError, EOFError, struct_error, ValueError, TypeError, IndexError) as e:
            raise ValueError(_reason(e)) from None
    has_alpha = bool((rgba[..., 3] < 255).any())  # before fitting: padding is not the image's transparency
    pil = Image.fromarray(rgba, mode="RGBA")
    # Resize with premultiplied alpha so transparent pixels do not bleed their colour.
    pil = fit_image(pil.convert("RGBa"), size, fit).convert("RGBA")
    out = np.asarray(pil)
    if not grey:
        rgb = out[..., :3]
        grey = bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
    return out, grey, has_alpha


def _reason(e: BaseException) -> str:
    if isinstance(e, UnidentifiedImageError):
        return "not an image PIL can read (wrong extension or corrupt header)"
    if isinstance(e, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return "too large (decompression bomb guard)"
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    if "truncated" in text.lower() or isinstance(e, EOFError):
        return f"truncated or corrupt ({text})"
    return f"unreadable ({text[:120]})"


try:  # struct.error is raised by some broken TIFF/BMP headers
    from struct import error as struct_error
except ImportError:  # pragma: no cover
    struct_error = ValueError  # type: ignore[misc,assignment]


def find_images(root: Path) -> tuple[list[Path], list[dict[str, str]], int]:
    """Every candidate image under root (sorted), the skipped entries with reasons, and the file count."""
    return find_files(root, EXTENSIONS, "an image")




def load_folder(root: str | Path, size: int, channels: str = "auto", fit: str = "crop",
                labels: str = "none", workers: int = 4, respect_opt_out: bool = True) -> ImageData:
    """Decode every image under `root` to (N, C, size, size) uint8, skipping and reporting bad files.

    Images whose metadata forbids AI training (genart.data.optout) are skipped as "opted out" unless
    `respect_opt_out` is False; the report names them either way, and counts the rights notices of the images used."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"--data {root} does not exist", "give a folder of images or builtin:digits")
    if root.is_file():
        files, skipped, total = [root], [], 1
        root = root.parent
    else:
        files, skipped, total = find_images(root)
    class_of: dict[Path, str] = {}
    if labels == "folders":
        kept = []
        for p in files:
            parts = p.relative_to(root).parts
            if len(parts) < 2:
                skipped.append({"file": rel(p, root), "reason": "not inside a class subfolder (--labels folders)"})
            else:
                class_of[p] = parts[0]
                kept.append(p)
        files = kept

    def work(p: Path) -> tuple[Path, Any]:
        try:
            meta: dict[str, Any] = {}
            arr, grey, alpha = decode_image(p.read_bytes(), size, fit, meta=meta)
            return p, (arr, grey, alpha, meta["wishes"])
        except ValueError as e:
            return p, str(e)
        except OSError as e:  # permission denied, vanished file, ...
            return p, f"unreadable ({e.strerror or e})"

    arrays, used, greys, alphas = [], [], [], []
    rights: list[list[str]] = []
    opted_in: list[dict[str, str]] = []  # opted-out images used all the same (--ignore-opt-out)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = pool.map(work, files)
        if len(files) >= PROGRESS_FROM:
            from rich.console import Console
            from rich.progress import track

            results = track(results, total=len(files), description=f"decoding {len(files)} images", transient=True,
                            console=Console(stderr=True))
        for p, res in results:
            if isinstance(res, str):
                skipped.append({"file": rel(p, root), "reason": res})
                continue
            arr, grey, alpha, wishes = res
            if wishes.opt_out:
                entry = {"file": rel(p, root), "reason": f"opted out: {wishes.opt_out}"}
                if respect_opt_out:
                    skipped.append({**entry, "reason": entry["reason"] + " (its metadata forbids AI training; "
                                                                          "--ignore-opt-out uses it)"})
                    continue
                opted_in.append(entry)
            rights.append(wishes.rights)
            arrays.append(arr)
            used.append(p)
            greys.append(grey)
            alphas.append(alpha)
    skipped.sort(key=lambda s: s["file"])
    report: dict[str, Any] = {
        "source": str(root), "files": total, "used": len(used), "skipped": len(skipped),
        "skipped_files": skipped,
        **wishes_report(skipped, opted_in, rights, respect_opt_out),
    }
    if not used:
        why = f"; {len(skipped)} skipped, e.g. {skipped[0]['file']}: {skipped[0]['reason']}" if skipped else ""
        hint = "point --data at a folder with png, jpg, webp, bmp, gif or tiff images"
        if report["opted_out"]:
            hint = "their metadata forbids AI training: use images whose authors allow it (or --ignore-opt-out)"
        raise DataError(f"no usable image in {root} ({total} files{why})", hint)
    if channels == "auto":
        c = 4 if any(alphas) else (1 if all(greys) else 3)
    else:
        c = int(channels)
    stack = np.stack(arrays)  # N, H, W, 4
    images = torch.from_numpy(to_channels(stack, c)).permute(0, 3, 1, 2).contiguous()
    label_t, classes = None, []
    if labels == "folders":
        classes = sorted({class_of[p] for p in used})
        index = {name: i for i, name in enumerate(classes)}
        label_t = torch.tensor([index[class_of[p]] for p in used], dtype=torch.long)
        report["classes"] = {name: int((label_t == i).sum()) for i, name in enumerate(classes)}
    h = hashlib.sha256()
    for p in used:
        h.update(rel(p, root).encode())
        h.update(p.read_bytes())
    report.update(channels=c, size=size, fit=fit, content_hash=h.hexdigest()[:16])
    return ImageData(images=images, labels=label_t, classes=classes, report=report)


def wishes_report(skipped: list[dict[str, str]], opted_in: list[dict[str, str]], rights: list[list[str]],
                  respect_opt_out: bool) -> dict[str, Any]:
    """What the ingest report says of the data's own wishes: opt-outs honoured (or overridden), paths a
    .genartignore excluded, and the rights notices of the images used, counted."""
    return {"respect_opt_out": respect_opt_out,
            "opted_out": sum(1 for s in skipped if s["reason"].startswith("opted out")),
            "opted_out_used": opted_in, "ignored": ignored_count(skipped), "rights": count_rights(rights)}


def to_channels(rgba: np.ndarray, c: int) -> np.ndarray:
    """(N, H, W, 4) uint8 RGBA to (N, H, W, c): alpha composited on white when dropped."""
    if c == 4:
        return rgba
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * a + BACKGROUND * (1 - a)
    if c == 1:
        rgb = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        rgb = rgb[..., None]
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
