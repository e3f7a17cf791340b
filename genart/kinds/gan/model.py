"""The image GAN: networks, losses, EMA and the training step.

`mlp` is the original design kept faithfully; `dcgan` is a convolutional pair whose depth follows the
image size: it starts from (G) and ends at (D) `base_resolution(size)` (4x4 for powers of two, 6x6 for 24 and 48,
5x5 for 40, ...) and doubles or halves from there. G upsamples with `--upsample resize` (2x nearest-neighbour, then a
3x3 conv: no checkerboard, Odena et al. 2016) or `transposed` (the DCGAN original). Both archs can be
class-conditional (label embedding into G, projection in D). The losses are in genart.kinds.gan.losses.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import nn

from genart.core import distributed
from genart.core.checkpoints import int_keys
from genart.core.device import autocast
from genart.core.trainable import Trainable, fused_or_foreach
from genart.data.image_config import base_resolution
from genart.io.images import to_signed
from genart.kinds.gan.config import GANConfig
from genart.kinds.gan.losses import d_loss, g_loss, gradient_penalties
from genart.models.augment import diff_augment
from genart.models.ema import ema_decay, ema_update

AUGMENT_BELOW = 5000  # --augment auto adapts DiffAugment's strength for data sets smaller than this
ADA_TARGET = 0.6  # adaptive augmentation aims at E[sign(D(real))] = 0.6 (Karras et al. 2020)
ADA_IMAGES = 100_000  # images over which the augmentation probability can go from 0 to 1
CLASS_DIM = 32  # size of the class embedding fed to the conditional DCGAN generator
PENALTY_EVERY = 4  # r3gan: R1 and R2 every N steps, weighted N times (lazy regularisation; measured)
RESIZE_MODE = "nearest"  # --upsample resize: measured better than bilinear (photos at 64 px, benchmarks/photos.py)


# --- networks --------------------------------------------------------------------------------------

def keras_bn(n: int) -> nn.BatchNorm1d:
    """Keras' BatchNormalization(momentum=0.8): running = 0.8 * running + 0.2 * batch, eps 1e-3."""
    return nn.BatchNorm1d(n, momentum=0.2, eps=1e-3)


class MLPGenerator(nn.Module):
    """z(100) -> 128 -> 128 -> 1024 -> pixels, tanh; LeakyReLU(0.2) then BatchNorm(0.8) per hidden layer."""

    def __init__(self, z_dim: int, channels: int, size: int, num_classes: int = 0) -> None:
        super().__init__()
        self.shape = (channels, size, size)
        self.embed = nn.Embedding(num_classes, CLASS_DIM) if num_classes else None
        dims = [z_dim + (CLASS_DIM if num_classes else 0), 128, 128, 1024]
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            layers += [nn.Linear(a, b), nn.LeakyReLU(0.2), keras_bn(b)]
        layers += [nn.Linear(1024, math.prod(self.shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], 1)
        return self.net(z).view(-1, *self.shape)


class MLPDiscriminator(nn.Module):
    """pixels -> 1024 -> 1024 -> 1 logit; LeakyReLU(0.2) and BatchNorm(0.8); projection for classes."""

    def __init__(self, channels: int, size: int, num_classes: int = 0, norm: bool = True) -> None:
        super().__init__()
        pixels = channels * size * size
        bn = keras_bn if norm else lambda n: nn.Identity()  # no BatchNorm under gradient penalties (r3gan)
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(pixels, 1024), nn.LeakyReLU(0.2), bn(1024),
            nn.Linear(1024, 1024), nn.LeakyReLU(0.2), bn(1024))
        self.head = nn.Linear(1024, 1)
        self.embed = _projection(num_classes, 1024)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x)
        out = self.head(h).squeeze(1)
        if self.embed is not None and y is not None:
            out = out + (self.embed(y) * h).sum(1)
        return out


def _widths(size: int, width: int) -> dict[int, int]:
    """Channels at each resolution from the base (4 for powers of two) up to size/2: wide at low resolution, capped
    at 4*width."""
    res, out = base_resolution(size), {}
    while res < size:
        out[res] = min(width * 4, width * (size // 2) // res)
        res *= 2
    return out


def _up(cin: int, cout: int, upsample: str, bias: bool) -> list[nn.Module]:
    """Double the resolution: a 4x4 stride-2 transposed conv, or 2x nearest-neighbour then a 3x3 conv."""
    if upsample == "transposed":
        return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=bias)]
    return [nn.Upsample(scale_factor=2.0, mode=RESIZE_MODE), nn.Conv2d(cin, cout, 3, 1, 1, bias=bias)]


