"""A training case of benchmarks/run.py (one way of training one arch), and how a set of them is timed: in
alternating rounds, each round's share of the CPU taken by other processes recorded beside its steps/s."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cpu_load import QUIET, cpu_busy, others_share
from torch.utils.flop_counter import FlopCounterMode


@dataclass
class Case:
    """One way of training one arch: `step()` runs a whole training step (a GAN's: D on real and fake, then G)."""

    arch: str
    name: str
    precision: str
    step: Callable[[], object]
    note: str = ""
    rates: list[float] = field(default_factory=list)
    others: list[float] = field(default_factory=list)  # share of the CPU other processes took in each window
    flops: float = 0.0
    i: int = 0
    chars_per_step: int = 0  # the text cases': the report gives characters/s beside steps/s

    def run(self, n: int) -> None:
        for _ in range(n):
            self.step()

    @property
    def quiet(self) -> list[float]:
        return [r for r, o in zip(self.rates, self.others, strict=True) if o < QUIET]

    @property
    def best(self) -> float:
        """The best window in which the machine was otherwise quiet; failing that, the best window."""
        rates = self.quiet or self.rates
        return max(rates) if rates else float("nan")


def count_flops(case: Case) -> float:
    with FlopCounterMode(display=False) as fc:
        case.step()
    return float(fc.get_total_flops())


def warm_up(cases: list[Case], warmup: int) -> None:
    """`warmup` steps of each case, and its FLOPs per step (counted, or the genart case's of the same precision)."""
    for c in cases:
        t = time.perf_counter()
        c.run(warmup)
        if "compile" in c.name:
            c.note += f" ({time.perf_counter() - t:.0f} s to compile and warm up; less with a warm Inductor cache)"
        elif not c.flops:  # (the text cases count their FLOPs themselves: FlopCounterMode cannot see oneDNN's LSTM)
            c.flops = count_flops(c)  # FlopCounterMode does not see inside compiled graphs
        if not c.flops:
            c.flops = next((o.flops for o in cases if o.name == "genart" and o.precision == c.precision), 0.0)


def time_cases(cases: list[Case], rounds: int, seconds: float, min_steps: int, warmup: int, extra_s: float = 0.0) -> None:
    """`rounds` rounds, the cases alternating within each round, each timed for at least `seconds`. Then, for up to
    `extra_s` seconds, more rounds of the cases that have fewer than two quiet rounds (a busy machine)."""
    warm_up(cases, warmup)

    def window(c: Case) -> None:
        n, t0, cpu0 = 0, time.perf_counter(), cpu_busy()
        while n < min_steps or time.perf_counter() - t0 < seconds:
            c.step()
            n += 1
        wall = time.perf_counter() - t0
        c.rates.append(n / wall)
        c.others.append(others_share(cpu0, wall))

    for _ in range(rounds):
        for c in cases:
            window(c)
    deadline = time.perf_counter() + extra_s
    while time.perf_counter() < deadline:
        lacking = [c for c in cases if len(c.quiet) < min(2, rounds)]
        if not lacking:
            break
        for c in lacking:
            window(c)
