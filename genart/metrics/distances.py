"""Distances between sets of images or of their features: Fréchet distance, KID, precision and recall, nearest
neighbours and the memorisation test. Primitives every kind that makes images shares (see genart.metrics.images)."""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

PR_K = 3
KID_SUBSET = 1000
KID_SUBSETS = 10
COPY_K = 10  # a near-copy is judged against the mean distance to the 2nd..COPY_K-th nearest training images
COPY_RATIO = 1 / 3
PIXEL_MAX = 32  # memorisation compares images downscaled to at most this size


class _Given(nn.Module):
    """The 'feature network' handed to torchmetrics: the features are computed beforehand, once."""

    def __init__(self, dims: int) -> None:
        super().__init__()
        self.num_features = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:  # older torchmetrics probe the feature size with a dummy image
            return x.new_zeros(x.shape[0], self.num_features)
        return x


def _check_sets(a: torch.Tensor, b: torch.Tensor, need: int = 2) -> None:
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets must be (N, D) with the same D, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[0] < need or b.shape[0] < need:
        raise ValueError(f"need at least {need} rows in each feature set, got {a.shape[0]} and {b.shape[0]}")


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^1/2) between Gaussians fitted to two feature sets (N, D),
    in float64 (torchmetrics' FrechetInceptionDistance with the features given)."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    _check_sets(real, fake)
    fid = FrechetInceptionDistance(feature=_Given(real.shape[1]), reset_real_features=True)
    fid.update(real.double(), real=True)
    fid.update(fake.double(), real=False)
    return max(0.0, float(fid.compute()))


def kernel_distance(real: torch.Tensor, fake: torch.Tensor, subset_size: int = KID_SUBSET, subsets: int = KID_SUBSETS,
                    seed: int = 0) -> tuple[float, float]:
    """KID: the unbiased squared MMD with the kernel (x.y / D + 1)^3, mean and standard deviation over random
    subsets of `subset_size` rows of each set (torchmetrics' KernelInceptionDistance with the features given).
    Subsets are drawn from `seed`, so the figure is reproducible; one subset when it would hold 90% or more of the
    rows of each set (more would draw nearly the same rows again)."""
    from torchmetrics.image.kid import KernelInceptionDistance

    _check_sets(real, fake)
    size = min(subset_size, real.shape[0], fake.shape[0])
    if size >= 0.9 * max(real.shape[0], fake.shape[0]):
        subsets = 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "saves all features in memory": they are already in memory
        kid = KernelInceptionDistance(feature=_Given(real.shape[1]), subsets=subsets, subset_size=size)
    kid.update(real.double(), real=True)
    kid.update(fake.double(), real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = kid.compute()
    return float(mean), float(std)


def _kth_radius(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row of x to its k-th nearest other row."""
    d = torch.cdist(x, x)
    return d.kthvalue(min(k + 1, x.shape[0]), dim=1).values  # +1: each row is its own nearest, at 0


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = PR_K) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-nearest-neighbour balls."""
    _check_sets(real, fake, need=k + 1)
    real, fake = real.double(), fake.double()
    r_real, r_fake = _kth_radius(real, k), _kth_radius(fake, k)
    d = torch.cdist(fake, real)  # (F, R)
    precision = (d <= r_real.unsqueeze(0)).any(1).double().mean()
    recall = (d <= r_fake.unsqueeze(1)).any(0).double().mean()
    return float(precision), float(recall)


# --- memorisation, in pixel space ------------------------------------------------------------------------------

def pixels(images: torch.Tensor, max_size: int = PIXEL_MAX) -> torch.Tensor:
    """Images (N, C, H, W), uint8 or [-1, 1], as rows of intensities in [0, 1] (N, D), downscaled to max_size."""
    x = images.float().div(255.0) if images.dtype == torch.uint8 else (images.float() + 1) * 0.5
    if x.shape[-1] > max_size:
        x = F.interpolate(x, size=(max_size, max_size), mode="area")
    return x.flatten(1).contiguous()


def nearest(queries: torch.Tensor, refs: torch.Tensor, k: int = 1, chunk: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """The k nearest rows of refs to each query row: RMS distances (N, k) in float64, sorted, and their indices.

    Candidates come from a float32 matrix product; their distances are then recomputed exactly from the
    differences, so a verbatim copy is at exactly 0."""
    k = min(k, refs.shape[0])
    extra = min(refs.shape[0], k + 8)  # a few spare candidates against float32 rounding
    r2 = refs.pow(2).sum(1)
    dists, idxs = [], []
    for i in range(0, queries.shape[0], chunk):
        q = queries[i:i + chunk]
        approx = q.pow(2).sum(1, keepdim=True) + r2.unsqueeze(0) - 2 * q @ refs.T
        cand = approx.topk(extra, dim=1, largest=False).indices  # (n, extra)
        exact = (q.unsqueeze(1) - refs[cand]).pow(2).mean(2).double().sqrt()
        d, order = exact.sort(1)
        dists.append(d[:, :k])
        idxs.append(cand.gather(1, order[:, :k]))
    return torch.cat(dists), torch.cat(idxs)


def memorisation(queries: torch.Tensor, refs: torch.Tensor, k: int = COPY_K, ratio: float = COPY_RATIO) -> dict[str, Any]:
    """Each query's nearest reference (pixel rows from `pixels`), and which queries are near-copies: nearer to it
    than `ratio` times their mean distance to their 2nd..k-th nearest references (or at distance 0)."""
    d, idx = nearest(queries, refs, k)
    d1 = d[:, 0]
    if d.shape[1] > 1:
        others = d[:, 1:].mean(1)
        copy = (d1 < ratio * others) | (d1 == 0)
    else:
        copy = d1 == 0
    return {"distance": d1, "index": idx[:, 0], "copy": copy, "share": float(copy.double().mean()),
            "median_distance": float(d1.median())}


# --- the evaluator -----------------------------------------------------------------------------------------------

def noise_images(m: int, like: torch.Tensor, seed: int) -> torch.Tensor:
    """m images of uniform noise in the shape and dtype (uint8) of `like` (N, C, H, W)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (m, *like.shape[1:]), generator=g, dtype=torch.int64).to(torch.uint8)


def split_halves(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded split of n indices into a reference half (the larger when odd) and a held-out half."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed + 7))
    a = (n + 1) // 2
    return perm[:a].sort().values, perm[a:].sort().values


