"""Configs as dataclasses: one per kind, validated, and round-tripped through JSON."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from genart.errors import ConfigError

# Options that may change when a run is resumed: they set how long and where it trains, not what it learns.
BUDGET_FIELDS = frozenset(
    {"steps", "minutes", "device", "threads", "compile", "sample_every", "save_every", "checkpoint_every", "log_every"}
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
    compile: bool = False
    log_every: int = 10
    sample_every: int = 200
    save_every: float = 60.0
    checkpoint_every: int = 0

    def validate(self) -> None:
        if not self.data:
            raise ConfigError("no training data given", "pass --data DIR or --data builtin:NAME")
        _choice("device", self.device, ("auto", "cpu", "cuda", "mps"))
        _choice("precision", self.precision, ("auto", "fp32", "bf16", "fp16"))
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


@dataclass
class VAEConfig(ImageConfig):
    """The image VAE: a convolutional encoder and decoder whose depth follows the image size."""

    kind: ClassVar[str] = "vae"
    labels: str = "none"  # unconditional: labels are not used
    latent: int = 64
    recon: str = "auto"
    beta: float = 1.0
    kl_warmup: int = 0
    free_bits: float = 0.0
    width: int = 32
    lr: float = 1e-3
    val_split: float = 0.05

    def validate(self) -> None:
        super().validate()
        _choice("recon", self.recon, ("auto", "bernoulli", "gaussian", "l1"))
        _positive("latent", self.latent)
        _positive("beta", self.beta, allow_zero=True)
        _positive("kl_warmup", self.kl_warmup, allow_zero=True)
        _positive("free_bits", self.free_bits, allow_zero=True)
        _positive("width", self.width)
        _positive("lr", self.lr)
        if self.latent > 4096:
            raise ConfigError(f"--latent {self.latent} is too large", "use 4096 or fewer latent units; 64 suits most runs")
        if not 0 <= self.val_split <= 0.5:
            raise ConfigError(f"--val-split {self.val_split} must be in [0, 0.5]",
                              "0.05 holds out 5% of the images; 0 turns held-out evaluation off")


@dataclass
class TextConfig(TrainConfig):
    """Text with a recurrent network (embedding -> LSTM/GRU -> linear head) over characters or BPE tokens.

    The network and tokenisation options left unset ("" or 0) take their defaults (TEXT_DEFAULTS) or, with
    --init-from, the values of the run fine-tuned from. `init_from` is not compared on resume."""

    kind: ClassVar[str] = "text"
    batch: int = 64
    sample_every: int = 250
    encoding: str = "utf-8"
    tokens: str = ""
    vocab: int = 0
    val_split: float = 0.1
    cell: str = ""
    layers: int = 0
    hidden: int = 0
    embed: int = 0
    dropout: float = 0.2
    bptt: int = 128
    lr: float = 2e-2
    warmup: int = 100
    weight_decay: float = 0.01
    clip: float = 1.0
    init_from: str = ""

    def validate(self) -> None:
        super().validate()
        if self.init_from:
            self._inherit()
        for name, value in TEXT_DEFAULTS.items():
            if getattr(self, name) in ("", 0):
                setattr(self, name, value(self) if callable(value) else value)
        _choice("tokens", self.tokens, ("char", "bpe"))
        _validate_recurrent(self, "0.1 holds out the last 10% of the text; 0 turns validation off")
        if self.tokens == "bpe" and not 300 <= self.vocab <= 65536:
            raise ConfigError(f"--vocab {self.vocab} is out of range for BPE", "use 300 to 65536; 2000 suits most corpora")
        if self.tokens == "char" and self.vocab:
            raise ConfigError(f"--vocab {self.vocab} is for BPE tokens", "add --tokens bpe, or leave --vocab out for characters")

    def _inherit(self) -> None:
        """Fine-tuning: unset network and tokenisation options come from the --init-from run; set ones must match."""
        from genart.errors import GenartError
        from genart.runs import RunDir

        try:
            src = RunDir.open(self.init_from)
        except GenartError as e:
            raise ConfigError(f"--init-from {self.init_from}: {e.message}", "give a trained text run's folder") from None
        if src.config.kind != "text":
            raise ConfigError(f"--init-from {self.init_from} is a {src.config.kind} run, not a text run",
                              "fine-tune from a text run")
        for name in TEXT_DEFAULTS:
            theirs, mine = getattr(src.config, name), getattr(self, name)
            if mine in ("", 0):
                setattr(self, name, theirs)
            elif mine != theirs:
                raise ConfigError(f"--init-from {self.init_from} was trained with --{name} {theirs}, not {mine}",
                                  f"leave --{name} out to use that run's value")

    def differences(self, other: TrainConfig) -> list[str]:
        return [d for d in super().differences(other) if not d.startswith("init_from:")]


# Defaults of the text options that --init-from can fill instead; chosen for the best model in ten minutes on a
# 2-core CPU (benchmarks/bench_text.py).
TEXT_DEFAULTS: dict[str, Any] = {
    "tokens": "char",
    "vocab": lambda c: 2000 if c.tokens == "bpe" else 0,
    "cell": "lstm",
    "layers": 2,
    "hidden": 256,
    "embed": lambda c: min(c.hidden, 64 if c.tokens == "char" else 256),
}


@dataclass
class MusicConfig(TrainConfig):
    """Music with the recurrent network of the text kind over MidiTok tokens (REMI or TSD, all tracks in one stream).

    `transpose` is a range of semitones, e.g. "-5..6": every training piece is also used transposed by each shift
    (held-out pieces never are). `max_pieces` (0: all) keeps the first N pieces of the data, for quick runs."""

    kind: ClassVar[str] = "music"
    batch: int = 32
    sample_every: int = 250
    tokenizer: str = "remi"
    drums: str = "keep"
    transpose: str = "0"
    max_pieces: int = 0
    val_split: float = 0.1
    cell: str = "lstm"
    layers: int = 2
    hidden: int = 256
    embed: int = 128
    dropout: float = 0.0
    bptt: int = 128
    lr: float = 1e-2
    warmup: int = 100
    weight_decay: float = 0.01
    clip: float = 1.0

    def validate(self) -> None:
        super().validate()
        _choice("tokenizer", self.tokenizer, ("remi", "tsd"))
        _choice("drums", self.drums, ("keep", "drop"))
        transpose_range(self.transpose)
        _positive("max_pieces", self.max_pieces, allow_zero=True)
        _validate_recurrent(self, "0.1 holds out a tenth of the pieces; 0 turns validation off")


def _validate_recurrent(cfg: Any, val_hint: str) -> None:
    """The checks the recurrent kinds (text, music) share: network, optimizer and held-out share."""
    _choice("cell", cfg.cell, ("lstm", "gru"))
    for name in ("layers", "hidden", "embed", "bptt", "lr"):
        _positive(name, getattr(cfg, name))
    for name in ("warmup", "weight_decay", "clip"):
        _positive(name, getattr(cfg, name), allow_zero=True)
    if not 0 <= cfg.dropout < 1:
        raise ConfigError(f"--dropout {cfg.dropout} must be in [0, 1)", "0 for short runs, 0.1-0.3 against overfitting")
    if not 0 <= cfg.val_split <= 0.5:
        raise ConfigError(f"--val-split {cfg.val_split} must be in [0, 0.5]", val_hint)
    if cfg.hidden > 8192 or cfg.layers > 16 or cfg.embed > 8192:
        raise ConfigError("the network asked for is too large", "use --hidden/--embed up to 8192 and --layers up to 16")


def transpose_range(text: str) -> tuple[int, int]:
    """"-5..6" (or "3", or "0": none) to the inclusive range of semitone shifts (-12 to 12)."""
    import re

    m = re.fullmatch(r"\s*([+-]?\d+)\s*(?:\.\.\s*([+-]?\d+)\s*)?", str(text))
    if not m:
        raise ConfigError(f"--transpose {text!r} is not a range of semitones", "write e.g. -5..6, or 0 for none")
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) is not None else lo
    lo, hi = min(lo, 0, hi), max(lo, 0, hi)  # the piece as it is is always kept
    if lo < -12 or hi > 12:
        raise ConfigError(f"--transpose {text} reaches beyond an octave", "use shifts from -12 to 12, e.g. -5..6")
    return lo, hi


CONFIGS: dict[str, type[TrainConfig]] = {"gan": GANConfig, "vae": VAEConfig, "text": TextConfig, "music": MusicConfig}


def config_class(kind: str) -> type[TrainConfig]:
    try:
        return CONFIGS[kind]
    except KeyError:
        raise ConfigError(f"unknown kind {kind!r}", f"kinds: {', '.join(sorted(CONFIGS))}") from None
