"""Attribute vectors of a music VAE's latent space (MusicVAE's "attribute vector arithmetic").

For each attribute (genart.kinds.musicvae.data.ATTRIBUTES: note density, pitch range, syncopation) the vector is the
mean posterior mean of the training windows in the attribute's top quarter minus that of the windows in its bottom
quarter. `--edit density:+1.5` adds 1.5 times the density vector to each latent. The vectors are computed from (up
to MAX_WINDOWS) training windows each time a checkpoint is written, and stored in it (safetensors).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch

from genart.core.errors import ConfigError
from genart.kinds.musicvae.data import ATTRIBUTES, window_attributes

MAX_WINDOWS = 512
SHARPNESS = 10.0  # delta of the attribute regulariser: how sharply tanh turns latent differences into an order
QUARTER = 0.25
EDIT = re.compile(r"\s*([A-Za-z_]+)\s*:\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*")
EDIT_HINT = "write NAME:AMOUNT, e.g. density:+1.5 (attributes: " + ", ".join(ATTRIBUTES) + ")"


@torch.no_grad()
def posterior_means(encode: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]], windows: torch.Tensor,
                    device: torch.device, batch: int = 256) -> torch.Tensor:
    out = [encode(windows[i:i + batch].to(device))[0].float().cpu() for i in range(0, len(windows), batch)]
    return torch.cat(out) if out else torch.zeros((0, 0))


@torch.no_grad()
def attribute_vectors(encode: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]], windows: torch.Tensor,
                      latent: int, device: torch.device, seed: int = 0) -> dict[str, torch.Tensor]:
    """{attribute: vector (latent,)}: mean latent of the windows high in it minus the mean of those low in it
    (zeros where the attribute does not vary)."""
    if len(windows) > MAX_WINDOWS:
        pick = torch.randperm(len(windows), generator=torch.Generator().manual_seed(seed + 31))[:MAX_WINDOWS]
        windows = windows[pick.sort().values]
    if not len(windows):
        return {name: torch.zeros(latent) for name in ATTRIBUTES}
    mu = posterior_means(encode, windows, device)
    out = {}
    for name, a in window_attributes(windows).items():
        lo, hi = torch.quantile(a, QUARTER), torch.quantile(a, 1 - QUARTER)
        low, high = a <= lo, a >= hi
        if hi <= lo or not low.any() or not high.any():
            out[name] = torch.zeros(latent)
        else:
            out[name] = mu[high].mean(0) - mu[low].mean(0)
    return out


def attribute_order_loss(z: torch.Tensor, attributes: dict[str, torch.Tensor],
                         sharpness: float = SHARPNESS) -> torch.Tensor:
    """The attribute regulariser of AR-VAE (Pati & Lerch 2020): for attribute i (in ATTRIBUTES order), the mean
    absolute difference between tanh(sharpness * (z_i of one window minus z_i of another)) and the sign of their
    attribute difference, over all pairs of the batch; summed over the attributes (each term in [0, 2])."""
    terms = []
    for i, a in enumerate(attributes.values()):
        if i >= z.shape[1]:
            break
        dz = z[:, i].unsqueeze(1) - z[:, i].unsqueeze(0)
        da = (a.unsqueeze(1) - a.unsqueeze(0)).to(z)
        terms.append((torch.tanh(sharpness * dz) - torch.sign(da)).abs().mean())
    return torch.stack(terms).sum() if terms else z.new_zeros(())


def parse_edits(texts: list[str] | None, known: dict[str, torch.Tensor]) -> list[tuple[str, float]]:
    """["density:+1.5", "range:-1"] to [(name, amount)]; a clear error for anything else."""
    out = []
    for text in texts or []:
        for part in str(text).split(","):
            if not part.strip():
                continue
            m = EDIT.fullmatch(part)
            if not m:
                raise ConfigError(f"--edit {part.strip()!r} is not NAME:AMOUNT", EDIT_HINT)
            name, amount = m.group(1).lower(), float(m.group(2))
            if name not in ATTRIBUTES:
                raise ConfigError(f"--edit {name!r} is not an attribute of music VAE runs", EDIT_HINT)
            if name not in known:
                raise ConfigError(f"this run's checkpoint holds no {name!r} vector",
                                  "train it further: the vectors are stored with each checkpoint")
            if abs(amount) > 10:
                raise ConfigError(f"--edit {part.strip()}: {amount:g} is too far", "use amounts from -10 to 10")
            out.append((name, amount))
    return out


def edited(z: torch.Tensor, vectors: dict[str, torch.Tensor], edits: list[tuple[str, float]]) -> torch.Tensor:
    """z (N, latent) moved by amount times each named vector."""
    for name, amount in edits:
        z = z + amount * vectors[name].to(z)
    return z
