"""`genart evaluate` for musicvae runs: statistics of generated windows beside held-out ones (floor) and random notes
(ceiling), the held-out loss, the active latent units, and how often each attribute edit moves its attribute the
asked way."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from genart.kinds.musicvae.data import CLASSES, FIRST_PITCH, HOLD, grid_score, window_attributes
from genart.metrics.music import STATS, distance, statistics, summarise

DEFAULT_N = 20
EDIT_AMOUNT = 1.5
EDIT_SEEDS = 100  # edits are judged on at least this many seeds (x 2 signs): 20 would leave +-11 points of noise


def random_windows(n: int, steps: int, voices: int, seed: int) -> torch.Tensor:
    """Random notes: each voice a pitch (uniform over the piano) or a hold at every step."""
    g = np.random.default_rng(seed)
    w = g.integers(FIRST_PITCH, CLASSES, size=(n, steps, voices))
    w[g.random((n, steps, voices)) < 0.5] = HOLD
    return torch.from_numpy(w)


def edit_success(sampler: Any, seeds: list[int], amount: float = EDIT_AMOUNT,
                 temperature: float = 0.5) -> dict[str, float]:
    """For each attribute: the share of (seed, sign) pairs where an edit of +-amount moves the attribute of the
    decoded window the asked way, against the unedited window of the same seed (ties count as failures)."""
    from genart.kinds.musicvae.attributes import edited
    from genart.models.latent import seed_latents

    z, _ = seed_latents(seeds, sampler.z_dim)
    base = window_attributes(sampler.decode_windows(z, temperature, seeds))
    out = {}
    for name in sampler.attributes:
        wins = 0
        for sign in (1.0, -1.0):
            moved = window_attributes(sampler.decode_windows(edited(z, sampler.attributes, [(name, sign * amount)]),
                                                             temperature, seeds))[name]
            wins += int(((moved - base[name]) * sign > 0).sum())
        out[name] = wins / (2 * len(seeds))
    return out


def evaluate_musicvae(ctx: Any) -> Any:
    from genart.kinds.musicvae.model import active_units
    from genart.metrics import Figure, KindReport, data_facts

    model = ctx.model
    sampler = model.sampler
    n = ctx.n or DEFAULT_N
    data = ctx.training_data()
    ref = data.stats
    seeds = list(range(ctx.seed, ctx.seed + n))
    pieces = sampler.generate(seeds=seeds)
    held_w = data.val if len(data.val) else data.train
    held = [statistics(grid_score(w)) for w in held_w[:n]]
    noise = [statistics(grid_score(w)) for w in random_windows(n, sampler.net.steps, sampler.voices, ctx.seed)]
    means = {c: summarise(v) for c, v in (("model", [p.stats for p in pieces]), ("floor", held), ("ceiling", noise))}

    def dist(col: str, k: str) -> float | None:
        m = means[col].get(k)
        return round(distance(m["mean"], ref[k]), 4) if m and k in ref else None

    figures = [Figure(f"{k}_distance", f"{k.replace('_', ' ')} (sd from data)", dist("model", k),
                      dist("floor", k), dist("ceiling", k), "lower") for k in STATS]
    best = model.info.get("best") or {}
    if best.get("val_loss") is not None:
        uniform = sampler.net.steps * sampler.voices * math.log(CLASSES)
        figures.insert(0, Figure("val_loss", "held-out negative ELBO (nats per window)", float(best["val_loss"]), None,
                                 uniform, "lower", "ceiling: a uniform guess"))
    mu = sampler.encode(held_w[:512]) if len(held_w) else torch.zeros((0, sampler.z_dim))
    active = active_units(mu)
    figures.append(Figure("active_units", "active latent units (Cov_x E[z|x] > 0.01)", float(active), None,
                          float(sampler.z_dim), "higher", f"of {sampler.z_dim}"))
    edit_seeds = max(n, EDIT_SEEDS)
    success = edit_success(sampler, list(range(ctx.seed, ctx.seed + edit_seeds)))
    for name, share in success.items():
        label = f"{name} edits (+-{EDIT_AMOUNT:g}) moving it the asked way (share of {2 * edit_seeds})"
        figures.append(Figure(f"edit_{name}", label, share, 0.5, 1.0, "higher", "floor: a coin toss"))
    details = {"statistics": {"training": ref, **means}, "active_units": active, "edit_success": success,
               "edit_seeds": edit_seeds, "windows": n, "bars": sampler.bars}
    return KindReport(columns={"model": "generated", "floor": "held-out windows", "ceiling": "random notes"},
                      figures=figures, details=details, data=data_facts(model.run, data.report, len(data)))
