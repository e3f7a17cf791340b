"""The GAN's options: `mlp` is the original design, `dcgan` the convolutional default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from genart.core.config import at_most, choice, option, positive
from genart.core.errors import ConfigError
from genart.data.image_config import ImageConfig


@dataclass
class GANConfig(ImageConfig):
    """The image GAN: `mlp` is the original design, `dcgan` the convolutional default."""

    kind: ClassVar[str] = "gan"
    sample_every: int = option(200, "Write a sample grid every N steps (0: at the end).")
    arch: str = option("dcgan", "dcgan (convolutional) or mlp (the original design).")
    loss: str = option("bce", "bce (non-saturating) or hinge.")
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
        choice("loss", self.loss, ("bce", "hinge"))
        choice("augment", self.augment, ("auto", "on", "off"))
        positive("z_dim", self.z_dim, allow_zero=True)
        positive("width", self.width)
        positive("lr_g", self.lr_g)
        positive("lr_d", self.lr_d)
        at_most("z_dim", self.z_dim, 4096, "use a latent of 4096 or fewer units; 128 suits most runs")
        at_most("width", self.width, 1024, "use a width of 1024 or less; 64 suits most runs")
        if not 0 <= self.ema < 1:
            raise ConfigError(f"--ema {self.ema} must be in [0, 1)", "0.999 suits most runs; 0 turns EMA off")
        if self.z_dim == 0:
            self.z_dim = 100 if self.arch == "mlp" else 128
