"""The options of every kind trained with the recurrent network and TBPTT trainer (text, music, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from genart.core.config import TrainConfig, choice, option, positive
from genart.core.errors import ConfigError

# Off unless a kind turns it on: measured (benchmarks/fim_check.py, 600 steps) --fim 0.5 costs 1.4% (text) and 1.6%
# (music) of held-out continuation loss; it buys music joins 17-22% lower in loss (so the music kind trains with 0.5),
# but text middles that never ended (no EOM learnt in that budget). Text runs meant for `--infill` use --fim 0.5.
FIM_DEFAULT = 0.0
FIM_HINT = 0.5


@dataclass
class RecurrentConfig(TrainConfig):
    """Network, optimizer and held-out share of a recurrent sequence model. A kind sets its own defaults by
    redeclaring a field; `val_hint` says what --val-split holds out for it."""

    val_hint = "0.1 holds out a tenth of the data; 0 turns validation off"
    before_option: ClassVar[dict[str, Any]] = {"fim": 0.0}
    val_split: float = option(0.1, "Fraction of the data held out for validation (0: none).")
    cell: str = option("lstm", "lstm or gru.")
    layers: int = option(2, "Recurrent layers.")
    hidden: int = option(256, "Units per recurrent layer.")
    embed: int = option(128, "Embedding size.")
    dropout: float = option(0.0, "Dropout between layers and before the head.")
    bptt: int = option(128, "Tokens per step of truncated backpropagation through time.")
    lr: float = option(1e-2, "Peak AdamW learning rate (linear warm-up, then cosine decay to a tenth).")
    warmup: int = option(100, "Warm-up steps.")
    weight_decay: float = option(0.01, "AdamW weight decay of the weight matrices.")
    clip: float = option(1.0, "Clip the gradient norm to this (0: no clipping).")
    fim: float = option(FIM_DEFAULT, "Share of training windows rearranged to teach filling a gap (fill-in-the-middle, "
                                     "for generate --infill; 0.5 is typical; 0: continuation only).")

    def validate_recurrent(self) -> None:
        """The checks every recurrent kind shares, run once the kind has filled in its defaults."""
        choice("cell", self.cell, ("lstm", "gru"))
        for name in ("layers", "hidden", "embed", "bptt", "lr"):
            positive(name, getattr(self, name))
        for name in ("warmup", "weight_decay", "clip"):
            positive(name, getattr(self, name), allow_zero=True)
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"--dropout {self.dropout} must be in [0, 1)", "0 for short runs, 0.1-0.3 against overfitting")
        if not 0 <= self.fim <= 0.9:
            raise ConfigError(f"--fim {self.fim} must be in [0, 0.9]", f"{FIM_HINT} trains for infilling; 0 turns it off")
        if not 0 <= self.val_split <= 0.5:
            raise ConfigError(f"--val-split {self.val_split} must be in [0, 0.5]", self.val_hint)
        if self.hidden > 8192 or self.layers > 16 or self.embed > 8192 or self.bptt > 65536:
            raise ConfigError("the network asked for is too large",
                              "use --hidden/--embed up to 8192, --layers up to 16 and --bptt up to 65536")
