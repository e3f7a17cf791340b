"""`genart evaluate` for points runs: likelihood, distribution distances, precision and recall, and closeness to
the training points, each beside a floor and a ceiling (genart.metrics' figures, measured on the points themselves).

The reference is one seeded half of the training points; the candidates, all of the same size m = min(--n, the
other half's size), are the generated points (the model), the other half (the floor: real against real) and
uniform noise over the training points' bounding box (the ceiling). Distances are in standardised units (the
points minus their mean, over one scale for both axes), so they compare across data sets.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import torch

from genart.core.errors import ConfigError
from genart.metrics import EvalContext, Figure, KindReport, data_facts
from genart.metrics.distances import frechet_distance, memorisation, precision_recall, split_halves
from genart_points.draw import PANEL, frame, panel, scatter_png

DEFAULT_N = 1000
MIN_N, MAX_N = 20, 20_000
MAX_REFERENCE = 10_000  # reference points kept (a seeded subset): the k-NN figures cost reference x m distances
DIRECTIONS = 128  # of the sliced Wasserstein distance
LEVELS = 200  # quantiles compared along each direction


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor) -> float:
    """The mean over evenly spread directions of the 1-Wasserstein distance between the projections of two point
    sets (N, 2), from their quantiles: 0 for the same distribution, in the points' units."""
    angles = torch.arange(DIRECTIONS, dtype=torch.float64) * (math.pi / DIRECTIONS)
    directions = torch.stack([angles.cos(), angles.sin()], 1)  # (D, 2)
    levels = (torch.arange(LEVELS, dtype=torch.float64) + 0.5) / LEVELS
    qa = torch.quantile(a.double() @ directions.T, levels, dim=0)  # (LEVELS, D)
    qb = torch.quantile(b.double() @ directions.T, levels, dim=0)
    return float((qa - qb).abs().mean())


def gaussian_nll(train: torch.Tensor, points: torch.Tensor) -> float:
    """Mean negative log-likelihood (nats per point) of `points` under one Gaussian fitted to `train`."""
    x = train.double()
    mvn = torch.distributions.MultivariateNormal(x.mean(0), covariance_matrix=torch.cov(x.T) + 1e-9 * torch.eye(2))
    return float(-mvn.log_prob(points.double()).mean())


