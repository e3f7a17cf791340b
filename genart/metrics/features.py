"""The feature network that image distances are measured in, trained by genart itself, offline.

Fréchet distance, KID and precision/recall compare images in the feature space of a network. The classic choice,
Inception v3 trained on ImageNet, would have to be downloaded; genart instead trains a small convolutional
denoising autoencoder on the run's own training images (a few seconds to a minute on a CPU) and caches it in the
run as `eval/features.safetensors`, with its provenance in `eval/features.json`.

Architecture `genart-features-v1`:

- Input: RGB in [-1, 1] at the network's `size` (16, 32 or 64). Images of any size are resized to it (bilinear,
  antialiased); grey images are repeated to three channels; RGBA images are composited over white.
- Encoder: `depth` stride-2 4x4 convolutions with LeakyReLU(0.2) from `size` down to 4x4, widths `width`,
  2 `width`, 4 `width`, ... (capped at 8 `width`), then a linear layer to a `code`-dimensional bottleneck.
- Features: the bottleneck concatenated with the mean and the standard deviation over the image of every
  convolution's activations (colour, texture and sharpness statistics that the bottleneck alone would drop; noise
  stands out in them), centred on their mean over the training images, and each block (the bottleneck, the means
  of one layer, the standard deviations of one layer) scaled to unit variance per dimension on average over the
  training images (kept in the file), so that no block dominates and no dimension with a tiny spread does either.
- Training: a denoising autoencoder (Gaussian noise 0.1 and random shifts of up to 2 pixels, so the features are
  robust to tiny perturbations), Adam with a one-cycle schedule, batch 64.

Distances are only comparable within one feature network: pass the same file (`--features`) to compare runs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genart.core.errors import GenartError
from genart.core.files import atomic_path, file_hash
from genart.core.version import __version__

ARCH = "genart-features-v1"
FILE = "features.safetensors"
DEFAULT_STEPS = 600
BATCH = 64
NOISE = 0.1  # std of the denoising noise, on [-1, 1]
SHIFT = 2  # random shifts of up to this many pixels


class FeatureError(GenartError):
    """A feature network file cannot be used."""


def feature_size(image_size: int) -> int:
    """The input size of a feature network for images of `image_size`: the smallest of 16, 32 and 64 that is at
    least the image size (28 -> 32, 40 -> 64), 64 for larger images."""
    return next((s for s in (16, 32, 64) if s >= int(image_size)), 64)


class FeatureNet(nn.Module):
    """The encoder of `genart-features-v1` (see the module docstring) and, for training, its decoder."""

    def __init__(self, size: int = 32, width: int = 16, code: int = 64, decoder: bool = True) -> None:
        super().__init__()
        if size not in (16, 32, 64):
            raise FeatureError(f"a feature network of input size {size} is not supported", "use 16, 32 or 64")
        self.size, self.width, self.code = size, width, code
        self.depth = int(math.log2(size // 4))
        chans = [3] + [min(width * 2 ** i, width * 8) for i in range(self.depth)]
        self.convs = nn.ModuleList(nn.Conv2d(chans[i], chans[i + 1], 4, 2, 1) for i in range(self.depth))
        self.fc = nn.Linear(chans[-1] * 16, code)
        self.dims = code + 2 * sum(chans[1:])
        self.register_buffer("mean", torch.zeros(self.dims))
        self.register_buffer("std", torch.ones(self.dims))
        self.decoder: nn.Module | None = None
        if decoder:
            layers: list[nn.Module] = [nn.Linear(code, chans[-1] * 16), nn.LeakyReLU(0.2), nn.Unflatten(1, (chans[-1], 4, 4))]
            for i in range(self.depth, 0, -1):
                layers.append(nn.ConvTranspose2d(chans[i], chans[i - 1] if i > 1 else 3, 4, 2, 1))
                if i > 1:
                    layers.append(nn.LeakyReLU(0.2))
            self.decoder = nn.Sequential(*layers)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Prepared images (N, 3, size, size) -> (bottleneck code, raw features before standardising)."""
        pooled = []
        h = x
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
            pooled += [h.mean((2, 3)), h.std((2, 3), correction=0)]
        code = self.fc(h.flatten(1))
        return code, torch.cat([code, *pooled], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Prepared images -> standardised features (N, dims)."""
        _, raw = self.encode(x)
        return (raw - self.mean) / self.std

    def blocks(self) -> list[int]:
        """Sizes of the feature blocks: the bottleneck, then each layer's means and standard deviations."""
        return [self.code] + [c.out_channels for c in self.convs for _ in range(2)]

    def provenance_arch(self) -> dict[str, Any]:
        return {"arch": ARCH, "size": self.size, "width": self.width, "code": self.code, "dims": self.dims}


def prepare(images: torch.Tensor, size: int) -> torch.Tensor:
    """Images (N, C, H, W), uint8 pixels or floats in [-1, 1], C in 1/3/4 -> RGB floats in [-1, 1] at size x size."""
    x = images.float().div(127.5).sub(1.0) if images.dtype == torch.uint8 else images.float()
    c = x.shape[1]
    if c == 1:
        x = x.expand(-1, 3, -1, -1)
    elif c == 4:  # composite over white
        alpha = (x[:, 3:4] + 1) * 0.5
        x = x[:, :3] * alpha + (1 - alpha)
    elif c != 3:
        raise FeatureError(f"images with {c} channels cannot be measured", "use grey, RGB or RGBA images")
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.contiguous()


@torch.no_grad()
def features(net: FeatureNet, images: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Standardised features (N, dims), float64 on the CPU, of images (N, C, H, W) in any supported format."""
    net.eval()
    device = next(net.parameters()).device
    out = [net(prepare(images[i:i + batch], net.size).to(device)).double().cpu() for i in range(0, images.shape[0], batch)]
    return torch.cat(out) if out else torch.zeros(0, net.dims, dtype=torch.float64)


def _augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """A random shift of up to SHIFT pixels per image (reflect padding), the same for input and target."""
    n, _, s, _ = x.shape
    padded = F.pad(x, (SHIFT,) * 4, mode="reflect")
    dx = torch.randint(0, 2 * SHIFT + 1, (n,), generator=g)
    dy = torch.randint(0, 2 * SHIFT + 1, (n,), generator=g)
    rows = (dy.view(n, 1) + torch.arange(s).view(1, s)).view(n, 1, s, 1).expand(n, 3, s, s + 2 * SHIFT)
    shifted = padded.gather(2, rows)
    cols = (dx.view(n, 1) + torch.arange(s).view(1, s)).view(n, 1, 1, s).expand(n, 3, s, s)
    return shifted.gather(3, cols)


def train_features(images: torch.Tensor, size: int, steps: int = DEFAULT_STEPS, seed: int = 0, width: int = 16,
                   code: int = 64, device: torch.device | None = None) -> FeatureNet:
    """Train a denoising autoencoder on `images` (uint8 or [-1, 1]; N, C, H, W) and return its encoder, with the
    feature standardisation set from the same images. Deterministic for a seed on one machine."""
    device = device or torch.device("cpu")
    x_all = prepare(images, size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = FeatureNet(size, width, code, decoder=True).to(device)
    g = torch.Generator().manual_seed(seed + 1)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    # (OneCycleLR divides by zero under about 10 steps: a schedule of at least 20, of which `steps` are run)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=max(20, steps), pct_start=0.1)
    net.train()
    assert net.decoder is not None
    for _ in range(steps):
        idx = torch.randint(x_all.shape[0], (BATCH,), generator=g)
        target = _augment(x_all[idx], g).to(device)
        noisy = target + NOISE * torch.randn(target.shape, generator=g).to(device)
        code_, _ = net.encode(noisy)
        loss = F.mse_loss(net.decoder(code_), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    net.decoder = None  # only the encoder is kept
    net.eval().requires_grad_(False)
    with torch.no_grad():
        raw = torch.cat([net.encode(x_all[i:i + 256].to(device))[1].cpu() for i in range(0, x_all.shape[0], 256)])
        net.mean.copy_(raw.mean(0))
        var = raw.var(0)
        start = 0
        for size in net.blocks():
            net.std[start:start + size] = var[start:start + size].mean().sqrt().clamp_min(1e-6)
            start += size
    net.final_loss = float(loss.detach())  # type: ignore[attr-defined]
    return net


# --- the file: safetensors weights + JSON metadata (architecture and provenance) ---------------------------------

def save_features(net: FeatureNet, path: Path, provenance: dict[str, Any]) -> None:
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in net.state_dict().items() if not k.startswith("decoder.")}
    meta = {"arch": json.dumps(net.provenance_arch()), "provenance": json.dumps(provenance, default=str),
            "genart": __version__}
    with atomic_path(Path(path)) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def load_features(path: str | Path) -> tuple[FeatureNet, dict[str, Any]]:
    """A feature network file: genart's own format (`genart-features-v1`); anything else is a FeatureError."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = Path(path)
    hint = ("give a genart feature network: eval/features.safetensors of any run evaluated with `genart evaluate` "
            f"(architecture {ARCH})")
    if not path.is_file():
        raise FeatureError(f"--features {path}: no such file", hint)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise FeatureError(f"--features {path} is not a readable safetensors file ({e})", hint) from None
    try:
        arch = json.loads(meta["arch"])
    except (KeyError, json.JSONDecodeError):
        known = ", ".join(sorted(tensors)[:3])
        raise FeatureError(f"--features {path} does not say which network it holds (tensors {known}, ...)", hint) from None
    if arch.get("arch") != ARCH:
        raise FeatureError(f"--features {path} holds a {arch.get('arch')!r} network, which genart cannot run", hint)
    try:
        net = FeatureNet(int(arch["size"]), int(arch["width"]), int(arch["code"]), decoder=False)
        net.load_state_dict(tensors)
    except (KeyError, ValueError, RuntimeError) as e:
        raise FeatureError(f"--features {path} does not match its architecture {ARCH} ({str(e).splitlines()[0]})",
                           hint) from None
    net.eval().requires_grad_(False)
    provenance = json.loads(meta.get("provenance", "{}"))
    provenance.update(file=str(path), sha256=file_hash(path), **net.provenance_arch())
    return net, provenance
