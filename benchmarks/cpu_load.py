"""How much of the CPU other processes take while a benchmark times something.

With all cores in use, torch's threads wait for each other at every op, so another process on the machine slows a
step many times over. Every timing window records the share of the machine's CPU that other processes took in it,
from genart.core.device.cpu_times (/proc/stat), less the CPU time this process used."""

from __future__ import annotations

import os
import time

from genart.core.device import cpu_times

QUIET = 0.05  # a timing window counts as quiet when other processes took less than this share of the CPU


def cpu_busy() -> tuple[float, float]:
    """(seconds of CPU time the whole machine has spent busy, seconds this process has used) so far."""
    ticks = cpu_times()
    busy = 0.0 if ticks is None else (ticks[0] - ticks[1]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    t = os.times()
    return busy, t.user + t.system


def others_share(start: tuple[float, float], wall: float) -> float:
    """Fraction of the machine's CPU capacity used by other processes since `start`."""
    busy, mine = cpu_busy()
    return max(0.0, (busy - start[0]) - (mine - start[1])) / max(1e-9, wall * (os.cpu_count() or 1))


class Window:
    """A stretch of time from now: how much of the CPU other processes took in it, and whether that was little."""

    def __init__(self) -> None:
        self.t0, self.start = time.perf_counter(), cpu_busy()

    def others(self) -> float:
        return others_share(self.start, time.perf_counter() - self.t0)

    def quiet(self) -> bool:
        return self.others() < QUIET
