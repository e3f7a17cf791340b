"""Image metrics (gan, vae): quality, diversity and copying, each beside a floor and a ceiling.

All distances compare a candidate set with the *reference* set: one half of the run's training images (a seeded
split). The candidates are the generated images (the model), the other half of the training images (the floor:
what real images score against real images) and uniform noise images (the ceiling). All three candidate sets have
the same size, m = min(--n, the half's size), so their figures compare.

- Fréchet distance (FID's formula; torchmetrics computes it) and KID (unbiased MMD with the cubic polynomial
  kernel, averaged over random subsets; torchmetrics too) in the feature space of `genart.metrics.features`.
- Precision and recall with k-nearest-neighbour manifolds (Kynkäänniemi et al. 2019, k = 3): precision is the
  share of candidates inside the real manifold (the union of balls around each reference image reaching its k-th
  nearest reference neighbour), recall the share of reference images inside the candidates' manifold.
- Memorisation, in pixel space (images downscaled to at most 32x32, RMS difference of intensities in [0, 1]): each
  generated image's nearest training image (all of them); a generated image is a near-copy when that distance is
  under a third of its mean distance to its next nearest training images (2nd to 10th), the relative test of
  Carlini et al. 2023. The floor is each held-out-half image against the reference half.
- VAE: the held-out negative ELBO (nats per image) and bits per dimension, beside the same on training images (the
  floor: the generalisation gap) and on noise images (the ceiling).
"""

from __future__ import annotations

import html
import math
import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genart.errors import DataError, GenartError
from genart.metrics import EvalContext, Figure, KindReport
from genart.metrics.features import (
    ARCH,
    DEFAULT_STEPS,
    FILE,
    FeatureNet,
    feature_size,
    features,
    load_features,
    save_features,
    train_features,
)
from genart.runs import DATA, read_json, write_json

DEFAULT_N = 1000
MIN_IMAGES = 20  # training images needed: two halves of at least 10
PR_K = 3
KID_SUBSET = 1000
KID_SUBSETS = 10
COPY_K = 10  # a near-copy is judged against the mean distance to the 2nd..COPY_K-th nearest training images
COPY_RATIO = 1 / 3
PIXEL_MAX = 32  # memorisation compares images downscaled to at most this size
PAIRS = 16  # closest pairs shown


# --- distances between sets of features ----------------------------------------------------------------------

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


def load_training_images(ctx: EvalContext) -> tuple[Any, torch.Tensor, dict[str, Any]]:
    """The run's data (reloaded as it was for training), the images the model trained on, and data facts."""
    from genart.kinds import get_kind

    run = ctx.run
    try:
        data = get_kind(run.config.kind).load_data(run.config, run.resolved)
    except GenartError as e:
        raise DataError(f"evaluate needs the run's training data: {e.message}",
                        f"make {run.config.data} available again as it was for training") from None
    images = data.images
    if run.config.kind == "vae":
        from genart.models.vae import split_indices

        train_idx, _ = split_indices(len(data), run.config.val_split, run.config.seed)
        images = images[train_idx]
    facts = data_facts(run, data.report, len(data))
    facts["training_images"] = int(images.shape[0])
    if images.shape[0] < MIN_IMAGES:
        raise DataError(f"{run.name} trained on {images.shape[0]} images; evaluation needs at least {MIN_IMAGES}",
                        "images are split in two halves (real against real), so give it more images")
    return data, images, facts


def data_facts(run: Any, report: dict[str, Any], count: int) -> dict[str, Any]:
    """Source, counts and content hash of the data now, and whether it still matches what the run trained on."""
    trained = read_json(run.path / DATA) if (run.path / DATA).exists() else {}
    facts = {"source": report.get("source", run.config.data), "files": report.get("files"), "used": report.get("used"),
             "skipped": report.get("skipped"), "items": count, "content_hash": report.get("content_hash")}
    if trained.get("content_hash") and report.get("content_hash"):
        facts["matches_training"] = trained["content_hash"] == report["content_hash"]
    return facts


def feature_network(ctx: EvalContext, images: torch.Tensor, facts: dict[str, Any]) -> tuple[FeatureNet, dict[str, Any]]:
    """The user's feature network (--features), or the run's own: cached in eval/ when its provenance matches."""
    if ctx.features is not None:
        net, prov = load_features(ctx.features)
        return net, {**prov, "source": "given with --features"}
    run = ctx.run
    size = feature_size(int(images.shape[-1]))
    steps = ctx.feature_steps or DEFAULT_STEPS
    want = {"arch": ARCH, "trained_on": f"the training images of run {run.name}", "data_source": facts.get("source"),
            "data_hash": facts.get("content_hash"), "images": int(images.shape[0]), "steps": steps, "seed": ctx.run.config.seed,
            "objective": "denoising autoencoder (noise 0.1, shifts up to 2 px), Adam 2e-3 one-cycle, batch 64"}
    path = ctx.out / FILE
    if path.exists():
        try:
            net, prov = load_features(path)
            if all(prov.get(k) == v for k, v in want.items()) and prov.get("size") == size:
                return net, {**prov, "source": "this run's own, cached", "file": f"eval/{FILE}"}
        except GenartError:
            pass  # a broken cache is retrained
    ctx.console.print(f"training the feature network on {images.shape[0]} images ({steps} steps) ...")
    import time

    t0 = time.monotonic()
    net = train_features(images, size, steps=steps, seed=ctx.run.config.seed)
    prov = {**want, "train_seconds": round(time.monotonic() - t0, 1), "final_loss": round(float(net.final_loss), 5)}
    save_features(net, path, prov)
    write_json(ctx.out / "features.json", {**prov, **net.provenance_arch(), "file": f"eval/{FILE}"})
    _, prov = load_features(path)
    return net, {**prov, "source": "this run's own, trained now", "file": f"eval/{FILE}"}


