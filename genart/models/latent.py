"""Latent codes that are addressable by seed, truncation, and spherical interpolation."""

from __future__ import annotations

import torch


def seed_latent(seed: int, dim: int, truncation: float | None = None,
                num_classes: int = 0) -> tuple[torch.Tensor, int]:
    """The latent (dim,) and class for one seed: seed k always gives the same code, whatever else
    is generated alongside it. Truncation redraws entries beyond +-t (as in BigGAN)."""
    g = torch.Generator().manual_seed(int(seed))
    z = torch.randn(dim, generator=g)
    if truncation is not None:
        for _ in range(100):
            bad = z.abs() > truncation
            if not bad.any():
                break
            z[bad] = torch.randn(int(bad.sum()), generator=g)
        z = z.clamp(-truncation, truncation)
    label = int(torch.randint(num_classes, (1,), generator=g)) if num_classes else -1
    return z, label


def seed_latents(seeds: list[int], dim: int, truncation: float | None = None,
                 num_classes: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    pairs = [seed_latent(s, dim, truncation, num_classes) for s in seeds]
    return torch.stack([p[0] for p in pairs]), torch.tensor([p[1] for p in pairs], dtype=torch.long)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between rows of a and b at fractions t (shape (k,)); returns (k, dim)."""
    a, b = a.flatten().float(), b.flatten().float()
    na, nb = a.norm(), b.norm()
    cos = torch.dot(a / na, b / nb).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    t = t.float().unsqueeze(1)
    if omega.abs() < 1e-4:
        return a * (1 - t) + b * t
    so = torch.sin(omega)
    direction = (torch.sin((1 - t) * omega) / so) * (a / na) + (torch.sin(t * omega) / so) * (b / nb)
    return direction * (na * (1 - t) + nb * t)  # interpolate the norm linearly


def walk(keys: torch.Tensor, frames: int, loop: bool) -> torch.Tensor:
    """A smooth path of `frames` latents through the rows of `keys` (back to the first when loop)."""
    keys = torch.cat([keys, keys[:1]]) if loop else keys
    segments = keys.shape[0] - 1
    if segments < 1:
        return keys[:1].repeat(frames, 1)
    pos = torch.arange(frames, dtype=torch.float64) * (segments / (frames if loop else max(1, frames - 1)))
    out = []
    for p in pos.tolist():
        i = min(int(p), segments - 1)
        t = p - i
        t = t * t * (3 - 2 * t)  # ease in and out at each key
        out.append(slerp(keys[i], keys[i + 1], torch.tensor([t]))[0])
    return torch.stack(out)
