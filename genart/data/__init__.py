"""Data sources: folders of files and built-in data sets, decoded once into tensors."""

from __future__ import annotations

from genart.config import ImageConfig
from genart.data.images import ImageData, load_folder

BUILTIN_PREFIX = "builtin:"


def load_images(cfg: ImageConfig, channels: str | None = None) -> ImageData:
    """The images named by `cfg.data` (a folder, a file, or builtin:NAME) at `cfg.size`.

    `channels` overrides cfg.channels (a resumed run keeps the channel count it was built with)."""
    from genart.data.builtin import load_builtin

    ch = channels or cfg.channels
    if cfg.data.startswith(BUILTIN_PREFIX):
        data = load_builtin(cfg.data[len(BUILTIN_PREFIX):], cfg.size, ch)
        if cfg.labels == "none":
            data.labels, data.classes = None, []
            data.report.pop("classes", None)
        return data
    return load_folder(cfg.data, cfg.size, ch, cfg.fit, "folders" if cfg.labels == "folders" else "none")


__all__ = ["ImageData", "load_images", "load_folder", "BUILTIN_PREFIX"]
