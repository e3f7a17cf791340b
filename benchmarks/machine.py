"""What every benchmark reports about the machine it ran on."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
from functools import cache
from pathlib import Path

import torch


def cpu_model() -> str:
    """The model name from /proc/cpuinfo, with family and model numbers (a VM may show only "AMD EPYC")."""
    fields: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    return name


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def cpu_flag(name: str) -> bool:
    try:
        return bool(getattr(torch.cpu, name)())
    except (AttributeError, RuntimeError):
        return False


def describe(threads: int) -> dict[str, str]:
    """The machine table of benchmarks/run.py's report."""
    return {
        "CPU": cpu_model(),
        "cores (os.cpu_count)": str(os.cpu_count()),
        "torch": torch.__version__,
        "threads (torch.get_num_threads)": str(threads),
        "AVX512-BF16": str(cpu_flag("_is_avx512_bf16_supported")),
        "AMX tiles": str(cpu_flag("_is_amx_tile_supported")),
        "python": platform.python_version(),
    }


@cache
def bf16_lstm() -> bool:
    """Whether nn.LSTM runs under bf16 autocast here: oneDNN has no bf16 LSTM kernel for CPUs without bf16
    instructions (torch raises "could not create a primitive descriptor"), so the bf16 LSTM figures are left out."""
    lstm = torch.nn.LSTM(4, 4, batch_first=True)
    try:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            lstm(torch.zeros(1, 2, 4))
    except RuntimeError:
        return False
    return True


def chorale_bench_args(doc: str, steps: int) -> argparse.Namespace:
    """The options of the benchmarks that time training on the first --pieces Bach chorales; sets torch's threads."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    ap.add_argument("--pieces", type=int, default=40, help="chorales to use")
    ap.add_argument("--steps", type=int, default=steps, help="training steps to time")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def results_header(title: str) -> str:
    """The first lines of a RESULTS file: the title, the processor, threads, torch and the load before."""
    return (f"# {title}\n\n{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
            f"torch {torch.__version__}, load average {os.getloadavg()[0]:.2f} before\n")
