"""The config base every kind's options derive from: a dataclass whose fields declare the options once.

Each field carries its type, its default and its help (`option(...)`); the CLI's `genart train KIND` is built from
the fields of the kind's config class, so nothing is declared twice. Configs validate themselves and round-trip
through config.json.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from genart.core.errors import ConfigError

# Options that may change when a run is resumed: they set how long and where it trains, not what it learns.
BUDGET_FIELDS = frozenset(
    {"steps", "minutes", "device", "threads", "compile", "sample_every", "save_every", "checkpoint_every", "log_every"}
)
DEFAULT_MINUTES = 10.0  # the training budget when neither --steps nor --minutes is given


def option(default: Any, help: str, *, flag: str | None = None, unset: bool = False, cli: bool = True) -> Any:
    """A config field that is also a command-line option.

    help: the option's help text; flag: its spelling when not `--field-name`; unset: the field's default ("" or 0)
    means "not given" (the CLI shows no default and the config fills it in validate()); cli: False for fields set
    by genart itself rather than by an option."""
    return field(default=default, metadata={"help": help, "flag": flag, "unset": unset, "cli": cli})


def choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"--{name.replace('_', '-')} {value!r} is not one of {', '.join(allowed)}",
                          f"pick one of {', '.join(allowed)}")


def positive(name: str, value: float | int | None, allow_zero: bool = False) -> None:
    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"--{name.replace('_', '-')} must be {'non-negative' if allow_zero else 'positive'}, "
                          f"got {value}", "give zero or a number above it" if allow_zero else "give a number above zero")


def at_most(name: str, value: float | int, limit: float | int, hint: str) -> None:
    """Refuse absurd sizes (from an option or a hand-edited config.json) before anything is allocated."""
    if value > limit:
        raise ConfigError(f"--{name.replace('_', '-')} {value} is too large (at most {limit})", hint)


@dataclass
class TrainConfig:
    """Options shared by every kind: data, budget, device and bookkeeping."""

    kind: ClassVar[str] = ""
    # options added after runs were saved: the value such a run (whose config.json lacks the key) was trained with;
    # each class names its own, and from_dict merges them along the class hierarchy
    before_option: ClassVar[dict[str, Any]] = {}
    data: str = option("", "Training data: a folder, a file, or builtin:NAME.")
    seed: int = option(0, "Random seed.")
    batch: int = option(64, "Batch size.")
    steps: int | None = option(None, "Train until this many steps in all.")
    minutes: float | None = option(None, "Train for this many minutes in all (default 10 when --steps is absent).")
    device: str = option("auto", "auto, cpu, cuda or mps.")
    threads: int = option(0, "CPU threads (0: the idle cores, or OMP_NUM_THREADS).")
    precision: str = option("auto", "auto (bf16 where it helps), fp32, bf16 or fp16 (CUDA).")
    compile: bool = option(False, "torch.compile the networks being trained (CUDA; measured no faster on CPU, "
                                  "see benchmarks/RESULTS.md).")
    log_every: int = option(10, "Log losses every N steps.")
    sample_every: int = option(200, "Write previews every N steps (0: at the end).")
    save_every: float = option(60.0, "Checkpoint at least every N seconds.")
    checkpoint_every: int = option(0, "Also keep a checkpoint every N steps.")

    def validate(self) -> None:
        if not self.data:
            raise ConfigError("no training data given", "pass --data DIR or --data builtin:NAME")
        choice("device", self.device, ("auto", "cpu", "cuda", "mps"))
        choice("precision", self.precision, ("auto", "fp32", "bf16", "fp16"))
        positive("batch", self.batch)
        at_most("batch", self.batch, 65536, "use a batch of 65536 or fewer")
        positive("steps", self.steps)
        positive("minutes", self.minutes)
        positive("threads", self.threads, allow_zero=True)
        positive("log_every", self.log_every)
        positive("sample_every", self.sample_every, allow_zero=True)
        positive("save_every", self.save_every)
        positive("checkpoint_every", self.checkpoint_every, allow_zero=True)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """A saved config; one from before an option existed gets the value it was trained with (before_option)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown {cls.kind} option(s): {', '.join(unknown)}",
                              "this run was made by a newer genart, or config.json was edited by hand")
        earlier: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            earlier.update(vars(klass).get("before_option", {}))
        return cls(**{**{k: v for k, v in earlier.items() if k in known}, **d})

    def differences(self, other: TrainConfig) -> list[str]:
        """Options (other than the budget) whose values differ, as 'name: old -> new'."""
        a, b = self.to_dict(), other.to_dict()
        return [f"{k}: {a[k]!r} -> {b[k]!r}" for k in a if k not in BUDGET_FIELDS and a[k] != b.get(k)]
