"""VAE benchmarks: training steps/s at 32x32, batch 64 (genart's step in fp32 and bf16 against a clean eager fp32
reference loop of the same networks), encode and decode images/s, and bf16 soundness on real data.

    .venv/bin/python benchmarks/bench_vae.py --threads 1            # about 2 minutes
    .venv/bin/python benchmarks/bench_vae.py --threads 1 --quick    # under a minute

Prints a markdown report (and writes it with --out). `benchmarks/run.py` can include it: `bench_vae.report(...)`.
The load average before and after is part of the report: other work on the machine lowers every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from machine import cpu_model, load_average  # noqa: E402

from genart.core.device import cpu_has_bf16, set_threads  # noqa: E402
from genart.data.image_data import load_images  # noqa: E402
from genart.data.images import ImageData  # noqa: E402
from genart.io.images import to_signed  # noqa: E402
from genart.kinds.vae.config import VAEConfig  # noqa: E402
from genart.kinds.vae.model import VAETrainable, build_networks  # noqa: E402

SIZE, BATCH, N_IMAGES = 32, 64, 2048
CPU = torch.device("cpu")


def random_data(channels: int, seed: int = 0) -> ImageData:
    g = torch.Generator().manual_seed(seed)
    return ImageData(images=torch.randint(0, 256, (N_IMAGES, channels, SIZE, SIZE), dtype=torch.uint8, generator=g))


def config(channels: int) -> VAEConfig:
    cfg = VAEConfig(data="bench", size=SIZE, batch=BATCH, recon="bernoulli" if channels == 1 else "gaussian")
    cfg.validate()
    return cfg


# --- training cases -----------------------------------------------------------------------------------

def clean_step(channels: int, data: ImageData) -> Callable[[], object]:
    """A plain eager fp32 VAE loop over the same networks: images in memory, Adam, the textbook loss
    (bernoulli cross-entropy, or a gaussian with the batch's optimal scale, plus the analytic KL)."""
    torch.manual_seed(0)
    cfg = config(channels)
    enc, dec = build_networks(cfg, channels)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=cfg.lr)
    images = data.images.float() / 127.5 - 1.0

    def step() -> object:
        x = images[torch.randint(len(images), (BATCH,))]
        mu, logvar = enc(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        out = dec(z)
        if channels == 1:
            rec = F.binary_cross_entropy_with_logits(out, (x + 1) / 2, reduction="sum") / BATCH
        else:  # the sigma-VAE's closed form: the gaussian NLL at the batch's optimal scale, up to a constant
            rec = 0.5 * x[0].numel() * torch.log((x - out).pow(2).mean())
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum() / BATCH
        loss = rec + kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    return step


def genart_step(channels: int, data: ImageData, precision: str) -> Callable[[], object]:
    torch.manual_seed(0)
    model = VAETrainable(config(channels), data, CPU, precision, torch.Generator().manual_seed(1))
    i = [0]

    def step() -> object:
        i[0] += 1
        return model.train_step(i[0])  # tensors, never synced to the host

    return step


def rate(step: Callable[[], object], seconds: float, warmup: int = 3) -> float:
    for _ in range(warmup):
        step()
    n, t0 = 0, time.perf_counter()
    while n < 3 or time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return n / (time.perf_counter() - t0)


def training(channels: int, rounds: int, seconds: float) -> dict[str, list[float]]:
    """Best-of-rounds steps/s, the cases alternating within each round so load changes hit them alike."""
    data = random_data(channels)
    cases = {"clean eager fp32 (reference)": clean_step(channels, data), "genart fp32": genart_step(channels, data, "fp32")}
    if cpu_has_bf16():
        cases["genart bf16 autocast"] = genart_step(channels, data, "bf16")
    rates: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(rounds):
        for k, step in cases.items():
            rates[k].append(rate(step, seconds))
    return rates


# --- encode / decode ----------------------------------------------------------------------------------

def codec(channels: int, reps: int) -> dict[str, float]:
    """Images/s of the posterior mean (encode) and of the decoder's mean image (decode), batch 256, inference mode."""
    torch.manual_seed(0)
    cfg = config(channels)
    enc, dec = (m.eval() for m in build_networks(cfg, channels))
    x = to_signed(random_data(channels).images[:256])
    z = torch.randn(256, cfg.latent)
    out = {}
    for prec in ("fp32", "bf16") if cpu_has_bf16() else ("fp32",):
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if prec == "bf16" else contextlib.nullcontext()
        for name, fn in (("encode", lambda: enc(x)), ("decode", lambda: dec(z))):
            with torch.inference_mode(), ctx:
                fn()
                best = 0.0
                for _ in range(reps):
                    t = time.perf_counter()
                    fn()
                    best = max(best, 256 / (time.perf_counter() - t))
            out[f"{name} {prec}"] = best
    return out


# --- bf16 soundness -----------------------------------------------------------------------------------

def soundness(steps: int, data_name: str = "builtin:abstract") -> dict[str, dict[str, float]]:
    """genart's VAE at 32x32 on real data, fp32 and bf16 from the same seed: held-out figures after `steps`."""
    cfg = VAEConfig(data=data_name, size=SIZE, batch=BATCH)
    cfg.validate()
    data = load_images(cfg)
    out = {}
    for prec in ("fp32", "bf16"):
        torch.manual_seed(cfg.seed)
        model = VAETrainable(cfg, data, CPU, prec, torch.Generator().manual_seed(cfg.seed + 1))
        t0 = time.perf_counter()
        for s in range(steps):
            model.train_step(s)
        secs = time.perf_counter() - t0
        out[prec] = {**model.evaluate(), "steps_per_s": steps / secs}
    return out


# --- report -------------------------------------------------------------------------------------------

def report(threads: int = 0, quick: bool = False, sound_steps: int | None = None, channels: tuple[int, ...] = (3, 1)) -> str:
    threads = set_threads(threads)
    rounds, seconds, reps = (1, 2.0, 3) if quick else (3, 4.0, 8)
    sound_steps = sound_steps if sound_steps is not None else (0 if quick else 200)
    before = load_average()
    lines = ["## VAE", "", f"{cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}, {threads} threads, "
             f"AVX512-BF16/AMX: {cpu_has_bf16()}; load average (1, 5, 15 min) before: {before}", ""]
    lines += [f"Training steps/s at {SIZE}x{SIZE}, batch {BATCH}, latent 64, width 32 (best of {rounds} rounds of "
              f"{seconds:g} s; range in brackets):", "", "| channels (recon) | loop | steps/s | vs reference |",
              "|---|---|---|---|"]
    for c in channels:
        rates = training(c, rounds, seconds)
        ref = max(rates["clean eager fp32 (reference)"])
        for k, r in rates.items():
            lines.append(f"| {c} ({'bernoulli' if c == 1 else 'gaussian'}) | {k} | **{max(r):.2f}** "
                         f"({min(r):.2f}-{max(r):.2f}) | {max(r) / ref:.2f}x |")
    figures = {c: codec(c, reps) for c in channels}
    names = list(figures[channels[0]])
    lines += ["", f"Encode / decode images/s ({SIZE}x{SIZE}, batch 256, inference mode, best of {reps}):", "",
              "| channels | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for c, f in figures.items():
        lines.append(f"| {c} | " + " | ".join(f"{f[k]:,.0f}" for k in names) + " |")
    if sound_steps and cpu_has_bf16():
        s = soundness(sound_steps)
        lines += ["", f"bf16 soundness: builtin:abstract at {SIZE}x{SIZE} (gaussian), {sound_steps} steps from the same "
                  "seed, then the held-out split:", "", "| precision | val nats/image | val bits/dim | val KL | active units "
                  "| steps/s |", "|---|---|---|---|---|---|"]
        for prec, f in s.items():
            lines.append(f"| {prec} | {f['val_loss']:.1f} | {f['val_bpd']:.3f} | {f['val_kl']:.1f} | {f['val_active']:.0f} "
                         f"| {f['steps_per_s']:.2f} |")
    lines += ["", f"Load average after: {load_average()}", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="one short round, no soundness run")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores, or OMP_NUM_THREADS)")
    ap.add_argument("--sound-steps", type=int, default=None, help="bf16 soundness steps (default 200, --quick 0)")
    ap.add_argument("--channels", default="3,1", help="comma-separated channel counts to time (3: gaussian, 1: bernoulli)")
    ap.add_argument("--out", default="", help="also write the report to this markdown file")
    args = ap.parse_args()
    text = report(args.threads, args.quick, args.sound_steps, tuple(int(c) for c in args.channels.split(",")))
    print(text)
    if args.out:
        from genart.core.files import atomic_path

        with atomic_path(Path(args.out)) as tmp:
            tmp.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