class DCGenerator(nn.Module):
    """z -> base x base -> (upsample, BN, ReLU) doubling to size -> tanh; one doubling per halving of size."""

    def __init__(self, z_dim: int, channels: int, size: int, width: int = 64, num_classes: int = 0,
                 upsample: str = "transposed") -> None:
        super().__init__()
        w = _widths(size, width)
        self.s0 = res = base_resolution(size)
        self.c0 = w[res]
        self.embed = nn.Embedding(num_classes, CLASS_DIM) if num_classes else None
        z_in = z_dim + (CLASS_DIM if num_classes else 0)
        cells = res * res * w[res]
        self.fc = nn.Sequential(nn.Linear(z_in, cells, bias=False), nn.BatchNorm1d(cells), nn.ReLU(True))
        layers: list[nn.Module] = []
        while res * 2 < size:
            layers += [*_up(w[res], w[res * 2], upsample, bias=False), nn.BatchNorm2d(w[res * 2]), nn.ReLU(True)]
            res *= 2
        layers += [*_up(w[res], channels, upsample, bias=True), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], 1)
        h = self.fc(z).view(z.shape[0], self.c0, self.s0, self.s0)
        return self.net(h)


class DCDiscriminator(nn.Module):
    """size -> (strided conv, BN, LeakyReLU) halving to base x base -> logit; projection for classes. Without
    BatchNorm (norm=False) for gradient penalties, which need each image's logit to depend on that image alone."""

    def __init__(self, channels: int, size: int, width: int = 64, num_classes: int = 0, norm: bool = True) -> None:
        super().__init__()
        w = _widths(size, width)
        s0, res = base_resolution(size), size // 2
        layers: list[nn.Module] = [nn.Conv2d(channels, w[res], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        while res > s0:
            layers += [nn.Conv2d(w[res], w[res // 2], 4, 2, 1, bias=not norm),
                       *([nn.BatchNorm2d(w[res // 2])] if norm else []), nn.LeakyReLU(0.2, True)]
            res //= 2
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(w[s0] * s0 * s0, 1)
        self.embed = _projection(num_classes, w[s0])

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x)
        out = self.head(h.flatten(1)).squeeze(1)
        if self.embed is not None and y is not None:
            out = out + (self.embed(y) * h.sum((2, 3))).sum(1)
        return out


def _projection(num_classes: int, dim: int) -> nn.Embedding | None:
    """Class embedding of a projection discriminator (Miyato & Koyama 2018), starting small."""
    if not num_classes:
        return None
    e = nn.Embedding(num_classes, dim)
    nn.init.normal_(e.weight, 0.0, 0.02)
    return e


def build_generator(cfg: GANConfig, channels: int, num_classes: int) -> nn.Module:
    if cfg.arch == "mlp":
        return MLPGenerator(cfg.z_dim, channels, cfg.size, num_classes)
    return DCGenerator(cfg.z_dim, channels, cfg.size, cfg.width, num_classes, cfg.upsample)


def build_discriminator(cfg: GANConfig, channels: int, num_classes: int) -> nn.Module:
    # R3GAN's discriminator has no normalisation: its penalties are per image; nor has a private one (--dp-epsilon):
    # BatchNorm would mix the images of a batch, and DP-SGD clips each image's gradient alone
    norm = cfg.loss != "r3gan" and cfg.dp_epsilon is None
    if cfg.arch == "mlp":
        return MLPDiscriminator(channels, cfg.size, num_classes, norm)
    return DCDiscriminator(channels, cfg.size, cfg.width, num_classes, norm)


def init_weights(m: nn.Module) -> None:
    """DCGAN initialisation: N(0, 0.02) for convolutions, N(1, 0.02) for BatchNorm scales."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def match_layout(opt: torch.optim.Optimizer) -> None:
    """Give loaded optimizer moments their parameters' memory layout (channels_last on CPU): checkpoints store them
    contiguous, and fused Adam pairs parameters and moments element by element in memory, so a mismatch mixes up
    their elements (measured: wrong updates after a resume, whenever a conv weight's two layouts differ)."""
    for p, st in opt.state.items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor) and v.shape == p.shape and v.stride() != p.stride():
                st[k] = torch.empty_like(p, dtype=v.dtype).copy_(v)


# --- training ---------------------------------------------------------------------------------------

class GANTrainable(Trainable):
    bf16_helps = True  # measured: see benchmarks/RESULTS.md
    supports_ddp = True

    def __init__(self, cfg: GANConfig, data: Any, device: torch.device, precision: str,
                 generator: torch.Generator) -> None:
        super().__init__(cfg, data, device, precision, generator)
        self.cfg: GANConfig = cfg
        self.num_classes = len(data.classes) if data.labels is not None else 0
        c = data.channels
        self.G = build_generator(cfg, c, self.num_classes).to(device)
        self.D = build_discriminator(cfg, c, self.num_classes).to(device)
        if cfg.arch == "dcgan":
            self.G.apply(init_weights)
            self.D.apply(init_weights)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        betas = (cfg.beta1, cfg.beta2)
        if cfg.arch == "dcgan" and device.type == "cpu":  # measured faster for convolutions on CPU (benchmarks/)
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
            self.G_ema.to(memory_format=torch.channels_last)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=betas, **fused_or_foreach(device))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=betas, **fused_or_foreach(device))
        part = distributed.shard(len(data))  # under torchrun each rank trains on its own share of the data
        self.images = data.images[part].to(device)
        self.labels = data.labels[part].to(device) if data.labels is not None else None
        # --dp-epsilon: DP-SGD on D, the only network that sees the data (each real image paired with one generated
        # image, their gradient clipped together); G learns only through the private D, so it is private too
        self.make_private([self.D], self.opt_d, len(self.images), protects="the training images (the discriminator "
                          "trains by DP-SGD; the generator sees only its outputs)")
        # the networks as trained: DDP-wrapped under torchrun (gradients averaged across ranks), else themselves
        self.G_train = distributed.wrap(self.G, device)
        self.D_train = distributed.wrap(self.D, device)
        # --compile: the networks as trained, compiled (checkpoints still save self.G and self.D, plain keys); D for
        # G's step is D itself (no DDP: D's weights get no gradients there), compiled too
        single = self.D_train is self.D  # one process: no DDP wrapper
        self.G_train = self.maybe_compile(self.G_train)
        if cfg.loss != "r3gan":  # r3gan's penalties differentiate D twice, which torch.compile cannot: D stays eager
            self.D_train = self.maybe_compile(self.D_train)
        self.D_for_g = self.D_train if single else self.maybe_compile(self.D)
        # augmentation probability: 1 with --augment on; adapted from 0 with auto on small data; 0 otherwise
        # (not under DP: adapting it to D's scores on real images would be a release of the data)
        self.adaptive = cfg.augment == "auto" and len(data) < AUGMENT_BELOW and self.privacy is None
        self.augment = cfg.augment == "on" or self.adaptive
        self.aug_p = torch.tensor(1.0 if cfg.augment == "on" else 0.0, device=device)
        self.penalties = torch.zeros(2, device=device)  # r3gan: R1 and R2 as last measured, for the log

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        idx = self.batch_indices(len(self.images))  # under DP: a Poisson sample, so its size varies
        x = to_signed(self.images[idx])
        return x, (self.labels[idx] if self.labels is not None else None)

    def _d(self, x: torch.Tensor, y: torch.Tensor | None, train_d: bool = True) -> torch.Tensor:
        if self.augment:
            keep = torch.rand(x.shape[0], 1, 1, 1, device=x.device) >= self.aug_p
            x = torch.where(keep, x, diff_augment(x))
        return (self.D_train if train_d else self.D_for_g)(x, y)

    def _adapt(self, d_real: torch.Tensor) -> None:
        """Raise the augmentation probability when D grows overconfident on real images, lower it otherwise."""
        with torch.no_grad():
            rt = distributed.all_mean(torch.sign(d_real).mean())  # one augmentation strength for all ranks
            step = self.cfg.batch / ADA_IMAGES
            self.aug_p.add_(torch.sign(rt - ADA_TARGET) * step).clamp_(0.0, 1.0)

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        real, y = self._batch()
        z = torch.randn(real.shape[0], cfg.z_dim, device=self.device)
        # under DP the generated images' classes are drawn, not copied from the real batch (G's step would leak them)
        yf = y if self.privacy is None or y is None else torch.randint(self.num_classes, y.shape, device=self.device)
        r3gan = cfg.loss == "r3gan"
        penalise = r3gan and step % PENALTY_EVERY == 0  # lazy regularisation (StyleGAN2): weight x PENALTY_EVERY
        with autocast(self.device, self.precision):
            fake = self.G_train(z, yf)
        real_in, fake_in = real.requires_grad_(penalise), fake.detach().requires_grad_(penalise)
        with autocast(self.device, self.precision):
            d_real = self._d(real_in, y).float()
            d_fake = self._d(fake_in, yf).float()
            loss_d = d_loss(cfg.loss, d_real, d_fake)
        total_d = loss_d
        if penalise:  # R1 on real images, R2 on generated ones, through D as trained (DDP-wrapped under torchrun)
            r1, r2 = gradient_penalties([d_real, d_fake], [real_in, fake_in])
            total_d = loss_d + (cfg.gamma / 2 * PENALTY_EVERY) * (r1 + r2)
            self.penalties = torch.stack([r1, r2]).detach()
        self.optimize(total_d, self.opt_d, update=False)  # fp16: one GradScaler, its scale updated after G's step

        self.D.requires_grad_(False)  # G's step needs gradients through D, not for D's weights
        with autocast(self.device, self.precision):
            g_fake = self._d(fake, yf, train_d=False).float()
            with torch.no_grad():  # the relativistic loss pairs them with real images, scored by D as it is now
                g_real = self._d(real.detach(), y, train_d=False).float() if r3gan else None
            loss_g = g_loss(cfg.loss, g_fake, g_real)
        self.optimize(loss_g, self.opt_g)
        self.D.requires_grad_(True)

        ema_update(self.G_ema, self.G, ema_decay(cfg.ema, step))
        if self.adaptive:
            self._adapt(d_real.detach() - d_fake.detach() if r3gan else d_real)
        with torch.no_grad():
            out = {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}
            if r3gan:  # D's logits mean something only in pairs: how often it ranks a real image above a generated one
                out["d_real_vs_fake"] = (d_real > d_fake).float().mean()
                out["r1"], out["r2"] = self.penalties[0].clone(), self.penalties[1].clone()  # as last measured
            else:
                out["d_real"], out["d_fake"] = torch.sigmoid(d_real).mean(), torch.sigmoid(d_fake).mean()
            if self.augment:
                out["aug_p"] = self.aug_p.clone()
            return out

    def state(self) -> dict[str, Any]:
        return {"G": self.G.state_dict(), "D": self.D.state_dict(), "G_ema": self.G_ema.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(), "aug_p": self.aug_p,
                **({"penalties": self.penalties} if self.cfg.loss == "r3gan" else {}), **self.amp_state(),
                **self.privacy_state()}

    def replicated(self) -> list[torch.Tensor]:
        """Weights, EMA weights and optimizer moments (BatchNorm statistics are per rank between steps)."""
        from genart.core.checkpoints import flatten_state

        nets = [p for m in (self.G, self.D, self.G_ema) for p in m.parameters()]
        moments, _ = flatten_state({"g": self.opt_g.state_dict()["state"], "d": self.opt_d.state_dict()["state"]})
        return nets + list(moments.values()) + [self.aug_p]

    def load_state(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.G_ema.load_state_dict(state["G_ema"])
        self.opt_g.load_state_dict(int_keys(state["opt_g"]))
        self.opt_d.load_state_dict(int_keys(state["opt_d"]))
        for opt in (self.opt_g, self.opt_d):
            match_layout(opt)
        if "aug_p" in state:
            self.aug_p.copy_(state["aug_p"])
        if "penalties" in state:
            self.penalties = state["penalties"].to(self.device).clone()
        self.load_amp_state(state)
        self.load_privacy_state(state)

    def preview(self, path_stem: Any) -> list[Any]:
        from genart.io.images import save_grid
        from genart.models.latent import seed_latents

        z, y = seed_latents(list(range(64)), self.cfg.z_dim, None, self.num_classes)
        with torch.no_grad():
            imgs = self.G_ema(z.to(self.device), y.to(self.device) if self.num_classes else None)
        path = path_stem.with_suffix(".png")
        save_grid(imgs.float().cpu(), path)
        return [path]


class GANSampler:
    """A trained generator (the EMA copy by default) that turns seeds into images."""

    def __init__(self, cfg: GANConfig, resolved: dict[str, Any], state: dict[str, Any],
                 device: torch.device, use_ema: bool = True) -> None:
        self.cfg = cfg
        self.classes: list[str] = resolved.get("classes", [])
        self.num_classes = len(self.classes)
        self.G = build_generator(cfg, resolved["channels"], self.num_classes).to(device)
        self.G.load_state_dict(state["G_ema" if use_ema else "G"])
        self.G.eval().requires_grad_(False)
        self.device = device
        self.z_dim = cfg.z_dim

    @torch.inference_mode()
    def first_layer(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The generator's first hidden layer for latents z and labels y (N, A): where directions are found."""
        G = self.G
        head = G.fc if hasattr(G, "fc") else G.net[:3]
        if getattr(G, "embed", None) is not None:
            z = torch.cat([z, G.embed(y)], 1)
        return head(z)

    def render(self, z: torch.Tensor, labels: torch.Tensor | None = None, batch: int = 256) -> torch.Tensor:
        """Latents (N, z_dim) and class labels to images in [-1, 1], (N, C, H, W), on the CPU."""
        out = []
        for i in range(0, z.shape[0], batch):
            y = labels[i:i + batch].to(self.device) if self.num_classes and labels is not None else None
            out.append(self.G(z[i:i + batch].to(self.device), y).float().cpu())
        return torch.cat(out)
