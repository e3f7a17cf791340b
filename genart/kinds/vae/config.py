"""The VAE's options: a convolutional encoder and decoder whose depth follows the image size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from genart.core.config import at_most, choice, option, positive
from genart.core.errors import ConfigError
from genart.core.privacy import PrivateConfig
from genart.data.image_config import ImageConfig, multiple_of


@dataclass
class VAEConfig(PrivateConfig, ImageConfig):
    """The image VAE: a convolutional encoder and decoder whose depth follows the image size."""

    kind: ClassVar[str] = "vae"
    # measured on builtin:digits at epsilon 10 (README, "What privacy costs"): a batch of 256, a learning rate of
    # 3e-3, 16 px and about 60 passes over the data keep samples recognisable where the plain defaults do not
    dp_defaults: ClassVar[dict] = {"size": (32, 16), "batch": (64, 256), "lr": (1e-3, 3e-3)}
    dp_plan_epochs: ClassVar[int] = 60
    size: int = option(0, "Image size from 8 to 256, a multiple of 8 (default 32; 16 with --dp-epsilon).", unset=True)
    batch: int = option(0, "Batch size (default 64; 256 with --dp-epsilon).", unset=True)
    seed: int = option(0, "Random seed (also picks the held-out images).")
    sample_every: int = option(200, "Every N steps write samples and reconstructions, and evaluate the held-out "
                                    "images (0: at the end).")
    labels: str = option("none", "unconditional: labels are not used", cli=False)
    latent: int = option(64, "Latent size (units of z).")
    recon: str = option("auto", "Reconstruction likelihood: auto (bernoulli for grey, gaussian for colour), "
                                "bernoulli, gaussian or l1.")
    beta: float = option(1.0, "Weight of the KL term (beta-VAE; 1: the ELBO).")
    kl_warmup: int = option(0, "Ramp the KL weight up from 0 over this many steps.")
    free_bits: float = option(0.0, "Free bits: KL nats per latent unit not penalised.")
    width: int = option(32, "Base channel width of the encoder and decoder.")
    lr: float = option(0.0, "Adam learning rate (default 1e-3; 3e-3 with --dp-epsilon).", unset=True)
    val_split: float = option(0.05, "Fraction of images held out for evaluation (0: none).")

    def validate(self) -> None:
        super().validate()
        choice("recon", self.recon, ("auto", "bernoulli", "gaussian", "l1"))
        multiple_of(self.size, 8, "vae")
        positive("latent", self.latent)
        positive("beta", self.beta, allow_zero=True)
        positive("kl_warmup", self.kl_warmup, allow_zero=True)
        positive("free_bits", self.free_bits, allow_zero=True)
        positive("width", self.width)
        positive("lr", self.lr)
        at_most("width", self.width, 1024, "use a width of 1024 or less; 32 suits most runs")
        if self.latent > 4096:
            raise ConfigError(f"--latent {self.latent} is too large", "use 4096 or fewer latent units; 64 suits most runs")
        if not 0 <= self.val_split <= 0.5:
            raise ConfigError(f"--val-split {self.val_split} must be in [0, 0.5]",
                              "0.05 holds out 5% of the images; 0 turns held-out evaluation off")