def evaluate_points(ctx: EvalContext) -> KindReport:
    """Every figure of a points run against its training points; see the module docstring."""
    if ctx.length is not None:
        raise ConfigError("--length is for sequence runs", "leave --length out for a points run")
    n = DEFAULT_N if ctx.n is None else ctx.n
    if not MIN_N <= n <= MAX_N:
        raise ConfigError(f"--n {n} is out of range for points", f"use {MIN_N} to {MAX_N:,} ({DEFAULT_N} is the default)")
    model, seed = ctx.model, ctx.seed
    sampler = model.sampler
    data = ctx.training_data()
    train, val = data.train.double(), data.val.double()
    facts = data_facts(ctx.run, data.report, len(data))
    facts.update(training_points=int(train.shape[0]), held_out_points=int(val.shape[0]))
    ref_idx, half_idx = split_halves(train.shape[0], seed)
    ref, half = train[ref_idx], train[half_idx]
    if ref.shape[0] > MAX_REFERENCE:
        ref = ref[torch.randperm(ref.shape[0], generator=torch.Generator().manual_seed(seed + 5))[:MAX_REFERENCE]]
    m = min(n, half.shape[0])

    ctx.console.print(f"generating {n} points ...")
    seeds = list(range(seed, seed + n))
    generated, _ = sampler.sample(seeds)
    gen = sampler.to_standard(generated).double().cpu()
    g = torch.Generator().manual_seed(seed + 1)
    lo, hi = train.min(0).values, train.max(0).values
    noise = lo + (hi - lo) * torch.rand(m, 2, generator=g, dtype=torch.float64)
    sets = {"model": gen[:m], "floor": half[:m], "ceiling": noise}
    ctx.console.print(f"measuring {m} generated, {m} real and {m} noise points against {ref.shape[0]} real ones ...")

    figures: list[Figure] = []
    if val.shape[0]:
        nll = float(-sampler.model.log_prob(val.float().to(sampler.device)).mean())
        figures.append(Figure("val_loss", "held-out negative log-likelihood (nats/point)", nll, None,
                              gaussian_nll(train, val), "lower",
                              f"{val.shape[0]} held-out points, standardised units; ceiling: one Gaussian fitted to the "
                              "training points"))
    swd = {k: sliced_wasserstein(ref, v) for k, v in sets.items()}
    fd = {k: frechet_distance(ref, v) for k, v in sets.items()}
    pr = {k: precision_recall(ref, v) for k, v in sets.items()}
    memo = {k: memorisation(v, ref if k == "floor" else train) for k, v in sets.items()}
    figures += [
        Figure("sliced_wasserstein", "sliced Wasserstein distance", swd["model"], swd["floor"], swd["ceiling"], "lower",
               f"mean 1-Wasserstein distance of the projections on {DIRECTIONS} directions; sees the whole shape"),
        Figure("frechet", "Fréchet distance (2D)", fd["model"], fd["floor"], fd["ceiling"], "lower",
               "between Gaussians fitted to the points: compares means and covariances only"),
        Figure("precision", "precision (quality)", pr["model"][0], pr["floor"][0], pr["ceiling"][0], "higher",
               "share of points inside the real points' k-NN manifold"),
        Figure("recall", "recall (diversity)", pr["model"][1], pr["floor"][1], pr["ceiling"][1], "higher",
               "share of real points inside the points' k-NN manifold"),
        Figure("nearest_distance", "median distance to the nearest training point", memo["model"]["median_distance"],
               memo["floor"]["median_distance"], memo["ceiling"]["median_distance"], "",
               "far below the floor: the model copies its training points (a component shrunk onto one point)"),
    ]

    prov = model.provenance(seeds=f"{seed}-{seed + n - 1}", purpose="genart evaluate")
    to_data = sampler.to_data
    scatter_png([("training points (reference half)", to_data(ref).numpy()), (f"generated (seeds {seed}-{seed + m - 1})",
                to_data(gen[:m]).numpy()), ("uniform noise (the ceiling)", to_data(noise).numpy())], sampler.bounds,
                ctx.out / "points.png", prov, extra=[density_panel(sampler)])
    details = {
        "reference": f"{ref.shape[0]} training points (a seeded half)",
        "sets": {"model": f"{m} of {n} generated points (seeds {seed}-{seed + m - 1})",
                 "floor": f"{m} training points of the other half", "ceiling": f"{m} uniform points over the training box"},
        "units": "standardised: (x - mean) / scale with one scale for both axes, as the model trained",
        "nearest_distance": "RMS over the two coordinates; the floor is each point of the other half against the reference",
    }
    page = ('<div class="row"><figure><img src="eval/points.png"><figcaption>the reference half of the training '
            "points, the generated points, uniform noise (the ceiling), and the model's density</figcaption></figure>"
            f"</div><p>{html.escape(details['sets']['model'])}; all figures in standardised units.</p>")
    columns = {"model": "generated", "floor": "real vs real", "ceiling": "noise"}
    return KindReport(columns=columns, figures=figures, details=details, html=page, data=facts,
                      pictures=["eval/points.png"])


def density_panel(sampler: Any) -> Any:
    """The model's density over the panels' square, shaded (its highest value darkest)."""
    corner, side = frame(sampler.bounds)
    centres = (np.arange(PANEL) + 0.5) / PANEL * side
    xs, ys = np.meshgrid(corner[0] + centres, corner[1] + centres[::-1])
    grid = torch.from_numpy(np.stack([xs.ravel(), ys.ravel()], 1))
    p = sampler.log_prob(grid).double().exp().numpy().reshape(PANEL, PANEL)
    return panel(3 * p / max(float(p.max()), 1e-300), (46, 140, 80), "the model's density")
