"""The image VAE (Kingma & Welling 2014): networks, likelihoods, the training step and the sampler.

A convolutional encoder q(z|x) gives a mean and a log-variance, z = mu + sigma * eps (the reparameterisation
trick), and a decoder p(x|z) maps z back to pixels. Both halve or double the resolution per layer between the base
resolution (`base_resolution(size)`: 4x4 for powers of two, 6x6 for 24 and 48, 5x5 for 40, ...) and the image size,
so their depth follows `--size`. The VAE is unconditional.

Reconstruction likelihoods (`--recon`; `auto` gives bernoulli for grey data and gaussian for colour):

- `bernoulli`: each intensity in [0, 1] is the mean of a Bernoulli pixel; the decoder gives logits. Its nats are
  the cross-entropy of the intensities, reported as they are: not a normalised likelihood of 8-bit images, so its
  bits per dimension compare runs with one another, not with published figures.
- `gaussian`: N(x; mu, sigma_c) on [-1, 1]; `l1`: Laplace(x; mu, b_c), the L1 loss as a likelihood. Each channel's
  scale is set to its optimum on every training batch (sigma^2 = the channel's mean squared error, b = its mean
  absolute error: the calibrated decoder of Rybkin et al. 2021), floored at 1/255; an EMA of it is kept for held-out
  evaluation. A density becomes the probability of an 8-bit value times the bin width 2/255 (+log 127.5 nats per
  dimension); with the floor this never exceeds 1, so the figures are discrete negative log-likelihoods (ELBO
  bounds) in nats per image, comparable with other 8-bit models.

Held-out evaluation: the negative ELBO (KL analytic; one z per image from fixed noise, so it is deterministic;
beta 1, no free bits) in nats per image and bits per dimension (nats / (channels x pixels x ln 2)).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genart.core import distributed
from genart.core.checkpoints import int_keys
from genart.core.device import autocast
from genart.core.errors import ConfigError, DataError
from genart.core.trainable import Trainable, fused_or_foreach
from genart.data.image_config import base_resolution
from genart.data.user_images import ImagesLike, image_files, pil_image, read_image
from genart.io.images import stack_pairs, to_signed
from genart.kinds.vae.config import VAEConfig

LOG_BIN = math.log(127.5)  # -log of an 8-bit step (2/255) on [-1, 1]
MIN_SCALE = 1 / 255  # floor of the gaussian / laplace scale: half an 8-bit step
ACTIVE = 0.01  # a latent unit is active when Cov_x(E_q[z_i]) exceeds this (Burda et al. 2016)
SCALE_EMA = 0.99  # decay of the EMA of the calibrated scale used by evaluation
EVAL_SEED = 7919  # the fixed noise of held-out evaluation: cfg.seed + this
EVAL_BATCH = 256
DP_SCALE = 0.1  # under DP the gaussian / l1 scale is fixed (calibrating it on the batch mixes the images' losses)


# --- networks --------------------------------------------------------------------------------------

def widths(size: int, width: int) -> dict[int, int]:
    """Channels at each resolution from size/2 down to the base: narrow at high resolution, capped at 8 * width."""
    out, res, s0 = {}, size // 2, base_resolution(size)
    while res >= s0:
        out[res] = min(width * 8, width * (size // 2) // res)
        res //= 2
    return out


class Encoder(nn.Module):
    """x (C, size, size) in [-1, 1] -> (strided conv, LeakyReLU) halving to the base -> mean and log-variance of z."""

    def __init__(self, channels: int, size: int, latent: int, width: int = 32) -> None:
        super().__init__()
        w = widths(size, width)
        s0, res = base_resolution(size), size // 2
        layers: list[nn.Module] = [nn.Conv2d(channels, w[res], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        while res > s0:
            layers += [nn.Conv2d(w[res], w[res // 2], 4, 2, 1), nn.LeakyReLU(0.2, True)]
            res //= 2
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(s0 * s0 * w[s0], 2 * latent)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.body(x).flatten(1)).chunk(2, dim=1)
        return mu, logvar


class Decoder(nn.Module):
    """z -> base x base -> (transposed conv, LeakyReLU) doubling to size -> logits (bernoulli) or means."""

    def __init__(self, channels: int, size: int, latent: int, width: int = 32) -> None:
        super().__init__()
        w = widths(size, width)
        self.s0 = res = base_resolution(size)
        self.c0 = w[res]
        self.fc = nn.Sequential(nn.Linear(latent, res * res * w[res]), nn.LeakyReLU(0.2, True))
        layers: list[nn.Module] = []
        while res * 2 < size:
            layers += [nn.ConvTranspose2d(w[res], w[res * 2], 4, 2, 1), nn.LeakyReLU(0.2, True)]
            res *= 2
        layers.append(nn.ConvTranspose2d(w[res], channels, 4, 2, 1))
        self.net = nn.Sequential(*layers)
        # log of the per-channel scale of the gaussian / laplace likelihood (an EMA of its calibrated value)
        self.register_buffer("log_scale", torch.zeros(channels))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).view(z.shape[0], self.c0, self.s0, self.s0))


def build_networks(cfg: VAEConfig, channels: int) -> tuple[Encoder, Decoder]:
    return (Encoder(channels, cfg.size, cfg.latent, cfg.width), Decoder(channels, cfg.size, cfg.latent, cfg.width))


# --- likelihoods -----------------------------------------------------------------------------------

def recon_kind(recon: str, channels: int) -> str:
    """`--recon auto` resolved: bernoulli for grey images, gaussian for colour."""
    if recon != "auto":
        return recon
    return "bernoulli" if channels == 1 else "gaussian"


def to_image(kind: str, out: torch.Tensor) -> torch.Tensor:
    """Decoder output -> the mean image in [-1, 1]."""
    out = out.float()
    return torch.sigmoid(out).mul(2).sub_(1) if kind == "bernoulli" else out.clamp(-1.0, 1.0)


def calibrated_log_scale(kind: str, mean: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The per-channel scale that maximises the likelihood of x under mean (log, floored at MIN_SCALE), (C,)."""
    err = (x - mean).float()
    if kind == "gaussian":
        return err.pow(2).mean((0, 2, 3)).clamp_min(MIN_SCALE ** 2).log().mul(0.5)
    return err.abs().mean((0, 2, 3)).clamp_min(MIN_SCALE).log()


