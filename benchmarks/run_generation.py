"""The "generation" section of benchmarks/run.py: how long a dcgan generator takes to make a batch of images, in
fp32 and bf16 autocast, NCHW and channels_last (eval mode, inference_mode)."""

from __future__ import annotations

import contextlib
import copy
import statistics
import time

import gan_cases
import torch
from cpu_load import Window
from run_report import Run, table

from genart.kinds.gan.model import build_generator, init_weights


def median_ms(net: torch.nn.Module, z: torch.Tensor, precision: str, reps: int) -> float:
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
    times = []
    with torch.inference_mode(), ctx:
        for _ in range(3):
            net(z)
        for _ in range(reps):
            t = time.perf_counter()
            net(z)
            times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def generation(reps: int, attempts: int) -> tuple[dict[str, float], bool]:
    """64 images at 32x32 from a dcgan generator, eval mode, inference_mode: median ms of `reps` calls.

    Up to `attempts` tries, until one in which other processes left the CPU alone; otherwise the fastest try.
    Returns the medians and whether they come from a quiet try."""
    c, _, z_dim, _ = gan_cases.ARCHS["dcgan"]
    torch.manual_seed(0)
    G = build_generator(gan_cases.gan_config("dcgan"), c, 0).apply(init_weights).eval()
    G_cl = copy.deepcopy(G).to(memory_format=torch.channels_last)
    z = torch.randn(gan_cases.BATCH, z_dim)
    variants = (("fp32", G, "fp32"), ("bf16 autocast", G, "bf16"),
                ("fp32, channels_last", G_cl, "fp32"), ("bf16 autocast, channels_last", G_cl, "bf16"))
    best: dict[str, float] = {}
    for _ in range(attempts):
        window = Window()
        out = {name: median_ms(net, z, prec, reps) for name, net, prec in variants}
        if window.quiet():
            return out, True
        best = out if not best or sum(out.values()) < sum(best.values()) else best
    return best, False


def section(run: Run) -> list[str]:
    reps = 8 if run.quick else 20
    gen, quiet = generation(reps, attempts=2 if run.quick else 5)
    n, size = gan_cases.BATCH, gan_cases.ARCHS["dcgan"].size
    print(f"generation, {n} images {size}x{size} (median ms): " + ", ".join(f"{k} {v:.1f}" for k, v in gen.items())
          + ("" if quiet else " (machine busy)") + f" {run.stamp()}", flush=True)
    return [f"## Generation: {n} images at {size}x{size} from a dcgan generator (eval, inference_mode)", "",
            table(["precision", f"median ms (of {reps})"], [[k, f"{v:.1f}"] for k, v in gen.items()]), "",
            "Measured while the machine was otherwise quiet." if quiet
            else "**No try was quiet: other processes were using the CPU; these are the fastest try's figures.**", ""]
