"""Diffusion benchmarks: training steps/s against a clean fp32 reference loop of the same UNet (and diffusers'
UNet2DModel when installed), GFLOP/s against the machine's peaks, sampling speed, and peak memory at 64 px.

    .venv/bin/python benchmarks/bench_diffusion.py [--out benchmarks/RESULTS-diffusion.md] [--quick]

Run it alone: another process on the machine slows torch's threads many times over (the report shows the load)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from machine import describe, load_average  # noqa: E402
from run_peaks import conv_peak, mm_peak  # noqa: E402

from genart.core.device import set_threads  # noqa: E402
from genart.data.images import ImageData  # noqa: E402
from genart.kinds.diffusion.config import DiffusionConfig  # noqa: E402
from genart.kinds.diffusion.model import DiffusionSampler, DiffusionTrainable, build_unet  # noqa: E402
from genart.models.latent import seed_latents  # noqa: E402

SIZE, CHANNELS, BATCH, CLASSES = 32, 3, 64, 10


def fake_data(n: int = 512, size: int = SIZE) -> ImageData:
    g = torch.Generator().manual_seed(0)
    return ImageData(torch.randint(0, 256, (n, CHANNELS, size, size), generator=g, dtype=torch.uint8),
                     torch.randint(0, CLASSES, (n,), generator=g), [str(i) for i in range(CLASSES)])


def timed(step: object, seconds: float, warmup: int = 2) -> float:
    """Calls per second of step() over about `seconds` after `warmup` calls."""
    for _ in range(warmup):
        step()  # type: ignore[operator]
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or n < 2:
        step()  # type: ignore[operator]
        n += 1
    return n / (time.perf_counter() - t0)


def genart_step(cfg: DiffusionConfig) -> tuple[object, DiffusionTrainable]:
    tr = DiffusionTrainable(cfg, fake_data(size=cfg.size), torch.device("cpu"), "fp32", torch.Generator().manual_seed(1))
    counter = [0]

    def step() -> None:
        tr.train_step(counter[0])
        counter[0] += 1
    return step, tr


def reference_step(net: torch.nn.Module, call: object) -> object:
    """The loop a user would write: plain fp32, AdamW (default, not fused), random times, MSE on the velocity."""
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x0 = torch.rand(BATCH, CHANNELS, SIZE, SIZE) * 2 - 1
    y = torch.randint(0, CLASSES, (BATCH,))

    def step() -> None:
        eps, t = torch.randn_like(x0), torch.rand(BATCH)
        xt = (1 - t.view(-1, 1, 1, 1)) * x0 + t.view(-1, 1, 1, 1) * eps
        loss = F.mse_loss(call(net, xt, t, y), eps - x0)  # type: ignore[operator]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def step_flops(net: torch.nn.Module, call: object) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.randn(BATCH, CHANNELS, SIZE, SIZE)
    with FlopCounterMode(display=False) as fc:
        call(net, x, torch.rand(BATCH), torch.randint(0, CLASSES, (BATCH,))).sum().backward()  # type: ignore[operator]
    return float(fc.get_total_flops())


def diffusers_unet() -> torch.nn.Module | None:
    try:
        from diffusers import UNet2DModel
    except ImportError:
        return None
    return UNet2DModel(sample_size=SIZE, in_channels=CHANNELS, out_channels=CHANNELS, block_out_channels=(32, 64, 64),
                       layers_per_block=1, down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
                       up_block_types=("UpBlock2D", "AttnUpBlock2D", "UpBlock2D"), num_class_embeds=CLASSES + 1,
                       norm_num_groups=8)


def training_rows(seconds: float) -> list[list[str]]:
    peak = max(mm_peak(torch.float32, (1024, 2048), 3), conv_peak(torch.float32, 3))
    rows = []
    own = lambda n, x, t, y: n(x, t, y)  # noqa: E731
    for patch in (2, 1):
        cfg = DiffusionConfig(data="builtin:abstract", size=SIZE, patch=patch, batch=BATCH)
        cfg.validate()
        step, tr = genart_step(cfg)
        mine = timed(step, seconds)
        plain = timed(reference_step(build_unet(cfg, CHANNELS, CLASSES), own), seconds)
        flops = step_flops(build_unet(cfg, CHANNELS, CLASSES), own)
        params = sum(p.numel() for p in tr.net.parameters()) / 1e6
        rows.append([f"genart UNet, width 32, patch {patch} ({params:.2f}M)", f"**{mine:.2f}**", f"{plain:.2f}",
                     f"{mine / plain:.2f}x", f"{flops / 1e9:.1f}", f"{mine * flops / 1e9:.0f} ({mine * flops / 1e9 / peak:.0%})"])
    net = diffusers_unet()
    if net is not None:
        call = lambda n, x, t, y: n(x, t * 1000, class_labels=y).sample  # noqa: E731
        plain = timed(reference_step(net, call), seconds)
        flops = step_flops(diffusers_unet(), call)  # type: ignore[arg-type]
        params = sum(p.numel() for p in net.parameters()) / 1e6
        rows.append([f"diffusers UNet2DModel 32/64/64, attention at 16 px ({params:.2f}M)", "", f"{plain:.2f}", "",
                     f"{flops / 1e9:.1f}", f"{plain * flops / 1e9:.0f} ({plain * flops / 1e9 / peak:.0%})"])
    rows.append(["fp32 peak (best of torch.mm and a 3x3 convolution)", "", "", "", "", f"{peak:.0f}"])
    return rows


def sampling_rows() -> list[list[str]]:
    cfg = DiffusionConfig(data="builtin:abstract", size=SIZE)
    cfg.validate()
    net = build_unet(cfg, CHANNELS, 0).eval().requires_grad_(False)
    sampler = DiffusionSampler.from_network(cfg, net, 0, torch.device("cpu"))
    z, y = seed_latents(list(range(64)), sampler.z_dim)
    rows = []
    for steps, method in ((cfg.sample_steps, cfg.sampler), (8, "dpm"), (16, "dpm"), (64, "dpm"), (8, "heun")):
        sampler.configure(steps=steps, method=method)
        sampler.render(z[:4], y[:4])
        t0 = time.perf_counter()
        sampler.render(z, y)
        dt = time.perf_counter() - t0
        rows.append([f"{steps} {method} steps" + (" (default)" if (steps, method) == (cfg.sample_steps, cfg.sampler)
                                                  else ""), f"{dt:.2f}", f"{64 / dt:.0f}"])
    return rows


def soundness_rows(steps: int) -> list[list[str]]:
    """Mean training loss of the same run (digits, 16 px, same seed) in fp32 and under bf16 autocast."""
    from genart.data.builtin import load_builtin

    data = load_builtin("digits", 16, "auto")
    rows = []
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        cfg = DiffusionConfig(data="builtin:digits", size=16, width=16)
        cfg.validate()
        tr = DiffusionTrainable(cfg, data, torch.device("cpu"), precision, torch.Generator().manual_seed(1))
        losses = [float(tr.train_step(i)["loss"]) for i in range(steps)]
        half = losses[steps // 2:]
        rows.append([precision, f"{sum(losses[:steps // 2]) / (steps // 2):.4f}", f"{sum(half) / len(half):.4f}"])
    return rows


def memory_row(steps: int) -> list[str]:
    """Peak resident memory of `genart train diffusion` at 64 px with default settings, in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        code = ("import resource, sys; from genart.cli import main; sys.argv = ['genart', 'train', 'diffusion', "
                f"'--data', 'builtin:abstract', '--size', '64', '--steps', '{steps}', '--sample-every', '0', '--out', "
                f"'{tmp}/run']\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
                "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1200)
        peak = next((int(line.split()[1]) for line in out.stdout.splitlines() if line.startswith("PEAK")), 0)
        rate = json.loads((Path(tmp) / "run" / "metrics.jsonl").read_text().splitlines()[-1]).get("steps_per_s", 0)
    return [f"64 px, default settings (batch 32), {steps} steps", f"{peak / 1024:.0f} MB", f"{rate:.2f}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS-diffusion.md"))
    ap.add_argument("--quick", action="store_true", help="short timings (seconds, not minutes)")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    threads = set_threads(args.threads)
    print(f"threads: {threads}", flush=True)
    lines = ["# Diffusion benchmarks", "", *[f"- {k}: {v}" for k, v in describe(threads).items()],
             f"- load average at the start: {load_average()}", "",
             f"## Training at {SIZE}x{SIZE}x{CHANNELS}, batch {BATCH}, class-conditional, fp32", "",
             "steps/s of genart's training step (DiffusionTrainable: fused AdamW, EMA, warm-up, gradient clipping, label "
             "dropping) against a clean fp32 reference loop of the same network; GFLOP per step counted by "
             "torch.utils.flop_counter.", ""]
    lines += table(["network", "genart steps/s", "reference loop steps/s", "ratio", "GFLOP/step", "GFLOP/s (of peak)"],
                   training_rows(2.0 if args.quick else 10.0))
    lines += ["", f"## Sampling 64 images at {SIZE}x{SIZE}x{CHANNELS} (untrained network: the cost, not the quality)",
              ""]
    lines += table(["sampler", "seconds", "images/s"], sampling_rows())
    sound = 20 if args.quick else 300
    lines += ["", f"## bf16 soundness: mean loss over {sound} steps (digits, 16 px, same seed)", ""]
    lines += table(["precision", "first half", "second half"], soundness_rows(sound))
    lines += ["", "## Memory", ""]
    lines += table(["training", "peak resident memory", "steps/s"], [memory_row(3 if args.quick else 20)])
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


if __name__ == "__main__":
    main()
