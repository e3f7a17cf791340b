"""Images a user names on the command line or hands to the API (files, folders, arrays, PIL images), prepared
exactly as training images are, for every kind that takes images in (encoders, image-to-image, inpainting)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genart.core.errors import DataError
from genart.data.images import decode_image, find_images, fit_image, to_channels, to_rgba

ImagesLike = torch.Tensor | np.ndarray | str | Path | Sequence[Any]


def image_files(paths: Sequence[str | Path]) -> list[tuple[Path, str]]:
    """The image files named by `paths`, with the names they are known by: a folder gives its images
    (recursively, hidden files ignored) in sorted order of their paths inside it; a file gives itself."""
    out: list[tuple[Path, str]] = []
    for p in map(Path, paths):
        if p.is_dir():
            found, _, _ = find_images(p)
            if not found:
                raise DataError(f"no image files in {p}", "give a folder with png, jpg, webp, bmp, gif or tiff images")
            named = sorted((f.relative_to(p).as_posix(), f) for f in found)
            out += [(f, name) for name, f in named]
        elif p.exists() or p.is_symlink():
            out.append((p, p.name))
        else:
            raise DataError(f"{p}: no such file or folder", "check the path")
    return out


def _decode(source: Path | bytes, size: int, fit: str, name: str | None, max_pixels: int | None) -> np.ndarray:
    """A file or its bytes as fitted RGBA (size, size, 4) uint8; a one-line DataError naming it otherwise."""
    name = name or str(source if not isinstance(source, (bytes, bytearray)) else "the image")
    try:
        rgba, _, _ = decode_image(source if isinstance(source, (bytes, bytearray)) else Path(source), size, fit,
                                  max_pixels)
    except FileNotFoundError:
        raise DataError(f"{name}: no such file", "check the path") from None
    except IsADirectoryError:
        raise DataError(f"{name} is a folder, not an image", "give image files, or the folder on its own") from None
    except ValueError as e:
        raise DataError(f"{name} is not a usable image: {e}", "give a png, jpg, webp, bmp, gif or tiff file") from None
    except OSError as e:
        raise DataError(f"{name} is unreadable ({e.strerror or e})", "check that the file exists and can be read") from None
    return rgba


def read_image(path: Path | bytes, size: int, fit: str, channels: int, name: str | None = None,
               max_pixels: int | None = None) -> np.ndarray:
    """One file (or its bytes: an upload) as (channels, size, size) uint8, prepared as training images are; a
    one-line DataError otherwise."""
    rgba = _decode(path, size, fit, name, max_pixels)
    return to_channels(rgba[None], channels)[0].transpose(2, 0, 1)


def read_mask(path: Path | bytes, size: int, fit: str, name: str | None = None,
              max_pixels: int | None = None) -> np.ndarray:
    """A mask image (any mode) as a (size, size) float32 array of 0 and 1, fitted as images are: 1 where the pixel is
    light (grey level times opacity at least half: white), 0 where it is dark or transparent (black)."""
    rgba = _decode(path, size, fit, name, max_pixels).astype(np.float32) / 255.0
    grey = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return (grey * rgba[..., 3] >= 0.5).astype(np.float32)


def pil_image(img: Any, size: int, fit: str, channels: int) -> np.ndarray:
    """A PIL image as (channels, size, size) uint8, prepared as files are."""
    from PIL import Image

    rgba, _ = to_rgba(img)
    fitted = fit_image(Image.fromarray(rgba, mode="RGBA").convert("RGBa"), size, fit).convert("RGBA")
    return to_channels(np.asarray(fitted)[None], channels)[0].transpose(2, 0, 1)
