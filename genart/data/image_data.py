"""The images of an image kind's run: a folder, a file or builtin:NAME, at the run's size, with its channels and classes."""


from __future__ import annotations

from genart.data.files import BUILTIN_PREFIX
from genart.data.image_config import ImageConfig
from genart.data.images import ImageData, load_folder


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
    return load_folder(cfg.data, cfg.size, ch, cfg.fit, "folders" if cfg.labels == "folders" else "none",
                       respect_opt_out=getattr(cfg, "respect_opt_out", True))





def load_image_data(cfg: ImageConfig, resolved: dict) -> ImageData:
    """The data of an image kind's run: `resolved` (a resumed run's) keeps its channel count and classes."""
    from genart.core.errors import RunError

    data = load_images(cfg, channels=str(resolved["channels"]) if resolved.get("channels") else None)
    if resolved and resolved.get("classes", []) != data.classes:
        raise RunError(f"the classes in {cfg.data} changed since this run started "
                       f"({resolved.get('classes')} -> {data.classes})",
                       "restore the data, or start over with --fresh")
    return data


def image_resolve(data: ImageData) -> dict:
    """What config.json keeps of an image kind's data."""
    return {"channels": data.channels, "classes": list(data.classes), "images": len(data)}
