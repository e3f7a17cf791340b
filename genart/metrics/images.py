"""Image metrics (every kind that can make images): quality, diversity and copying, each beside a floor and a ceiling.

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

The distances themselves are in genart.metrics.distances; a kind adds its own figures in its folder (the VAE's
held-out ELBO: genart.kinds.vae.evaluate).
"""

from __future__ import annotations

import html
from typing import Any

import torch

from genart.core.errors import DataError, GenartError
from genart.core.files import write_json
from genart.io.images import to_signed
from genart.metrics import EvalContext, Figure, KindReport, data_facts
from genart.metrics.distances import (
    COPY_K,
    COPY_RATIO,
    frechet_distance,
    kernel_distance,
    memorisation,
    noise_images,
    pixels,
    precision_recall,
    split_halves,
)
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

DEFAULT_N = 1000
MIN_IMAGES = 20  # training images needed: two halves of at least 10
PAIRS = 16  # closest pairs shown


def load_training_images(ctx: EvalContext, trained: torch.Tensor | None = None
                         ) -> tuple[Any, torch.Tensor, dict[str, Any]]:
    """The run's data (reloaded as it was for training), the images the model trained on (`trained`: their indices,
    when the kind held some out), and data facts."""
    run = ctx.run
    data = ctx.training_data()
    images = data.images if trained is None else data.images[trained]
    facts = data_facts(run, data.report, len(data))
    facts["training_images"] = int(images.shape[0])
    if images.shape[0] < MIN_IMAGES:
        raise DataError(f"{run.name} trained on {images.shape[0]} images; evaluation needs at least {MIN_IMAGES}",
                        "images are split in two halves (real against real), so give it more images")
    return data, images, facts


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
    """Every image figure of a run against its training images: see the module docstring."""
    _, train, facts = load_training_images(ctx)
    return measure_images(ctx, train, facts)


def measure_images(ctx: EvalContext, train: torch.Tensor, facts: dict[str, Any]) -> KindReport:
    """Every image figure of a model against its training images (uint8, N x C x H x W), with pictures."""
    from genart.io.images import save_grid, stack_pairs

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
    save_grid(to_signed(held[:64]), out / "real.png")
    save_grid(to_signed(noise[:16]), out / "noise.png")
    order = memo["distance"].argsort()[:PAIRS]
    save_grid(stack_pairs(gen[order], to_signed(train[memo["index"][order]]), 8), out / "closest.png",
              {**prov_gen, "content": "generated images (odd rows) above their nearest training images (even rows)"}, nrow=8)
    order_f = memo_floor["distance"].argsort()[:PAIRS]
    save_grid(stack_pairs(to_signed(held[order_f]), to_signed(ref[memo_floor["index"][order_f]]), 8), out / "closest-real.png",
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


def _fig(src: str, caption: str, width: int | None = None) -> str:
    w = f' width="{width}"' if width else ""
    return f'<figure><img src="{html.escape(src)}"{w}><figcaption>{html.escape(caption)}</figcaption></figure>'


__all__ = ["evaluate_images", "measure_images", "load_training_images", "feature_network", "set_figures"]
