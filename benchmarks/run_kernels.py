"""The "kernels" section of benchmarks/run.py: GFLOP/s of each part of a training step (forward, input gradient,
weight gradient) in fp32 and bf16, for the 4x4 stride-2 layers of the dcgan and the VAE and the text cases' LSTM:
where bf16 pays and where it does not."""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable
from typing import Any

import more_cases
import torch
import torch.nn.functional as F
from machine import bf16_lstm
from run_report import Run, table
from torch import nn

BATCH = 64
# (name, in channels, out channels, input size, transposed): the 4x4 stride-2 layers of the dcgan and the VAE at 32x32
CONV_LAYERS = (("dcgan D 64->128, 16->8", 64, 128, 16, False), ("dcgan D 128->256, 8->4", 128, 256, 8, False),
               ("dcgan G 256->128, 4->8", 256, 128, 4, True), ("dcgan G 128->64, 8->16", 128, 64, 8, True),
               ("VAE enc 32->64, 16->8", 32, 64, 16, False), ("VAE dec 64->32, 8->16", 64, 32, 8, True))


def _median_ms(fn: Callable[[], object], reps: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def conv_row(layer: tuple[str, int, int, int, bool], reps: int) -> list[str]:
    """One 4x4 stride-2 layer at batch 64: forward, backward-data and backward-weight GFLOP/s, fp32 in NCHW (as the
    reference loops run) and bf16 in channels_last (as genart runs)."""
    name, cin, cout, size, transposed = layer
    backward = torch.ops.aten.convolution_backward
    figures = {}
    for dtype, fmt, key in ((torch.float32, torch.contiguous_format, "fp32"),
                            (torch.bfloat16, torch.channels_last, "bf16")):
        x = torch.randn(BATCH, cin, size, size, dtype=dtype).contiguous(memory_format=fmt)
        w_shape = (cin, cout, 4, 4) if transposed else (cout, cin, 4, 4)
        w = torch.randn(w_shape, dtype=dtype).contiguous(memory_format=fmt)
        conv = F.conv_transpose2d if transposed else F.conv2d
        y = conv(x, w, None, 2, 1)
        go = torch.randn_like(y)
        flops = 2.0 * (x if transposed else y).numel() * (cout if transposed else cin) * 16

        def bw(mask: list[bool], go: torch.Tensor = go, x: torch.Tensor = x, w: torch.Tensor = w) -> object:
            return backward(go, x, w, None, [2, 2], [1, 1], [1, 1], transposed, [0, 0], 1, mask)

        ms = [_median_ms(lambda conv=conv, x=x, w=w: conv(x, w, None, 2, 1), reps),
              _median_ms(lambda bw=bw: bw([True, False, False]), reps),
              _median_ms(lambda bw=bw: bw([False, True, False]), reps)]
        figures[key] = [flops / t / 1e6 for t in ms]
    return [name] + [_pair(figures, i) for i in range(3)] + [_bound(figures, (1 / 3, 1 / 3, 1 / 3))]


def lstm_row(reps: int) -> list[str]:
    """oneDNN's whole-sequence LSTM kernel of the text cases, forward and forward + backward (bf16: n/a on a CPU
    without a bf16 LSTM kernel)."""
    cfg = more_cases.TEXT
    lstm = nn.LSTM(cfg["embed"], cfg["hidden"], cfg["layers"], batch_first=True)
    x = torch.randn(cfg["batch"], cfg["bptt"], cfg["embed"])
    per_char = 2 * 4 * cfg["hidden"] * (cfg["embed"] + cfg["hidden"]) + 2 * 4 * cfg["hidden"] * 2 * cfg["hidden"]
    flops = per_char * cfg["batch"] * cfg["bptt"]
    figures = {}
    for key in ("fp32", "bf16") if bf16_lstm() else ("fp32",):
        ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if key == "bf16" else contextlib.nullcontext

        def fwd(ctx: Callable[[], Any] = ctx) -> object:
            with torch.no_grad(), ctx():
                return lstm(x)

        def both(ctx: Callable[[], Any] = ctx) -> object:
            with ctx():
                out, _ = lstm(x)
            out.float().sum().backward()
            return out

        t_f, t_b = _median_ms(fwd, max(3, reps // 3)), _median_ms(both, max(3, reps // 3))
        figures[key] = [flops / t_f / 1e6, 2 * flops / max(1e-9, t_b - t_f) / 1e6]
    name = f"LSTM {cfg['layers']} x {cfg['hidden']}, batch {cfg['batch']} x {cfg['bptt']}"
    if "bf16" not in figures:
        return [name] + [f"{f:.0f} / n/a (no bf16 LSTM kernel on this CPU)" for f in figures["fp32"]] + [
            "(in the backward)", "n/a"]
    return [name] + [_pair(figures, i) for i in range(2)] + ["(in the backward)", _bound(figures, (1 / 3, 2 / 3))]


def _bound(figures: dict[str, list[float]], shares: tuple[float, ...]) -> str:
    """The speed-up of the whole layer (forward and backward) when each part keeps its share of the FLOPs."""
    fp32 = sum(s / f for s, f in zip(shares, figures["fp32"], strict=False))
    bf16 = sum(s / f for s, f in zip(shares, figures["bf16"], strict=False))
    return f"**{fp32 / bf16:.2f}x**"


def _pair(figures: dict[str, list[float]], i: int) -> str:
    fp32, bf16 = figures["fp32"][i], figures["bf16"][i]
    return f"{fp32:.0f} / {bf16:.0f} ({bf16 / fp32:.2f}x)"


def section(run: Run) -> list[str]:
    reps = 5 if run.quick else 30
    rows = [conv_row(layer, reps) for layer in CONV_LAYERS] + [lstm_row(reps)]
    for r in rows:
        print("  kernel " + " | ".join(r), flush=True)
    return ["## Kernels: GFLOP/s of each part of a training step, fp32 / bf16", "",
            f"Batch {BATCH} for the convolutions (fp32 in NCHW as the reference loops run them, bf16 in channels_last "
            "as genart does); the LSTM as in the text cases (its backward holds both gradients). Median of "
            f"{reps} calls. Forward, input gradient and weight gradient each hold a third of a "
            "layer's FLOPs (the LSTM: forward a third, backward two), so the last column, the layer's whole "
            "fp32 time over its whole bf16 time, is what bf16 can give a training step made of such layers; "
            "on CPUs without AMX the bf16 weight-gradient kernels are little faster than fp32's, which caps it "
            "well below the matrix-multiply peaks' ratio.", "",
            table(["layer", "forward", "backward, input gradient", "backward, weight gradient",
                   "fp32 / bf16 time, whole layer"], rows), ""]
