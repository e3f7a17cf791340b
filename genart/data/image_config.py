"""The options of every kind trained on images (the GAN, the VAE, ...): size, channels, fit and labels."""

from __future__ import annotations

from dataclasses import dataclass

from genart.core.config import TrainConfig, choice, option
from genart.core.errors import ConfigError

IMAGE_DATA_HELP = "A folder of images, one image, or builtin:digits / builtin:abstract."


@dataclass
class ImageConfig(TrainConfig):
    """Options for image data, shared by the image kinds."""

    data: str = option("", IMAGE_DATA_HELP)
    size: int = option(32, "Image size: a power of two from 8 to 256.")
    channels: str = option("auto", "auto, 1 (grey), 3 (RGB) or 4 (RGBA).")
    fit: str = option("crop", "Non-square images: crop (centred), pad or stretch.")
    labels: str = option("auto", "auto (built-in labels), none, or folders (first-level subfolders).")

    def validate(self) -> None:
        super().validate()
        if self.size not in (8, 16, 32, 64, 128, 256):
            raise ConfigError(f"--size {self.size} is not a power of two from 8 to 256",
                              "use one of 8, 16, 32, 64, 128, 256")
        choice("channels", self.channels, ("auto", "1", "3", "4"))
        choice("fit", self.fit, ("crop", "pad", "stretch"))
        choice("labels", self.labels, ("none", "folders", "auto"))