def set_figures(ref_f: torch.Tensor, sets_f: dict[str, torch.Tensor], seed: int) -> list[Figure]:
    """Fréchet distance, KID, precision and recall of each candidate set (model, floor, ceiling) against ref."""
    fid = {k: frechet_distance(ref_f, v) for k, v in sets_f.items()}
    kid = {k: kernel_distance(ref_f, v, seed=seed) for k, v in sets_f.items()}
    pr = {k: precision_recall(ref_f, v) for k, v in sets_f.items()}
    return [
        Figure("fid", "Fréchet distance", fid["model"], fid["floor"], fid["ceiling"], "lower",
               "between Gaussians fitted to the features; biased upwards for small sets"),
        Figure("kid", "KID (kernel distance)", kid["model"][0], kid["floor"][0], kid["ceiling"][0], "lower",
               f"unbiased; subset standard deviation {kid['model'][1]:.3g}"),
        Figure("precision", "precision (quality)", pr["model"][0], pr["floor"][0], pr["ceiling"][0], "higher",
               "share of images inside the real images' k-NN manifold"),
        Figure("recall", "recall (diversity)", pr["model"][1], pr["floor"][1], pr["ceiling"][1], "higher",
               "share of real images inside the images' k-NN manifold"),
    ]


def evaluate_images(ctx: EvalContext) -> KindReport:
    """The gan kind: see the module docstring."""
    _, train, facts = load_training_images(ctx)
    return measure_images(ctx, train, facts)


def measure_images(ctx: EvalContext, train: torch.Tensor, facts: dict[str, Any]) -> KindReport:
    """Every image figure of a model against its training images (uint8, N x C x H x W), with pictures."""
    from genart.io.images import save_grid
    from genart.models.vae import stack_pairs

    model, seed = ctx.model, ctx.seed
    n = DEFAULT_N if ctx.n is None else ctx.n
    if not MIN_IMAGES <= n <= 4096:
        raise GenartError(f"--n {n} is out of range for images", f"use {MIN_IMAGES} to 4096 (1000 is the default)")
    ref_idx, held_idx = split_halves(train.shape[0], seed)
    ref, held = train[ref_idx], train[held_idx]
    m = min(n, held.shape[0])

    net, prov = feature_network(ctx, train, facts)
    ctx.console.print(f"generating {n} images ...")
    seeds = list(range(seed, seed + n))
    gen = model.generate_tensor(seeds=seeds)
    noise = noise_images(m, train, seed + 1)
    ctx.console.print(f"measuring {m} generated, {m} real and {m} noise images against {ref.shape[0]} real ones ...")
    ref_f = features(net, ref)
    sets = {"model": gen[:m], "floor": held[:m], "ceiling": noise}
    sets_f = {k: features(net, v) for k, v in sets.items()}
    figures = set_figures(ref_f, sets_f, seed)

    train_px = pixels(train)
    memo = memorisation(pixels(gen), train_px)
    memo_floor = memorisation(pixels(held[:m]), pixels(ref))
    memo_noise = memorisation(pixels(noise), train_px)
    figures += [
        Figure("near_copies", "near-copies of training images", memo["share"], memo_floor["share"], memo_noise["share"],
               "lower", f"nearest training image under {COPY_RATIO:.2g} of the distance to the next ones"),
        Figure("nearest_distance", "median distance to the nearest training image", memo["median_distance"],
               memo_floor["median_distance"], memo_noise["median_distance"], "",
               "RMS pixel difference in [0, 1]; 0 is a verbatim copy"),
    ]

    # pictures
    out = ctx.out
    prov_gen = model.provenance(seeds=f"{seed}-{seed + n - 1}", purpose="genart evaluate")
    save_grid(gen[:64], out / "samples.png", prov_gen)
    save_grid(_signed(held[:64]), out / "real.png")
    save_grid(_signed(noise[:16]), out / "noise.png")
    order = memo["distance"].argsort()[:PAIRS]
    save_grid(stack_pairs(gen[order], _signed(train[memo["index"][order]]), 8), out / "closest.png",
              {**prov_gen, "content": "generated images (odd rows) above their nearest training images (even rows)"}, nrow=8)
    order_f = memo_floor["distance"].argsort()[:PAIRS]
    save_grid(stack_pairs(_signed(held[order_f]), _signed(ref[memo_floor["index"][order_f]]), 8), out / "closest-real.png",
              nrow=8)
    copies = [{"seed": seeds[i], "training_image": int(memo["index"][i]), "distance": round(float(memo["distance"][i]), 5)}
              for i in memo["distance"].argsort().tolist() if bool(memo["copy"][i])]
    details = {
        "reference": f"{ref.shape[0]} training images (a seeded half)",
        "sets": {"model": f"{m} of {n} generated images (seeds {seed}-{seed + m - 1})",
                 "floor": f"{m} training images of the other half", "ceiling": f"{m} uniform noise images"},
        "feature_network": prov,
        "memorisation": {"generated": n, "against": f"all {train.shape[0]} training images",
                         "near_copies": int(memo["copy"].sum()), "copies": copies[:50],
                         "rule": f"distance to the nearest < {COPY_RATIO:.3g} x mean distance to the 2nd-{COPY_K}th nearest"},
    }
    pictures = ["eval/samples.png", "eval/real.png", "eval/noise.png", "eval/closest.png", "eval/closest-real.png"]
    page = (
        '<div class="row">'
        + _fig("eval/samples.png", f"generated (seeds {seed}-{seed + min(n, 64) - 1})")
        + _fig("eval/real.png", "real: the held-out half (the floor)")
        + _fig("eval/noise.png", "noise (the ceiling)", 128)
        + "</div><h3>Memorisation</h3><div class=\"row\">"
        + _fig("eval/closest.png", f"the {PAIRS} generated images closest to a training image (odd rows), above it "
               f"(even rows); {int(memo['copy'].sum())} of {n} are near-copies")
        + _fig("eval/closest-real.png", "the same for real held-out images against the other half (the floor)")
        + "</div>"
    )
    columns = {"model": "generated", "floor": "real vs real", "ceiling": "noise"}
    return KindReport(columns=columns, figures=figures, details=details, html=page, data=facts, pictures=pictures)


