"""The points kind's model: a mixture of full-covariance Gaussians, the Trainable genart's loop runs, and the
sampler that `genart generate`, `genart evaluate` and `genart.load(run)` use."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from genart.core.checkpoints import int_keys
from genart.core.config import TrainConfig
from genart.core.errors import ConfigError
from genart.core.trainable import Trainable
from genart_points.draw import scatter_png

MIN_SCALE = 1e-3  # the narrowest a component may get, in standard units (a floor against collapse onto one point)
PREVIEW_POINTS = 1000
MAX_POINTS = 1_000_000


class Mixture(nn.Module):
    """K weighted Gaussians in 2D; each covariance is L L^T with L lower-triangular (positive diagonal)."""

    def __init__(self, components: int) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(components))
        self.means = nn.Parameter(torch.zeros(components, 2))
        self.raw_scales = nn.Parameter(torch.full((components, 2), math.log(math.expm1(0.3))))  # softplus^-1(0.3)
        self.shears = nn.Parameter(torch.zeros(components))

    def scales(self) -> torch.Tensor:
        return nn.functional.softplus(self.raw_scales) + MIN_SCALE

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) of each row of x (N, 2), in nats."""
        s = self.scales()  # (K, 2)
        d = x.unsqueeze(1) - self.means  # (N, K, 2)
        z0 = d[..., 0] / s[:, 0]
        z1 = (d[..., 1] - self.shears * z0) / s[:, 1]  # L = [[s0, 0], [shear, s1]]: solve L z = d
        log_n = -0.5 * (z0 ** 2 + z1 ** 2) - s.log().sum(1) - math.log(2 * math.pi)
        return torch.logsumexp(torch.log_softmax(self.logits, 0) + log_n, dim=1)

    @torch.no_grad()
    def sample(self, uniform: torch.Tensor, normal: torch.Tensor, temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """Points from given noise: `uniform` (N,) picks the component, `normal` (N, 2) the offset within it."""
        cdf = torch.softmax(self.logits.float(), 0).cumsum(0)
        k = torch.searchsorted(cdf, uniform.clamp(max=float(cdf[-1]) - 1e-7).contiguous())
        s, shear = self.scales()[k], self.shears[k]
        e = normal * temperature
        offset = torch.stack([s[:, 0] * e[:, 0], shear * e[:, 0] + s[:, 1] * e[:, 1]], 1)
        return self.means[k] + offset, k


def seeded_noise(seeds: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """One uniform and two standard normal numbers per seed, each a function of its seed alone (splitmix64 and
    Box-Muller, vectorised): seed k gives the same point whatever else is generated with it."""
    with np.errstate(over="ignore"):
        base = np.asarray(seeds, dtype=np.uint64) * np.uint64(4)
        u = np.stack([_splitmix64(base + np.uint64(i)) for i in range(3)], 1)  # (N, 3) in (0, 1)
    r = np.sqrt(-2 * np.log(u[:, 1]))
    normal = np.stack([r * np.cos(2 * np.pi * u[:, 2]), r * np.sin(2 * np.pi * u[:, 2])], 1)
    return torch.from_numpy(u[:, 0]).float(), torch.from_numpy(normal).float()


def _splitmix64(x: np.ndarray) -> np.ndarray:
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


class PointsTrainable(Trainable):
    """The mixture in training: one Adam step on a minibatch's negative log-likelihood per train_step."""

    def __init__(self, cfg: TrainConfig, data: Any, device: torch.device, precision: str,
                 generator: torch.Generator) -> None:
        super().__init__(cfg, data, device, precision, generator)
        self.train_x = data.train.to(device)
        self.val_x = data.val.to(device)
        self.model = Mixture(cfg.components).to(device)
        with torch.no_grad():  # start each component on a training point (chosen by the run's seed)
            pick = torch.randint(len(data.train), (cfg.components,), generator=torch.Generator().manual_seed(cfg.seed))
            self.model.means.copy_(data.train[pick])
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        idx = torch.randint(len(self.train_x), (self.cfg.batch,), generator=self.generator).to(self.device)
        loss = -self.model.log_prob(self.train_x[idx]).mean()
        self.optimize(loss, self.opt)
        return {"nll": loss.detach()}

    def state(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(int_keys(state["opt"]))

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        if self.val_x.shape[0] == 0:
            return {}
        return {"val_loss": float(-self.model.log_prob(self.val_x).mean())}

    @torch.no_grad()
    def preview(self, path_stem: Path) -> list[Path]:
        u, e = seeded_noise(range(PREVIEW_POINTS))
        z, _ = self.model.sample(u.to(self.device), e.to(self.device))
        xy = z.cpu().double().numpy() * self.data.scale + np.asarray(self.data.mean)
        path = Path(path_stem).with_suffix(".png")
        scatter_png([("samples", xy)], self.data.bounds, path)
        return [path]


class PointsSampler:
    """A trained mixture: `generate(n, seed)` -> points (N, 2) in the data's units; point k comes from seed k."""

    def __init__(self, cfg: TrainConfig, resolved: dict[str, Any], state: dict[str, Any], device: torch.device) -> None:
        self.cfg = cfg
        self.device = device
        self.model = Mixture(cfg.components).to(device)
        self.model.load_state_dict(state["model"])
        self.model.eval().requires_grad_(False)
        self.mean = torch.tensor(resolved["mean"], dtype=torch.float64)
        self.scale = float(resolved["scale"])
        self.bounds = resolved["bounds"]

    def to_data(self, z: torch.Tensor) -> torch.Tensor:
        return z.cpu().double() * self.scale + self.mean

    def to_standard(self, xy: torch.Tensor) -> torch.Tensor:
        return ((xy.double() - self.mean) / self.scale).float().to(self.device)

    def sample(self, seeds: Sequence[int], temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """(points (N, 2) float64 in the data's units, the component of each)."""
        if not 1 <= len(seeds) <= MAX_POINTS:
            raise ConfigError(f"--n {len(seeds)} is out of range", f"ask for 1 to {MAX_POINTS:,} points")
        if min(seeds) < 0:
            raise ConfigError(f"seed {min(seeds)} is negative", "use seeds of 0 or more")
        if not 0 <= temperature <= 10:
            raise ConfigError(f"--temperature {temperature} is out of range",
                              "use a value in [0, 10]: 1 samples the mixture, 0 gives its centres")
        u, e = seeded_noise(seeds)
        z, k = self.model.sample(u.to(self.device), e.to(self.device), temperature)
        return self.to_data(z), k.cpu()

    def generate(self, n: int = 1000, seed: int = 0, seeds: Sequence[int] | None = None,
                 temperature: float = 1.0) -> torch.Tensor:
        """Points (N, 2) in the data's units: point k from seed `seed + k` (or seeds[k])."""
        seeds = list(seeds) if seeds is not None else list(range(seed, seed + n))
        return self.sample(seeds, temperature)[0]

    @torch.no_grad()
    def log_prob(self, xy: torch.Tensor) -> torch.Tensor:
        """log density of points given in the data's units, in nats per point of the standardised data."""
        return self.model.log_prob(self.to_standard(xy)).cpu()
