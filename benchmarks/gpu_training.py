"""How benchmarks/gpu_check.py builds and times a kind's Trainable, and what makes a CPU run and a device run of it
comparable: the same noise, fp32 as fp32."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch

from genart.core.config import TrainConfig
from genart.core.registry import get_kind
from genart.core.trainable import Trainable


def build(kind: str, cfg: TrainConfig, data: Any, device: torch.device, precision: str) -> Trainable:
    """The kind's Trainable as genart.train.Trainer builds it: global seed, then the batch generator."""
    torch.manual_seed(cfg.seed)
    return get_kind(kind).trainable_class()(cfg, data, device, precision, torch.Generator().manual_seed(cfg.seed + 1))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def cpu_noise() -> Iterator[None]:
    """torch.randn / rand / randn_like / rand_like drawn on the CPU (from torch's CPU generator), then moved to the
    device asked for: a CPU run and a device run from the same seed then see the same noise."""
    names = ("randn", "rand", "randn_like", "rand_like")
    orig = {n: getattr(torch, n) for n in names}

    def plain(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        def draw(*size: Any, device: Any = None, dtype: Any = None, **kw: Any) -> torch.Tensor:
            kw.pop("requires_grad", None)
            out = fn(*size, dtype=dtype, **kw)
            return out.to(device) if device is not None else out
        return draw

    def like(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        def draw(t: torch.Tensor, dtype: Any = None, **kw: Any) -> torch.Tensor:
            return fn(tuple(t.shape), dtype=dtype or t.dtype).to(kw.get("device") or t.device)
        return draw

    torch.randn, torch.rand = plain(orig["randn"]), plain(orig["rand"])
    torch.randn_like, torch.rand_like = like(orig["randn"]), like(orig["rand"])
    try:
        yield
    finally:
        for n, fn in orig.items():
            setattr(torch, n, fn)


@contextlib.contextmanager
def exact_fp32() -> Iterator[None]:
    """fp32 as fp32 on CUDA: TF32 off for matrix multiplies and convolutions (PyTorch turns it on for cuDNN)."""
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.get_float32_matmul_precision())
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old[0], old[1]
        torch.set_float32_matmul_precision(old[2])


def timed(t: Trainable, device: torch.device, seconds: float, warmup: int = 3) -> tuple[float, int, dict[str, float]]:
    """Steps/s of `t.train_step` over at least `seconds` (and 3 steps), after `warmup` steps; the last losses."""
    step = 0
    for _ in range(warmup):
        t.train_step(step)
        step += 1
    sync(device)
    t0 = time.perf_counter()
    n = 0
    while True:
        last = t.train_step(step)
        step += 1
        n += 1
        if n >= 3 and time.perf_counter() - t0 >= seconds:
            break
    sync(device)
    dt = time.perf_counter() - t0
    return n / dt, n, {k: float(v) for k, v in last.items()}


def finite(values: dict[str, float]) -> bool:
    return all(math.isfinite(v) for v in values.values())