def evaluate_vae(ctx: EvalContext) -> KindReport:
    """The image figures, then the held-out negative ELBO and bits per dimension."""
    from genart.models.vae import split_indices

    data, train, facts = load_training_images(ctx)
    report = measure_images(ctx, train, facts)

    cfg = ctx.run.config
    _, val_idx = split_indices(len(data), cfg.val_split, cfg.seed)
    held_out = data.images[val_idx]
    if held_out.shape[0] == 0:
        report.details["elbo"] = "no held-out images (--val-split 0)"
        return report
    m = held_out.shape[0]
    sampler = ctx.model.sampler
    noise = noise_images(m, held_out, ctx.seed + 2)
    sample_train = train[torch.randperm(train.shape[0], generator=torch.Generator().manual_seed(ctx.seed + 3))[:m]]
    nelbo = {k: negative_elbo(sampler, v, cfg.seed) for k, v in (("model", held_out), ("floor", sample_train),
                                                                     ("ceiling", noise))}
    dims = math.prod(held_out.shape[1:]) * math.log(2)
    report.figures += [
        Figure("nelbo", "negative ELBO (nats per image)", nelbo["model"], nelbo["floor"], nelbo["ceiling"], "lower",
               f"model: {m} held-out images; floor: {m} training images; ceiling: {m} noise images"),
        Figure("bpd", "bits per dimension", nelbo["model"] / dims, nelbo["floor"] / dims, nelbo["ceiling"] / dims, "lower",
               "the negative ELBO / (pixels x channels x ln 2)"),
    ]
    report.details["elbo"] = {"held_out_images": m, "likelihood": sampler.recon,
                              "note": "one z per image from fixed noise (deterministic); beta 1, no free bits"}
    return report


@torch.no_grad()
def negative_elbo(sampler: Any, images: torch.Tensor, seed: int, batch: int = 256) -> float:
    """Mean negative ELBO in nats per image of uint8 images under a VAE sampler, as its training evaluates it."""
    from genart.models.vae import EVAL_SEED, kl_per_unit, recon_nll, to_signed

    g = torch.Generator().manual_seed(seed + EVAL_SEED)
    total = 0.0
    for i in range(0, images.shape[0], batch):
        x = to_signed(images[i:i + batch]).to(sampler.device)
        mu, logvar = sampler.enc(x)
        mu, logvar = mu.float(), logvar.float().clamp(-30.0, 20.0)
        eps = torch.randn(mu.shape, generator=g).to(sampler.device)
        out = sampler.dec(mu + eps * torch.exp(0.5 * logvar)).float()
        total += float(recon_nll(sampler.recon, out, x, sampler.dec.log_scale).sum() + kl_per_unit(mu, logvar).sum())
    return total / images.shape[0]


def _signed(images: torch.Tensor) -> torch.Tensor:
    return images.float().div(127.5).sub(1.0) if images.dtype == torch.uint8 else images


def _fig(src: str, caption: str, width: int | None = None) -> str:
    w = f' width="{width}"' if width else ""
    return f'<figure><img src="{html.escape(src)}"{w}><figcaption>{html.escape(caption)}</figcaption></figure>'


__all__ = ["frechet_distance", "kernel_distance", "precision_recall", "nearest", "memorisation", "pixels",
           "evaluate_images", "evaluate_vae", "noise_images", "split_halves"]
