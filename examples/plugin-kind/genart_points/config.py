"""The options of the points kind: each field is a command-line option of `genart train points`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from genart.core.config import TrainConfig, at_most, choice, option, positive
from genart.core.errors import ConfigError

BUILTINS = ("spiral", "rings", "moons")
DATA_HELP = ("A CSV file of points (x,y per line; a header line is fine), or builtin:spiral, builtin:rings, "
             "builtin:moons.")


@dataclass
class PointsConfig(TrainConfig):
    """A mixture of full-covariance Gaussians fitted to 2D points by maximum likelihood (Adam on minibatches)."""

    kind: ClassVar[str] = "points"
    data: str = option("", DATA_HELP)
    batch: int = option(256, "Points per step.")
    steps: int | None = option(2000, "Train until this many steps in all (a mixture converges in a few thousand).")
    sample_every: int = option(500, "Write a scatter preview and the held-out loss every N steps (0: at the end).")
    precision: str = option("auto", "auto or fp32 (a mixture's likelihood is computed in fp32).")
    components: int = option(32, "Gaussians in the mixture.")
    lr: float = option(0.02, "Adam learning rate.")
    points: int = option(2000, "How many points a builtin: data set has.")
    columns: str = option("", "CSV: the two columns holding x and y, by header name or by number from 1 "
                              "(default: the first two).")
    val_split: float = option(0.1, "Fraction of the points held out for the validation loss (0: none).")

    def validate(self) -> None:
        super().validate()
        choice("precision", self.precision, ("auto", "fp32"))
        positive("components", self.components)
        positive("lr", self.lr)
        positive("points", self.points)
        at_most("components", self.components, 4096, "use 4096 or fewer components; 32 suits most point clouds")
        at_most("points", self.points, 1_000_000, "use a million points or fewer")
        if not 0 <= self.val_split <= 0.5:
            raise ConfigError(f"--val-split {self.val_split} must be in [0, 0.5]",
                              "0.1 holds out a tenth of the points; 0 turns validation off")
        if self.columns and len(self.columns.split(",")) != 2:
            raise ConfigError(f"--columns {self.columns!r} should name two columns", "write e.g. --columns x,y or --columns 2,3")
