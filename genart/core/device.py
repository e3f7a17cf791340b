"""Device, thread and precision choices, made once per process."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

from genart.core.errors import ConfigError


def pick_device(name: str = "auto") -> torch.device:
    """`auto` picks cuda, then mps, then cpu; asking for one that is absent is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda asked for, but no CUDA GPU is visible", "use --device auto or cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("--device mps asked for, but MPS is not available", "use --device auto or cpu")
    return torch.device(name)


def set_threads(n: int = 0) -> int:
    """Set torch's intra-op threads. 0 means: OMP_NUM_THREADS if set, else one per rank under
    torchrun, else the cores other processes leave idle (idle_cores). Returns the count in force."""
    if n <= 0:
        if os.environ.get("OMP_NUM_THREADS", "").isdigit():
            n = int(os.environ["OMP_NUM_THREADS"])
        elif int(os.environ.get("WORLD_SIZE", "1")) > 1:
            n = 1
        else:
            n = idle_cores()
    n = max(1, n)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def idle_cores() -> int:
    """Cores not busy with other work. torch's OpenMP threads slow down many times over when one of them shares a
    core with another busy process, so genart takes only the idle ones; one thread is never slowed that way.

    Busy-ness is measured over a quarter of a second from /proc/stat (Linux), while this process sleeps, so the
    work genart itself just finished (a demo's previous model, say) does not count; elsewhere the 1-minute load
    average stands in."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    busy = busy_cores(0.25)
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except (OSError, AttributeError):
            busy = 0.0
    return max(1, cores - int(busy + 0.5))


def cpu_times() -> tuple[int, int] | None:
    """(all, idle) clock ticks the machine's CPUs have spent since boot, from /proc/stat (None without it: not Linux).
    all is user .. steal (guest time is already inside user), idle is idle + iowait; os.sysconf("SC_CLK_TCK") ticks
    make a second. Two samples say how busy the machine was between them."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]), idle


def busy_cores(seconds: float) -> float | None:
    """How many of the machine's cores other processes kept busy during the next `seconds` (None without /proc)."""
    import time

    first = cpu_times()
    if first is None:
        return None
    time.sleep(seconds)
    second = cpu_times()
    if second is None or second[0] <= first[0]:
        return None
    total, idle = second[0] - first[0], second[1] - first[1]
    machine_cores = os.cpu_count() or 1
    return machine_cores * (total - idle) / total


def cpu_has_bf16() -> bool:
    """True when the CPU has bf16 matrix instructions (AVX512-BF16 or AMX)."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # older torch
        return False


def resolve_precision(precision: str, device: torch.device, bf16_helps: bool) -> str:
    """`auto` gives bf16 where the hardware has it and the model is one where it measurably helps."""
    if precision == "bf16":
        if device.type == "cpu" and not cpu_has_bf16():
            raise ConfigError("--precision bf16 asked for, but this CPU has no bf16 instructions",
                              "use --precision auto or fp32")
        return "bf16"
    if precision == "fp16":  # fp16 autocast with a GradScaler (genart.models.base.Trainable.optimize): CUDA only
        if device.type != "cuda":
            raise ConfigError(f"--precision fp16 needs a CUDA GPU; this run trains on {device.type}",
                              "use --precision auto, fp32 or bf16")
        return "fp16"
    if precision == "fp32":
        return "fp32"
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() and bf16_helps else "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_has_bf16() and bf16_helps else "fp32"
    return "fp32"


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Mixed precision for the heavy work; weights and optimizer state stay fp32."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    if precision == "fp16":
        return torch.autocast(device_type=device.type, dtype=torch.float16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def fork_rng(seed: int) -> Iterator[None]:
    """Run a block with torch's global RNG seeded, restoring the previous state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
