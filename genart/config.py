"""Configs as dataclasses: one per kind, validated, and round-tripped through JSON."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from genart.errors import ConfigError

# Options that may change when a run is resumed: they set how long and where it trains, not what it learns.
BUDGET_FIELDS = frozenset(
    {"steps", "minutes", "device", "threads", "sample_every", "save_every", "checkpoint_every", "log_every"}
)


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"--{name.replace('_', '-')} {value!r} is not one of {', '.join(allowed)}",
                          f"pick one of {', '.join(allowed)}")


def _positive(name: str, value: float | int | None, allow_zero: bool = False) -> None:
    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"--{name.replace('_', '-')} must be {'non-negative' if allow_zero else 'positive'}, "
                          f"got {value}", "give a number above zero")


@dataclass
class TrainConfig:
    """Options shared by every kind: data, budget, device and bookkeeping."""

    kind: ClassVar[str] = ""
    data: str = ""
    seed: int = 0
    batch: int = 64
    steps: int | None = None
    minutes: float | None = None
    device: str = "auto"
    threads: int = 0
    precision: str = "auto"
    log_every: int = 10
    sample_every: int = 200
    save_every: float = 60.0
    checkpoint_every: int = 0

    def validate(self) -> None:
        if not self.data:
            raise ConfigError("no training data given", "pass --data DIR or --data builtin:NAME")
        _choice("device", self.device, ("auto", "cpu", "cuda", "mps"))
        _choice("precision", self.precision, ("auto", "fp32", "bf16"))
        _positive("batch", self.batch)
        _positive("steps", self.steps)
        _positive("minutes", self.minutes)
        _positive("threads", self.threads, allow_zero=True)
        _positive("log_every", self.log_every)
        _positive("sample_every", self.sample_every, allow_zero=True)
        _positive("save_every", self.save_every)
        _positive("checkpoint_every", self.checkpoint_every, allow_zero=True)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown {cls.kind} option(s): {', '.join(unknown)}",
                              "this run was made by a newer genart, or config.json was edited by hand")
        return cls(**d)

    def differences(self, other: TrainConfig) -> list[str]:
        """Options (other than the budget) whose values differ, as 'name: old -> new'."""
        a, b = self.to_dict(), other.to_dict()
        return [f"{k}: {a[k]!r} -> {b[k]!r}" for k in a if k not in BUDGET_FIELDS and a[k] != b.get(k)]


@dataclass
class ImageConfig(TrainConfig):
    """Options for image data, shared by the GAN and the VAE."""

    size: int = 32
    channels: str = "auto"
    fit: str = "crop"
    labels: str = "auto"

    def validate(self) -> None:
        super().validate()
        if self.size not in (8, 16, 32, 64, 128, 256):
            raise ConfigError(f"--size {self.size} is not a power of two from 8 to 256",
                              "use one of 8, 16, 32, 64, 128, 256")
        _choice("channels", self.channels, ("auto", "1", "3", "4"))
        _choice("fit", self.fit, ("crop", "pad", "stretch"))
        _choice("labels", self.labels, ("none", "folders", "auto"))


@dataclass
class GANConfig(ImageConfig):
    """The image GAN: `mlp` is the original design, `dcgan` the convolutional default."""

    kind: ClassVar[str] = "gan"
    arch: str = "dcgan"
    loss: str = "bce"
    z_dim: int = 0
    width: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    ema: float = 0.999
    augment: str = "auto"

    def validate(self) -> None:
        super().validate()
        _choice("arch", self.arch, ("mlp", "dcgan"))
        _choice("loss", self.loss, ("bce", "hinge"))
        _choice("augment", self.augment, ("auto", "on", "off"))
        _positive("z_dim", self.z_dim, allow_zero=True)
        _positive("width", self.width)
        _positive("lr_g", self.lr_g)
        _positive("lr_d", self.lr_d)
        if not 0 <= self.ema < 1:
            raise ConfigError(f"--ema {self.ema} must be in [0, 1)", "0.999 suits most runs; 0 turns EMA off")
        if self.z_dim == 0:
            self.z_dim = 100 if self.arch == "mlp" else 128


CONFIGS: dict[str, type[TrainConfig]] = {"gan": GANConfig}


def config_class(kind: str) -> type[TrainConfig]:
    try:
        return CONFIGS[kind]
    except KeyError:
        raise ConfigError(f"unknown kind {kind!r}", f"kinds: {', '.join(sorted(CONFIGS))}") from None
