"""The "sampling" section of benchmarks/run.py: characters/s of genart's text sampler (top-k 40, temperature 0.8,
a generator per row) against the plain loop a user would write (one nn.LSTM call per character,
torch.multinomial), at batch 1 and 32, for the default 2 x 256 network and the 2 x 512 one."""

from __future__ import annotations

import bench_text
import more_cases
from cpu_load import Window
from run_report import Run, table

HIDDEN = (256, 512)  # the networks' widths (2 layers each)
SHAPES = ((1, 300), (32, 100))  # (batch, characters per row)


def sampling(seconds: float, attempts: int) -> tuple[list[list[str]], bool]:
    """Up to `attempts` tries until one is quiet, each timing every network at every shape for `seconds`.
    Returns table rows and whether they are quiet."""
    best: list[list[str]] = []
    for _ in range(attempts):
        rows = []
        window = Window()
        for hidden in HIDDEN:
            model = more_cases.sampling_model(hidden)
            params = sum(p.numel() for p in model.parameters()) / 1e6
            for batch, length in SHAPES:
                chars = batch * length
                mine = bench_text.rate(bench_text.genart_sampling(model, batch, length), chars, seconds, warmup=1)
                plain = bench_text.rate(bench_text.reference_sampling(model, batch, length), chars, seconds, warmup=1)
                rows.append([f"2 x {hidden} LSTM ({params:.1f}M parameters)", str(batch), f"**{mine:,.0f}**",
                             f"{plain:,.0f}", f"{mine / plain:.2f}x"])
        if window.quiet():
            return rows, True
        best = best or rows
    return best, False


def section(run: Run) -> list[str]:
    rows, quiet = sampling(0.5 if run.quick else 2.0, attempts=1 if run.quick else 3)
    for r in rows:
        print(f"  sampling {r[0]}, batch {r[1]}: genart {r[2]} chars/s, plain loop {r[3]} ({r[4]})", flush=True)
    return ["## Text sampling, characters/s", "",
            "genart's sampler (`sample_tokens`: temperature 0.8, top-k 40, one random generator per row so a seed "
            "gives the same text whatever else is sampled) against the plain loop a user would write (one "
            "nn.LSTM call per character, softmax, top-k, torch.multinomial), both fp32 under inference mode.", "",
            table(["network", "batch", "genart", "plain loop", "genart / plain"], rows), "",
            "Measured while the machine was otherwise quiet." if quiet
            else "**Other processes were using the CPU: these figures are low.**", ""]
