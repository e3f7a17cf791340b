"""The music VAE issue's checks on a trained musicvae run (not timed; prints figures for the README).

- active latent units on the held-out windows;
- interpolation: for pairs of held-out windows, decode 8 slerp steps and count the pairs whose statistic moves
  toward the target window's (Spearman rho of step number against the statistic, signed, > 0);
- attribute edits: the share of (seed, sign) pairs where an edit of +-amount moves its attribute the asked way.

    .venv/bin/python benchmarks/musicvae_checks.py runs/mvae --pairs 30 --seeds 50
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torchmetrics.functional import spearman_corrcoef

import genart
from genart.kinds.musicvae.data import FIRST_PITCH, LOW, load_windows, window_attributes
from genart.kinds.musicvae.evaluate import edit_success
from genart.kinds.musicvae.model import active_units
from genart.morph import morph_latents

STATS = ("mean_pitch", "density", "range", "syncopation")


def features(windows: torch.Tensor) -> dict[str, torch.Tensor]:
    """The edit attributes plus the mean onset pitch of each window, (N,) each."""
    w = windows.long()
    onset = w >= FIRST_PITCH
    pitch = torch.where(onset, w - FIRST_PITCH + LOW, 0).float()
    mean = pitch.sum((1, 2)) / onset.sum((1, 2)).clamp_min(1)
    return {"mean_pitch": mean, **window_attributes(windows)}


def interpolation(sampler: object, val: torch.Tensor, pairs: int, steps: int, temperature: float) -> dict[str, list]:
    mu = sampler.encode(val)
    rng = np.random.default_rng(0)
    moved: dict[str, list[float]] = {k: [] for k in STATS}
    for _ in range(pairs):
        i, j = rng.choice(len(val), 2, replace=False)
        decoded = sampler.decode_windows(morph_latents(mu[i], mu[j], steps), temperature, [0] * steps)
        ends, path = features(val[[i, j]]), features(decoded)
        for k in STATS:
            gap = float(ends[k][1] - ends[k][0])
            if abs(gap) < 1e-6 or float(path[k].std()) == 0:
                continue
            rho = float(spearman_corrcoef(torch.arange(steps).float(), path[k].float()))
            moved[k].append(np.sign(gap) * rho)
    return moved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--pairs", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--amount", type=float, default=1.5)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = genart.load(a.run, device="cpu")
    sampler = model.sampler
    val = load_windows(model.run.config, model.run.resolved).val
    print(f"{a.run}: step {model.step}, {len(val)} held-out windows, {torch.get_num_threads()} thread(s)")
    print(f"active units: {active_units(sampler.encode(val))} of {sampler.z_dim}")
    t0 = time.perf_counter()
    moved = interpolation(sampler, val, a.pairs, 8, 0.3)
    print(f"interpolation, {a.pairs} pairs of held-out windows, 8 steps, temperature 0.3 "
          f"({time.perf_counter() - t0:.1f} s): pairs moving toward the target (mean signed rho)")
    for k, rhos in moved.items():
        print(f"  {k}: {np.mean(np.array(rhos) > 0):.0%} ({np.mean(rhos):.2f}) of {len(rhos)}")
    for t in (0.5, 0.0):
        share = edit_success(sampler, list(range(a.seeds)), a.amount, t)
        print(f"edits +-{a.amount:g}, {a.seeds} seeds x 2 signs, temperature {t:g}: "
              + ", ".join(f"{k} {v:.0%}" for k, v in share.items()))


if __name__ == "__main__":
    main()
