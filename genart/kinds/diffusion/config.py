"""The diffusion kind's options: a compact UNet trained by flow matching, sampled by a deterministic ODE solver."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from genart.core.config import at_most, choice, option, positive
from genart.core.errors import ConfigError
from genart.core.privacy import PrivateConfig
from genart.data.image_config import ImageConfig

OBJECTIVES = ("flow", "vpred")  # the noising paths (genart.kinds.diffusion.paths)
SAMPLERS = ("euler", "heun", "dpm")  # the ODE solvers (genart.kinds.diffusion.samplers)
MAX_SAMPLE_STEPS = 1000


def levels(size: int) -> list[int]:
    """Resolutions of the UNet's levels for an image size: halve while above 8 pixels and even (32 -> 32, 16, 8)."""
    res = [size]
    while res[-1] > 8 and res[-1] % 2 == 0:
        res.append(res[-1] // 2)
    return res


def auto_patch(size: int) -> int:
    """Pixels per side folded into channels at the UNet's input: 1 below 32 px, 2 from 32, 4 from 128 (measured: at
    32 px a patch of 2 trains 2.9x faster per step for the same width; benchmarks/RESULTS-diffusion.md)."""
    return 1 if size < 32 else 2 if size < 128 else 4


@dataclass
class DiffusionConfig(PrivateConfig, ImageConfig):
    """A denoising diffusion model (rectified flow by default) on a compact UNet."""

    kind: ClassVar[str] = "diffusion"
    batch: int = option(32, "Batch size (32 measured better than 64 for the same minutes on a CPU).")
    objective: str = option("flow", "flow (rectified flow, logit-normal times) or vpred (cosine path, v-prediction).")
    width: int = option(32, "Base channel width of the UNet (doubles once at lower resolution).")
    patch: int = option(0, "Pixels per side folded into channels at the input: 1, 2 or 4 (0: by size).", unset=True)
    lr: float = option(2e-3, "AdamW learning rate (after a warm-up of 100 steps).")
    ema: float = option(0.999, "EMA decay of the weights used for sampling (0: off).")
    class_drop: float = option(0.1, "Probability of dropping the label in training (classifier-free guidance).")
    sample_steps: int = option(10, "Default number of sampling steps for generate.")
    sampler: str = option("dpm", "Default sampler: euler (DDIM), heun or dpm (DPM-Solver++ 2M).")
    guidance: float = option(2.0, "Default classifier-free guidance scale for labelled data (1: none).")

    def validate(self) -> None:
        super().validate()
        if self.size < 16:
            raise ConfigError(f"--size {self.size} is too small for the diffusion kind", "use a size of 16 or more")
        choice("objective", self.objective, OBJECTIVES)
        choice("sampler", self.sampler, SAMPLERS)
        positive("width", self.width)
        positive("lr", self.lr)
        positive("sample_steps", self.sample_steps)
        positive("guidance", self.guidance, allow_zero=True)
        at_most("width", self.width, 512, "use a width of 512 or less; 32 suits most runs")
        at_most("sample_steps", self.sample_steps, MAX_SAMPLE_STEPS, "10 suits most runs")
        at_most("guidance", self.guidance, 20, "use a guidance of 20 or less; 1 to 3 suits most runs")
        if not 0 <= self.ema < 1:
            raise ConfigError(f"--ema {self.ema} must be in [0, 1)", "0.999 suits most runs; 0 turns EMA off")
        if not 0 <= self.class_drop < 1:
            raise ConfigError(f"--class-drop {self.class_drop} must be in [0, 1)", "0.1 suits most runs")
        if self.patch == 0:
            self.patch = auto_patch(self.size)
        choice("patch", str(self.patch), ("1", "2", "4"))
        if not fits(self.size, self.patch):
            near = [n for n in (nearest(self.size, self.patch, -1), nearest(self.size, self.patch, 1)) if n]
            raise ConfigError(f"--size {self.size} does not suit the diffusion UNet with --patch {self.patch} (it halves "
                              "the image at least once after the patch)", f"use {' or '.join(map(str, near))}")


def fits(size: int, patch: int) -> bool:
    """Whether the UNet takes this size: the patch divides it and what is left halves at least once."""
    return 16 <= size <= 256 and size % patch == 0 and len(levels(size // patch)) >= 2


def nearest(size: int, patch: int, direction: int) -> int | None:
    """The nearest size below (-1) or above (+1) that the UNet takes, or None."""
    n = size + direction
    while 16 <= n <= 256:
        if fits(n, patch):
            return n
        n += direction
    return None
