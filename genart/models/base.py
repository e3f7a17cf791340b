"""The small interface every kind plugs into the one training loop (genart.train)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import torch

from genart.config import TrainConfig


class Trainable(ABC):
    """A model family in training: its networks, optimizers and one step on a batch.

    The trainer owns the loop, the budget, checkpoints, logging and RNG; the kind owns the maths.
    Everything returned by `state()` is saved in checkpoints and given back to `load_state()`.
    """

    #: whether bf16 autocast measurably speeds this kind up on CPUs with bf16 units (see benchmarks/)
    bf16_helps: ClassVar[bool] = False
    #: whether the kind wraps its networks with genart.distributed.wrap and shards its data (torchrun)
    supports_ddp: ClassVar[bool] = False

    def __init__(self, cfg: TrainConfig, data: Any, device: torch.device, precision: str,
                 generator: torch.Generator) -> None:
        self.cfg = cfg
        self.data = data
        self.device = device
        self.precision = precision
        self.generator = generator  # draws batches; checkpointed by the trainer

    @abstractmethod
    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        """One optimisation step; returns named scalar losses as tensors (not synced to the host)."""

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """Nested dicts of tensors and plain values: weights, EMA, optimizer states."""

    @abstractmethod
    def load_state(self, state: dict[str, Any]) -> None: ...

    def replicated(self) -> list[torch.Tensor]:
        """Tensors every data-parallel rank must hold identically (all float tensors of the state)."""
        from genart.runs import flatten_state

        tensors, _ = flatten_state(self.state())
        return [t for t in tensors.values() if t.is_floating_point()]

    def preview(self, path_stem: Path) -> list[Path]:
        """Write preview samples next to `path_stem` (e.g. samples/step-000500); return the files."""
        return []

    def evaluate(self) -> dict[str, float]:
        """Held-out figures (e.g. val_loss) for picking the best checkpoint; empty when the kind has none."""
        return {}
