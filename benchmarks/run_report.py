"""What the sections of one benchmarks/run.py run share, and the markdown report they make together."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from cpu_load import QUIET, cpu_busy, others_share
from machine import describe, load_average

NAN = float("nan")


@dataclass
class Run:
    """One run: its options, its threads, when it started, the machine before it, and the peaks the training
    section compares against (NaN when the peaks section was skipped)."""

    args: argparse.Namespace
    threads: int
    t_start: float = field(default_factory=time.perf_counter)
    cpu_start: tuple[float, float] = field(default_factory=cpu_busy)
    load_before: str = field(default_factory=load_average)
    info: dict[str, str] = field(default_factory=dict)
    peaks: dict[str, float] = field(default_factory=lambda: {"fp32": NAN, "bf16": NAN})
    conv_peaks: dict[str, float] = field(default_factory=lambda: {"fp32": NAN, "bf16": NAN})

    def __post_init__(self) -> None:
        self.info = describe(torch.get_num_threads())

    @property
    def quick(self) -> bool:
        return bool(self.args.quick)

    def stamp(self) -> str:
        return f"[{time.perf_counter() - self.t_start:.0f} s]"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def pct(x: float, of: float) -> str:
    return f"{100 * x / of:.0f}%" if of == of and of > 0 else "n/a"


def print_machine(run: Run) -> None:
    print("genart benchmarks: run this alone; other work on the CPU lowers and scatters every figure")
    for k, v in run.info.items():
        print(f"  {k}: {v}")
    print(f"  running on {run.threads} threads ({os.cpu_count()} cores); load average before: {run.load_before}",
          flush=True)


def report(run: Run, body: list[str], title: str = "# genart benchmarks") -> str:
    """The whole report: how it was made, the machine and how busy it was, then the sections' `body`."""
    load_after = load_average()
    elapsed = time.perf_counter() - run.t_start
    others = others_share(run.cpu_start, elapsed)
    print(f"other processes used {100 * others:.0f}% of the CPU during this run; load average after: {load_after}")
    cmd = " ".join([".venv/bin/python", "benchmarks/run.py", *sys.argv[1:]])
    md = [title, "",
          f"Produced by `{cmd}` on {time.strftime('%Y-%m-%d %H:%M')}, in {elapsed:.0f} s, on {run.threads} threads.", "",
          "## Machine", "", table(["", ""], [[k, v] for k, v in run.info.items()]), "",
          f"Load average (1, 5, 15 min) before: {run.load_before}; after: {load_after}. "
          f"Other processes used {100 * others:.0f}% of the machine's CPU time during the run (from /proc/stat). "
          + ("**The machine was busy with other work during part of this run.** Training figures come from the quiet "
             "rounds only where there were any (column `quiet rounds`); the sections below say how they coped."
             if others > QUIET else "The machine was otherwise idle."), "",
          *body]
    return "\n".join(md)


def write(text: str, out: Path, append: bool) -> None:
    """Print the report and write it to `out` (or, with `append`, add it to the end of what is there)."""
    print()
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    if append and out.exists():
        text = out.read_text().rstrip("\n") + "\n\n---\n\n" + text.replace("benchmarks", "benchmarks, another run", 1)
    out.write_text(text)
    print(f"{'appended' if append else 'written'} to {out}")
