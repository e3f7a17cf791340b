"""The "peaks" section of benchmarks/run.py: the best GFLOP/s of torch.mm and of a 3x3 convolution, per dtype,
which the training section's "% of peak" columns divide by."""

from __future__ import annotations

import contextlib
import time

import torch
from cpu_load import Window
from run_report import Run, table
from torch import nn

MM_SIZES = {False: (1024, 2048, 3072), True: (1024, 2048)}  # square sizes of torch.mm, by --quick
CONV = (32, 256, 16)  # batch, channels (in and out), height and width of the 3x3 convolution
DTYPES = ((torch.float32, "fp32"), (torch.bfloat16, "bf16"))


def mm_peak(dtype: torch.dtype, sizes: tuple[int, ...], reps: int) -> float:
    """Best GFLOP/s of a square torch.mm over the given sizes."""
    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
        torch.mm(a, b)
        for _ in range(reps):
            t = time.perf_counter()
            torch.mm(a, b)
            best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def conv_peak(dtype: torch.dtype, reps: int) -> float:
    """GFLOP/s of a 3x3 convolution (256 to 256 channels, 16x16, batch 32), which runs on oneDNN, not MKL."""
    batch, ch, size = CONV
    conv = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
    x = torch.randn(batch, ch, size, size)
    flops = 2 * batch * size * size * ch * ch * 9
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if dtype == torch.bfloat16 else contextlib.nullcontext()
    best = 0.0
    with torch.inference_mode(), ctx:
        conv(x)
        for _ in range(reps):
            t = time.perf_counter()
            conv(x)
            best = max(best, flops / (time.perf_counter() - t) / 1e9)
    return best


def measure(run: Run, sizes: tuple[int, ...], reps: int) -> bool:
    """Fill run.peaks and run.conv_peaks, trying again on a busy machine (the best of all tries is kept).
    Returns whether a try was quiet."""
    for _ in range(1 if run.quick else 4):
        window = Window()
        for dt, key in DTYPES:
            run.peaks[key] = max(mm_peak(dt, sizes, reps), _or_zero(run.peaks[key]))
            run.conv_peaks[key] = max(conv_peak(dt, reps), _or_zero(run.conv_peaks[key]))
        if window.quiet():
            return True
    return False


def _or_zero(x: float) -> float:
    return 0.0 if x != x else x


def section(run: Run) -> list[str]:
    sizes = MM_SIZES[run.quick]
    quiet = measure(run, sizes, 2 if run.quick else 5)
    peaks, conv_peaks = run.peaks, run.conv_peaks
    print(f"mm peak: fp32 {peaks['fp32']:.1f} GFLOP/s, bf16 {peaks['bf16']:.1f} GFLOP/s; 3x3 conv (oneDNN): "
          f"fp32 {conv_peaks['fp32']:.1f}, bf16 {conv_peaks['bf16']:.1f} {run.stamp()}", flush=True)
    batch, ch, size = CONV
    return ["## Matrix-multiply peaks", "",
            table(["dtype", f"torch.mm GFLOP/s (best square, n up to {sizes[-1]})",
                   f"3x3 conv GFLOP/s (oneDNN, {batch}x{ch}x{size}x{size})"],
                  [[k, f"{v:.1f}", f"{conv_peaks[k]:.1f}"] for k, v in peaks.items()]), "",
            "fp32 torch.mm runs on MKL and bf16 torch.mm on oneDNN; convolutions always run on oneDNN. "
            + ("Measured while the machine was otherwise quiet." if quiet
               else "**Other processes were using the CPU during every try: these peaks are too low.**"), ""]
