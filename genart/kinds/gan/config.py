"""The GAN's options: `mlp` is the original design, `dcgan` the convolutional default.

The dcgan's defaults were measured (benchmarks/photos.py; the same CPU time for each setting): on photographs at 32
and 64 px, 2x nearest-neighbour resizes each followed by a 3x3 conv (no checkerboard) with R3GAN's regularised
relativistic loss gave lower FD and KID than the DCGAN original (4x4 transposed convolutions, BCE). On builtin:digits
at 32 px the original learned faster in a few CPU minutes: `--upsample transposed --loss bce` gives it back. The mlp
keeps its original BCE loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from genart.core.config import at_most, choice, option, positive
from genart.core.errors import ConfigError
from genart.core.privacy import PrivateConfig
from genart.data.image_config import ImageConfig, multiple_of

LOSSES = ("bce", "hinge", "r3gan")
UPSAMPLES = ("resize", "transposed")


@dataclass
class GANConfig(PrivateConfig, ImageConfig):
    """The image GAN: `mlp` is the original design, `dcgan` the convolutional default."""

    kind: ClassVar[str] = "gan"
    before_option: ClassVar[dict[str, Any]] = {"upsample": "transposed"}
    sample_every: int = option(200, "Write a sample grid every N steps (0: at the end).")
    arch: str = option("dcgan", "dcgan (convolutional) or mlp (the original design).")
    loss: str = option("", "r3gan (relativistic pairing loss with R1 and R2 gradient penalties, Huang et al. 2024; "
                           "its discriminator has no BatchNorm), bce (non-saturating) or hinge; default r3gan for "
                           "dcgan, bce for mlp (the original).", unset=True)
    gamma: float = option(0.0, "r3gan: weight of the R1 and R2 penalties (default 0.05 per 32 pixels of --size).",
                          unset=True)
    upsample: str = option("resize", "dcgan generator: resize (2x nearest-neighbour then a 3x3 conv, no "
                                     "checkerboard) or transposed (4x4 stride-2 transposed conv, the DCGAN original).")
    z_dim: int = option(0, "Latent size (0: 100 for mlp, 128 for dcgan).")
    width: int = option(64, "Base channel width of the dcgan networks.")
    lr_g: float = option(2e-4, "Generator learning rate.")
    lr_d: float = option(2e-4, "Discriminator learning rate.")
    beta1: float = option(0.5, "Adam beta1.", cli=False)
    beta2: float = option(0.999, "Adam beta2.", cli=False)
    ema: float = option(0.999, "EMA decay of the generator used for sampling (0: off).")
    augment: str = option("auto", "DiffAugment: auto (on below 5,000 images), on or off.")

    def validate(self) -> None:
        super().validate()
        choice("arch", self.arch, ("mlp", "dcgan"))
        if not self.loss:
            self.loss = "bce" if self.arch == "mlp" or self.dp_epsilon is not None else "r3gan"  # DP: no r3gan
        choice("loss", self.loss, LOSSES)
        choice("upsample", self.upsample, UPSAMPLES)
        choice("augment", self.augment, ("auto", "on", "off"))
        if self.arch == "dcgan":
            multiple_of(self.size, 8, "dcgan")
        positive("z_dim", self.z_dim, allow_zero=True)
        positive("gamma", self.gamma, allow_zero=True)
        positive("width", self.width)
        positive("lr_g", self.lr_g)
        positive("lr_d", self.lr_d)
        at_most("z_dim", self.z_dim, 4096, "use a latent of 4096 or fewer units; 128 suits most runs")
        at_most("width", self.width, 1024, "use a width of 1024 or less; 64 suits most runs")
        at_most("gamma", self.gamma, 1e4, "leave --gamma out for a value suited to --size")
        if not 0 <= self.ema < 1:
            raise ConfigError(f"--ema {self.ema} must be in [0, 1)", "0.999 suits most runs; 0 turns EMA off")
        if self.dp_epsilon is not None and self.loss == "r3gan":
            raise ConfigError("--loss r3gan is not supported with --dp-epsilon (its gradient penalties differentiate "
                              "D twice, which per-example gradients cannot)", "use --loss bce or hinge")
        if self.z_dim == 0:
            self.z_dim = 100 if self.arch == "mlp" else 128
        if self.gamma == 0 and self.loss == "r3gan":
            self.gamma = default_gamma(self.size)


def default_gamma(size: int) -> float:
    """The r3gan penalty weight for --size: 0.05 at 32 px (R3GAN's CIFAR-10 value), 0.1 at 64 px (measured on photos:
    as good as 1.0), growing with the image side as the summed squared input gradient does."""
    return 0.05 * size / 32
