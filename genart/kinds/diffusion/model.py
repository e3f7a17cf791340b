"""The diffusion kind: training (one step of the one loop) and sampling (seeds -> noise -> images).

Training: images x0 in [-1, 1], noise eps, times t from the path; the UNet learns the path's target at x_t. Labels
are dropped with probability --class-drop (the "no class" embedding), so one network gives conditional and
unconditional predictions and classifier-free guidance (Ho & Salimans 2022) mixes them when sampling.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F

from genart.core import distributed
from genart.core.checkpoints import int_keys
from genart.core.device import autocast
from genart.core.errors import ConfigError
from genart.core.trainable import Trainable, fused_or_foreach
from genart.io.images import to_signed
from genart.kinds.diffusion.config import DiffusionConfig
from genart.kinds.diffusion.paths import Path
from genart.kinds.diffusion.samplers import SAMPLERS, sample
from genart.kinds.diffusion.unet import UNet
from genart.models.ema import ema_decay, ema_update

WARMUP = 100  # steps of linear learning-rate warm-up
PREVIEW = 64  # images in each preview grid


def build_unet(cfg: DiffusionConfig, channels: int, num_classes: int) -> UNet:
    return UNet(channels, cfg.size, cfg.width, num_classes, cfg.patch)


class DiffusionTrainable(Trainable):
    bf16_helps = True  # bf16 autocast: 1.08 against 0.87 steps/s on a CPU with bf16 units (issue 13's measurement)
    supports_ddp = True

    def __init__(self, cfg: DiffusionConfig, data: Any, device: torch.device, precision: str,
                 generator: torch.Generator) -> None:
        super().__init__(cfg, data, device, precision, generator)
        self.cfg: DiffusionConfig = cfg
        self.num_classes = len(data.classes) if data.labels is not None else 0
        self.path = Path(cfg.objective)
        self.net = build_unet(cfg, data.channels, self.num_classes).to(device)
        self.ema = copy.deepcopy(self.net).eval().requires_grad_(False)
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=cfg.lr, weight_decay=0.0, **fused_or_foreach(device))
        part = distributed.shard(len(data))  # under torchrun each rank trains on its own share of the data
        self.images = data.images[part].to(device)
        self.labels = data.labels[part].to(device) if data.labels is not None else None
        # --dp-epsilon: DP-SGD on the UNet (GroupNorm: each image's loss depends on that image alone); the EMA copy
        # averages private weights, so it is private too
        self.make_private([self.net], self.opt, len(self.images))
        self.net_train = self.maybe_compile(distributed.wrap(self.net, device))

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        idx = self.batch_indices(len(self.images))  # under DP: a Poisson sample, so n varies
        n = idx.shape[0]
        x = to_signed(self.images[idx])
        if self.labels is None:
            return x, None
        y = self.labels[idx].clone()
        drop = torch.rand(n, generator=self.generator).to(self.device) < self.cfg.class_drop
        y[drop] = self.num_classes  # the "no class" row: the unconditional prediction
        return x, y

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        for group in self.opt.param_groups:
            group["lr"] = self.cfg.lr * min(1.0, (step + 1) / WARMUP)
        x0, y = self._batch()
        eps = torch.randn(x0.shape, generator=self.generator).to(self.device)
        t = self.path.sample_t(x0.shape[0], self.generator, self.device)
        xt, target = self.path.noised(x0, eps, t)
        with autocast(self.device, self.precision):
            out = self.net_train(xt, t, y)
        loss = F.mse_loss(out.float(), target)
        norm = self.optimize(loss, self.opt, clip=1.0)
        if self.cfg.ema > 0:
            ema_update(self.ema, self.net, ema_decay(self.cfg.ema, step))
        else:
            self.ema.load_state_dict(self.net.state_dict())
        out_ = {"loss": loss.detach()}
        if norm is not None:
            out_["grad_norm"] = norm.detach()
        return out_

    def state(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "ema": self.ema.state_dict(), "opt": self.opt.state_dict(),
                **self.amp_state(), **self.privacy_state()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.ema.load_state_dict(state["ema"])
        self.opt.load_state_dict(int_keys(state["opt"]))
        self.load_amp_state(state)
        self.load_privacy_state(state)

    def preview(self, path_stem: Any) -> list[Any]:
        from genart.io.images import save_grid
        from genart.models.latent import seed_latents

        sampler = DiffusionSampler.from_network(self.cfg, self.ema, self.num_classes, self.device)
        z, y = seed_latents(list(range(PREVIEW)), sampler.z_dim, None, self.num_classes)
        path = path_stem.with_suffix(".png")
        save_grid(sampler.render(z, y), path)
        return [path]


class DiffusionSampler:
    """A trained UNet (the EMA weights by default) and an ODE solver: seeds' noise -> images.

    Settings (steps, sampler, guidance) start at the run's defaults; `configure` changes them."""

    def __init__(self, cfg: DiffusionConfig, resolved: dict[str, Any], state: dict[str, Any],
                 device: torch.device, use_ema: bool = True) -> None:
        self.classes: list[str] = resolved.get("classes", [])
        net = build_unet(cfg, resolved["channels"], len(self.classes)).to(device)
        net.load_state_dict(state["ema" if use_ema else "net"])
        self._setup(cfg, net.eval().requires_grad_(False), resolved["channels"], device)

    @classmethod
    def from_network(cls, cfg: DiffusionConfig, net: UNet, num_classes: int, device: torch.device) -> DiffusionSampler:
        self = cls.__new__(cls)
        self.classes = [str(i) for i in range(num_classes)]
        self._setup(cfg, net, net.stem.in_channels // (net.patch * net.patch), device)
        return self

    def _setup(self, cfg: DiffusionConfig, net: UNet, channels: int, device: torch.device) -> None:
        self.cfg, self.net, self.device = cfg, net, device
        self.num_classes = len(self.classes)
        self.shape = (channels, cfg.size, cfg.size)
        self.z_dim = channels * cfg.size * cfg.size
        self.path = Path(cfg.objective)
        self.steps, self.method, self.guidance = cfg.sample_steps, cfg.sampler, cfg.guidance

    def configure(self, steps: int | None = None, method: str | None = None, guidance: float | None = None) -> None:
        """Change the sampling settings (None keeps one); refuses values out of range with a one-line error."""
        from genart.kinds.diffusion.config import MAX_SAMPLE_STEPS

        if steps is not None:
            if not 1 <= steps <= MAX_SAMPLE_STEPS:
                raise ConfigError(f"--sample-steps {steps} is out of range", f"use 1 to {MAX_SAMPLE_STEPS}; 10 suits most runs")
            self.steps = int(steps)
        if method is not None:
            if method not in SAMPLERS:
                raise ConfigError(f"--sampler {method!r} is not one of {', '.join(SAMPLERS)}", "dpm suits most runs")
            self.method = method
        if guidance is not None:
            if not 0 <= guidance <= 20:
                raise ConfigError(f"--guidance {guidance} is out of range", "use 0 to 20; 1 to 3 suits most runs")
            self.guidance = float(guidance)

    def settings(self) -> dict[str, Any]:
        return {"sample_steps": self.steps, "sampler": self.method,
                **({"guidance": self.guidance} if self.num_classes else {})}

    def _denoiser(self, y: torch.Tensor | None) -> Any:
        guided = self.num_classes and y is not None and self.guidance != 1.0
        null = torch.full_like(y, self.num_classes) if guided else None

        @torch.inference_mode()
        def denoise(x: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
            tt = torch.full((x.shape[0],), t, device=x.device)
            if guided:
                both = self.net(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([y, null])).float()
                cond, uncond = both.chunk(2)
                out = uncond + self.guidance * (cond - uncond)
            else:
                out = self.net(x, tt, y).float()
            return self.path.split(x, out, tt)

        return denoise

    def _labels(self, labels: torch.Tensor | None, n: int) -> torch.Tensor | None:
        if not self.num_classes:
            return None
        if labels is None or (labels < 0).any():  # no class asked: each seed's own (seed_latents draws one)
            return torch.randint(self.num_classes, (n,)) if labels is None else labels.clamp_min(0)
        return labels

    @torch.inference_mode()
    def first_layer(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Features where latent directions are found (genart.controls): a 2-step sketch of each image, pooled to 8x8.
        (The noise itself is isotropic; what the network makes of it early on is where its structure shows.)"""
        steps, method = self.steps, self.method
        self.steps, self.method = 2, "euler"
        try:
            sketch = self.render(z, y if self.num_classes else None, batch=256)
        finally:
            self.steps, self.method = steps, method
        return F.adaptive_avg_pool2d(sketch, 8).flatten(1)

    def render(self, z: torch.Tensor, labels: torch.Tensor | None = None, batch: int = 64) -> torch.Tensor:
        """Noise (N, z_dim) (one row per seed) and class labels -> images in [-1, 1], (N, C, H, W), on the CPU."""
        return self.repaint(None, z, labels, batch=batch)

    def repaint(self, images: torch.Tensor | None, z: torch.Tensor, labels: torch.Tensor | None = None,
                strength: float = 1.0, mask: torch.Tensor | None = None, batch: int = 64) -> torch.Tensor:
        """Image-to-image (images in [-1, 1] noised to t = strength, then denoised) or, with a mask (N or 1, 1, H,
        W; 1 where pixels are regenerated), inpainting. images None: plain sampling."""
        y_all = self._labels(labels, z.shape[0])
        out = []
        for i in range(0, z.shape[0], batch):
            noise = z[i:i + batch].to(self.device).float().view(-1, *self.shape)
            y = y_all[i:i + batch].to(self.device) if y_all is not None else None
            init = images[i:i + batch].to(self.device).float() if images is not None else None
            m = None
            if mask is not None:
                m = mask.to(self.device).float()
                m = m[i:i + batch] if m.shape[0] > 1 else m
            x = sample(self.path, self._denoiser(y), noise, self.steps, self.method, init, strength, m)
            out.append(x.clamp(-1, 1).cpu())
        return torch.cat(out)