def recon_nll(kind: str, out: torch.Tensor, x: torch.Tensor, log_scale: torch.Tensor | None = None) -> torch.Tensor:
    """-log p(x|z) in nats per image, (N,). x in [-1, 1]; out: decoder logits (bernoulli) or means."""
    out, x = out.float(), x.float()
    if kind == "bernoulli":
        nll = F.binary_cross_entropy_with_logits(out, (x + 1) * 0.5, reduction="none")
    else:
        assert log_scale is not None
        ls = log_scale.float().clamp_min(math.log(MIN_SCALE)).view(1, -1, 1, 1)
        if kind == "gaussian":
            nll = 0.5 * ((x - out) * torch.exp(-ls)).pow(2) + ls + (0.5 * math.log(2 * math.pi) + LOG_BIN)
        else:
            nll = (x - out).abs() * torch.exp(-ls) + ls + (math.log(2.0) + LOG_BIN)
    return nll.flatten(1).sum(1)


def kl_per_unit(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per image and latent unit, (N, latent)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def active_units(mu: torch.Tensor) -> torch.Tensor:
    """How many latent units have Cov_x(E_q[z_i]) > 0.01 over the rows of mu, as a float tensor (no sync)."""
    return (mu.float().var(0, correction=0) > ACTIVE).sum().float()


def split_indices(n: int, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded, deterministic split of n images into (train, held-out) index tensors, sorted."""
    n_val = min(n - 1, int(n * fraction + 0.5)) if fraction > 0 else 0
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed) + 104729))
    return perm[n_val:].sort().values, perm[:n_val].sort().values


@torch.no_grad()
def elbo_terms(posterior: Any, decode: Any, recon: str, log_scale: torch.Tensor, images: torch.Tensor, seed: int,
               device: torch.device, batch: int = 0) -> tuple[float, float, torch.Tensor]:
    """Summed reconstruction NLL and KL (nats) of uint8 images, and their posterior means: one z per image from fixed
    noise (seeded by the run's seed), as training's held-out evaluation and `genart evaluate` both measure it.
    `posterior(x) -> (mu, logvar)` and `decode(z) -> output` in float."""
    g = torch.Generator().manual_seed(seed + EVAL_SEED)
    rec_sum, kl_sum, mus = torch.zeros((), device=device), torch.zeros((), device=device), []
    step = batch or EVAL_BATCH
    for i in range(0, images.shape[0], step):
        x = to_signed(images[i:i + step]).to(device)
        mu, logvar = posterior(x)
        eps = torch.randn(mu.shape, generator=g).to(device)
        out = decode(mu + eps * torch.exp(0.5 * logvar))
        rec_sum += recon_nll(recon, out, x, log_scale).sum()
        kl_sum += kl_per_unit(mu, logvar).sum()
        mus.append(mu)
    return float(rec_sum), float(kl_sum), torch.cat(mus)


# --- training ---------------------------------------------------------------------------------------

class VAETrainable(Trainable):
    # measured (benchmarks/bench_vae.py, AVX512-BF16 CPU): bf16 autocast trains 1.3-1.5x faster at 32x32, and the
    # held-out ELBO after the same steps matches fp32's; the losses are computed in fp32 either way
    bf16_helps = True
    supports_ddp = True

    def __init__(self, cfg: VAEConfig, data: Any, device: torch.device, precision: str,
                 generator: torch.Generator) -> None:
        super().__init__(cfg, data, device, precision, generator)
        self.cfg: VAEConfig = cfg
        self.channels = data.channels
        self.recon = recon_kind(cfg.recon, self.channels)
        self.enc, self.dec = (m.to(device) for m in build_networks(cfg, self.channels))
        params = [*self.enc.parameters(), *self.dec.parameters()]
        self.opt = torch.optim.Adam(params, lr=cfg.lr, **fused_or_foreach(device))
        self.train_index, self.val_index = split_indices(len(data), cfg.val_split, cfg.seed)
        # the held-out images are never trained on; under torchrun each rank trains on its share of the rest
        self.images = data.images[self.train_index[distributed.shard(len(self.train_index))]].to(device)
        self.val_images = data.images[self.val_index].to(device)
        # --dp-epsilon: DP-SGD on the training split (each image's loss depends on that image alone: a fixed scale for
        # gaussian / l1, free bits per image); the held-out images only pick the best checkpoint
        if self.make_private([self.enc, self.dec], self.opt, len(self.images)) and self.recon != "bernoulli":
            self.dec.log_scale.fill_(math.log(DP_SCALE))
        self.dims = self.channels * cfg.size * cfg.size
        # the networks as trained: DDP-wrapped under torchrun (gradients averaged across ranks), else themselves
        self.enc_train = distributed.wrap(self.enc, device)
        self.dec_train = distributed.wrap(self.dec, device)
        self.enc_train = self.maybe_compile(self.enc_train)  # --compile (checkpoints save self.enc/self.dec: plain keys)
        self.dec_train = self.maybe_compile(self.dec_train)

    def _posterior(self, x: torch.Tensor, train: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        with autocast(self.device, self.precision):
            mu, logvar = (self.enc_train if train else self.enc)(x)
        return mu.float(), logvar.float().clamp(-30.0, 20.0)

    def _decode(self, z: torch.Tensor, train: bool = False) -> torch.Tensor:
        with autocast(self.device, self.precision):
            out = (self.dec_train if train else self.dec)(z)
        return out.float()

    def kl_weight(self, step: int) -> float:
        """beta, ramped up linearly over the first --kl-warmup steps."""
        if self.cfg.kl_warmup <= 0:
            return self.cfg.beta
        return self.cfg.beta * min(1.0, (step + 1) / self.cfg.kl_warmup)

    def train_step(self, step: int) -> dict[str, torch.Tensor]:
        x = to_signed(self.images[self.batch_indices(len(self.images))])
        mu, logvar = self._posterior(x, train=True)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        out = self._decode(z, train=True)
        log_scale = None
        if self.privacy is not None:
            log_scale = self.dec.log_scale  # fixed under DP
        elif self.recon != "bernoulli":
            with torch.no_grad():  # one scale for all ranks: the mean of theirs
                log_scale = distributed.all_mean(calibrated_log_scale(self.recon, out, x))
                self.dec.log_scale.lerp_(log_scale, 1.0 - min(SCALE_EMA, (1 + step) / (10 + step)))
        recon = recon_nll(self.recon, out, x, log_scale).mean()
        kl_units = kl_per_unit(mu, logvar)
        kl = kl_units.sum(1).mean()
        kl_term = kl_units.mean(0).clamp_min(self.cfg.free_bits).sum() if self.cfg.free_bits > 0 else kl
        if self.cfg.free_bits > 0 and self.privacy is not None:  # per image under DP: no mixing across the batch
            kl_term = kl_units.clamp_min(self.cfg.free_bits).sum(1).mean()
        weight = self.kl_weight(step)
        loss = recon + weight * kl_term
        self.optimize(loss, self.opt)  # zero_grad, backward, step (fp16: with the GradScaler)
        with torch.no_grad():
            logged = {"loss": loss.detach(), "recon": recon.detach(), "kl": kl.detach(), "active": active_units(mu)}
            if self.cfg.kl_warmup > 0:
                logged["kl_weight"] = torch.tensor(weight)
            return logged

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """The held-out negative ELBO in nats per image and bits per dimension (best checkpoint by val_loss)."""
        n = len(self.val_images)
        if not n:
            return {}
        rec, kl, mu = elbo_terms(self._posterior, self._decode, self.recon, self.dec.log_scale, self.val_images,
                                 self.cfg.seed, self.device)
        nelbo = (rec + kl) / n
        return {"val_loss": nelbo, "val_bpd": nelbo / (self.dims * math.log(2)), "val_recon": rec / n,
                "val_kl": kl / n, "val_active": float(active_units(mu))}

    def state(self) -> dict[str, Any]:
        return {"enc": self.enc.state_dict(), "dec": self.dec.state_dict(), "opt": self.opt.state_dict(),
                **self.amp_state(), **self.privacy_state()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.enc.load_state_dict(state["enc"])
        self.dec.load_state_dict(state["dec"])
        self.opt.load_state_dict(int_keys(state["opt"]))
        self.load_amp_state(state)
        self.load_privacy_state(state)

    @torch.no_grad()
    def preview(self, path_stem: Path) -> list[Path]:
        """32 prior samples (seeds 0-31), then held-out images above their reconstructions."""
        from genart.io.images import save_grid
        from genart.models.latent import seed_latents

        z, _ = seed_latents(list(range(32)), self.cfg.latent)
        samples = to_image(self.recon, self._decode(z.to(self.device)))
        source = self.val_images if len(self.val_images) else self.images
        x = to_signed(source[:16])
        recons = to_image(self.recon, self._decode(self._posterior(x)[0]))
        path = Path(path_stem).with_suffix(".png")
        save_grid(torch.cat([samples, stack_pairs(x, recons, 8)]).cpu(), path, nrow=8)
        return [path]


# --- sampling -----------------------------------------------------------------------------------------

class VAESampler:
    """A trained VAE: the decoder turns latents into images (prior samples, morphs); the encoder turns images into
    latents (the posterior means). Images go in as files, a folder, PIL images, or tensors (N, C, H, W): uint8
    pixels, or floats in [-1, 1] as `render` gives them; they come out as floats in [-1, 1] on the CPU."""

    def __init__(self, cfg: VAEConfig, resolved: dict[str, Any], state: dict[str, Any], device: torch.device) -> None:
        self.cfg = cfg
        self.channels = int(resolved["channels"])
        self.size = cfg.size
        self.recon = recon_kind(cfg.recon, self.channels)
        self.enc, self.dec = build_networks(cfg, self.channels)
        self.enc.load_state_dict(state["enc"])
        self.dec.load_state_dict(state["dec"])
        self.enc.to(device).eval().requires_grad_(False)
        self.dec.to(device).eval().requires_grad_(False)
        self.device = device
        self.z_dim = cfg.latent
        self.classes: list[str] = []  # unconditional
        self.num_classes = 0

    # images in

    def prepare(self, images: ImagesLike) -> tuple[torch.Tensor, list[str]]:
        """Images as a float tensor (N, C, size, size) in [-1, 1], and their names (file names, else numbers)."""
        if isinstance(images, (torch.Tensor, np.ndarray)):
            x = torch.as_tensor(images)
            if x.dim() == 3:
                x = x.unsqueeze(0)
            want = (self.channels, self.size, self.size)
            if x.dim() != 4 or tuple(x.shape[1:]) != want:
                raise ConfigError(f"images of shape {tuple(x.shape)} do not match this run's (N, {want[0]}, {want[1]}, "
                                  f"{want[2]})", "pass image files or PIL images (they are fitted to the run's size)")
            x = to_signed(x) if x.dtype == torch.uint8 else x.float()
            return x, [str(i) for i in range(x.shape[0])]
        if isinstance(images, (str, Path)):
            images = [images]
        arrays, names = [], []
        for i, item in enumerate(images):
            if isinstance(item, (str, Path)):
                for path, name in image_files([item]):
                    arrays.append(read_image(path, self.size, self.cfg.fit, self.channels))
                    names.append(name)
            elif hasattr(item, "getbands"):  # a PIL image
                arrays.append(pil_image(item, self.size, self.cfg.fit, self.channels))
                names.append(str(i))
            else:
                raise ConfigError(f"cannot encode a {type(item).__name__}",
                                  "pass file paths, a folder, PIL images or an image tensor")
        if not arrays:
            raise DataError("no images to encode", "give at least one image")
        return to_signed(torch.from_numpy(np.stack(arrays))), names

    # the two halves

    @torch.inference_mode()
    def encode(self, images: ImagesLike, sample: bool = False, seed: int = 0, batch: int = 256) -> torch.Tensor:
        """Latent codes (N, z_dim): the posterior means, or with `sample` draws from q(z|x) (seeded)."""
        x, _ = self.prepare(images)
        g = torch.Generator().manual_seed(seed)
        out = []
        for i in range(0, x.shape[0], batch):
            mu, logvar = self.enc(x[i:i + batch].to(self.device))
            mu = mu.float()
            if sample:
                eps = torch.randn(mu.shape, generator=g).to(self.device)
                mu = mu + eps * torch.exp(0.5 * logvar.float().clamp(-30.0, 20.0))
            out.append(mu.cpu())
        return torch.cat(out)

    @torch.inference_mode()
    def first_layer(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The decoder's first layer for latents z (N, A): directions when the training data is gone."""
        return self.dec.fc(z)

    def render(self, z: torch.Tensor, labels: torch.Tensor | None = None, batch: int = 256) -> torch.Tensor:
        """Latents (N, z_dim) to the decoder's mean images in [-1, 1], (N, C, H, W), on the CPU."""
        z = torch.as_tensor(z, dtype=torch.float32)
        if z.dim() == 1:
            z = z.unsqueeze(0)
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ConfigError(f"latents of shape {tuple(z.shape)} do not match this run's latent size {self.z_dim}",
                              "decode codes made by `encode` with this run")
        out = [to_image(self.recon, self.dec(z[i:i + batch].to(self.device))).cpu() for i in range(0, z.shape[0], batch)]
        return torch.cat(out)

    def decode(self, z: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Latent codes (N, z_dim) to images in [-1, 1], (N, C, H, W)."""
        return self.render(torch.as_tensor(z))

    def reconstruct(self, images: ImagesLike) -> torch.Tensor:
        """decode(encode(images)): the images as the model sees them, (N, C, H, W) in [-1, 1]."""
        return self.render(self.encode(images))

    def morph(self, a: Any, b: Any, frames: int = 48, loop: bool = False) -> torch.Tensor:
        """Frames (T, C, H, W) of a spherical interpolation from image a to image b (and back with `loop`):
        the first frame is a's reconstruction and, without loop, the last is b's."""
        from genart.models.latent import walk

        za, zb = self.encode([a] if not isinstance(a, torch.Tensor) else a), self.encode(
            [b] if not isinstance(b, torch.Tensor) else b)
        if za.shape[0] != 1 or zb.shape[0] != 1:
            raise ConfigError("a morph goes from one image to one other", "give one image for each end")
        path = walk(torch.cat([za, zb]), frames, loop)
        path[0] = za[0]
        if not loop:
            path[-1] = zb[0]
        return self.render(path)
