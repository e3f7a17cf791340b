"""The options of every kind trained on images (the GAN, the VAE, ...): size, channels, fit and labels.

`--size` is any whole number of pixels from 8 to 256; each kind then checks what its networks can take
(`multiple_of`: the convolutional ones halve the image a few times, so they take multiples of 8, or of 2**depth),
and builds them from the base resolution `base_resolution(size)` up.
"""

from __future__ import annotations

from dataclasses import dataclass

from genart.core.config import TrainConfig, choice, option
from genart.core.errors import ConfigError

IMAGE_DATA_HELP = "A folder of images, one image, or builtin:digits / builtin:abstract."
MIN_SIZE, MAX_SIZE = 8, 256


def nearest_sizes(size: int, m: int) -> list[int]:
    """The multiples of m from MIN_SIZE to MAX_SIZE nearest to size: the one below and the one above (either may be
    missing at the ends of the range); [] when no multiple of m is in the range."""
    below, above = (size // m) * m, (size // m + 1) * m
    return [s for s in (below, above) if MIN_SIZE <= s <= MAX_SIZE] or [s for s in (m,) if MIN_SIZE <= s <= MAX_SIZE]


def multiple_of(size: int, m: int, what: str) -> None:
    """Refuse a --size that `what` (e.g. "dcgan") cannot take, naming the nearest sizes it can: it takes multiples
    of m. A one-line ConfigError; nothing when size is a multiple of m."""
    if size % m == 0:
        return
    near = nearest_sizes(size, m)
    hint = (f"use {' or '.join(map(str, near))}" if near
            else f"no size from {MIN_SIZE} to {MAX_SIZE} is a multiple of {m}: make the network shallower")
    raise ConfigError(f"--size {size} does not suit the {what}: it takes multiples of {m}", hint)


def base_resolution(size: int, smallest: int = 4) -> int:
    """The resolution a convolutional network starts from (generator) or ends at (discriminator, encoder): size halved
    while it stays a whole number of at least `smallest` pixels. 4 for powers of two (as before); 6 for 24 and 48, 5
    for 40, 7 for 56; an odd size/8 for other multiples of 8 (9 for 72)."""
    res = size
    while res % 2 == 0 and res // 2 >= smallest:
        res //= 2
    return res


@dataclass
class ImageConfig(TrainConfig):
    """Options for image data, shared by the image kinds."""

    data: str = option("", IMAGE_DATA_HELP)
    size: int = option(32, "Image size from 8 to 256; convolutional kinds take multiples of 8.")
    channels: str = option("auto", "auto, 1 (grey), 3 (RGB) or 4 (RGBA).")
    fit: str = option("crop", "Non-square images: crop (centred), pad or stretch.")
    labels: str = option("auto", "auto (built-in labels), none, or folders (first-level subfolders).")
    respect_opt_out: bool = option(True, "Skip images whose metadata forbids AI training (IPTC/PLUS DataMining in "
                                         "XMP, C2PA training-mining); --ignore-opt-out trains on them, and the model "
                                         "card says so.", flag="--respect-opt-out/--ignore-opt-out")

    def validate(self) -> None:
        super().validate()
        if not MIN_SIZE <= self.size <= MAX_SIZE:
            raise ConfigError(f"--size {self.size} is outside {MIN_SIZE} to {MAX_SIZE}",
                              f"use a size from {MIN_SIZE} to {MAX_SIZE} (32 or 64 suit most runs)")
        choice("channels", self.channels, ("auto", "1", "3", "4"))
        choice("fit", self.fit, ("crop", "pad", "stretch"))
        choice("labels", self.labels, ("none", "folders", "auto"))
