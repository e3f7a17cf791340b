"""The registry of kinds: what the trainer and the API need to know about each model family."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from genart.config import CONFIGS, GANConfig, TrainConfig, VAEConfig
from genart.errors import ConfigError, RunError


@dataclass(frozen=True)
class KindSpec:
    name: str
    config: type[TrainConfig]
    load_data: Callable[[Any, dict[str, Any]], Any]  # (cfg, resolved of a resumed run) -> data
    resolve: Callable[[Any], dict[str, Any]]  # data -> facts the model is built from (saved in config.json)
    trainable: Callable[[], type]  # lazy, so `genart --help` does not import every model
    sampler: Callable[[], type]


def _image_data(cfg: Any, resolved: dict[str, Any]) -> Any:
    from genart.data import load_images

    data = load_images(cfg, channels=str(resolved["channels"]) if resolved.get("channels") else None)
    if resolved and resolved.get("classes", []) != data.classes:
        raise RunError(f"the classes in {cfg.data} changed since this run started "
                       f"({resolved.get('classes')} -> {data.classes})",
                       "restore the data, or start over with --fresh")
    return data


def _image_resolve(data: Any) -> dict[str, Any]:
    return {"channels": data.channels, "classes": list(data.classes), "images": len(data)}


def _gan_trainable() -> type:
    from genart.models.gan import GANTrainable
    return GANTrainable


def _gan_sampler() -> type:
    from genart.models.gan import GANSampler
    return GANSampler


def _vae_trainable() -> type:
    from genart.models.vae import VAETrainable
    return VAETrainable


def _vae_sampler() -> type:
    from genart.models.vae import VAESampler
    return VAESampler


def _text_data(cfg: Any, resolved: dict[str, Any]) -> Any:
    from genart.data.text import load_text
    return load_text(cfg, resolved)


def _text_resolve(data: Any) -> dict[str, Any]:
    from genart.data.text import text_resolve
    return text_resolve(data)


def _text_trainable() -> type:
    from genart.models.rnn import TextTrainable
    return TextTrainable


def _text_sampler() -> type:
    from genart.models.rnn import TextSampler
    return TextSampler


def _music_data(cfg: Any, resolved: dict[str, Any]) -> Any:
    from genart.data.music import load_music
    return load_music(cfg, resolved)


def _music_resolve(data: Any) -> dict[str, Any]:
    from genart.data.music import music_resolve
    return music_resolve(data)


def _music_trainable() -> type:
    from genart.models.music import MusicTrainable
    return MusicTrainable


def _music_sampler() -> type:
    from genart.models.music import MusicSampler
    return MusicSampler


KINDS: dict[str, KindSpec] = {
    "gan": KindSpec("gan", GANConfig, _image_data, _image_resolve, _gan_trainable, _gan_sampler),
    "vae": KindSpec("vae", VAEConfig, _image_data, _image_resolve, _vae_trainable, _vae_sampler),
    "text": KindSpec("text", CONFIGS["text"], _text_data, _text_resolve, _text_trainable, _text_sampler),
    "music": KindSpec("music", CONFIGS["music"], _music_data, _music_resolve, _music_trainable, _music_sampler),
}
assert set(KINDS) <= set(CONFIGS)


def get_kind(name: str) -> KindSpec:
    try:
        return KINDS[name]
    except KeyError:
        raise ConfigError(f"unknown kind {name!r}", f"kinds: {', '.join(sorted(KINDS))}") from None
